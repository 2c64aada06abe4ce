"""The assistant's event record over real HTTP (a uvicorn process): the service credential appends,
nobody else can; what is stored is what was sent; orders keep the conversation they came from."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select

from deploy.process import free_port, spawn
from order_service.client import OrderServiceClient, OrderServiceError
from order_service.core.db import make_sessionmaker
from order_service.models import AssistantEvent, Order
from tests.order_service.conftest import (
    SERVICE_TOKEN,
    customer,
    order_body,
    service,
    set_stock,
    staff_headers,
)


@pytest.fixture
def live(engine, db_url):
    port = free_port()
    proc = spawn(db_url, port, env={"SERVICE_TOKEN": SERVICE_TOKEN})
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)


def _event(**kw):
    base = {
        "at": datetime(2026, 12, 1, 10, 0, tzinfo=UTC).isoformat(),
        "conversation_id": "conv-1",
        "customer_id": "cust-alice",
        "channel": "web",
        "language": "zh",
        "type": "impression",
        "sku": "SKU-CPU",
        "model": "recommend",
        "variant": "B",
        "payload": {"position": 1, "list": "recommendations", "名字": "处理器"},
    }
    return {**base, **kw}


def _stored(engine) -> list[AssistantEvent]:
    with make_sessionmaker(engine)() as session:
        return list(session.scalars(select(AssistantEvent).order_by(AssistantEvent.id)))


def test_only_the_service_credential_appends(engine, live):
    batch = {"events": [_event(), _event(type="rating", sku=None, model=None, variant=None, value=4)]}
    with httpx.Client(base_url=live, trust_env=False, timeout=10) as http:
        denied = {
            "no token": http.post("/events", json=batch),
            "unknown token": http.post("/events", json=batch, headers={"Authorization": "Bearer nope"}),
            "acting for a shopper": http.post("/events", json=batch, headers=customer()),
            "staff": http.post("/events", json=batch, headers=staff_headers(http, "manager")),
        }
        assert {k: r.status_code for k, r in denied.items()} == {
            "no token": 401,
            "unknown token": 401,
            "acting for a shopper": 403,
            "staff": 403,
        }
        assert _stored(engine) == []
        ok = http.post("/events", json=batch, headers=service())
        assert ok.status_code == 201 and ok.json() == {"accepted": 2}
        bad = http.post("/events", json={"events": [_event(type="purchase")]}, headers=service())
        naive = http.post("/events", json={"events": [_event(at="2026-12-01T10:00:00")]}, headers=service())
        assert (bad.status_code, naive.status_code) == (422, 422)
    rows = _stored(engine)
    assert [(r.type, r.sku, r.model, r.variant, r.value) for r in rows] == [
        ("impression", "SKU-CPU", "recommend", "B", None),
        ("rating", None, None, None, Decimal("4.00")),
    ]
    assert rows[0].payload == batch["events"][0]["payload"]
    assert rows[0].at == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    assert (rows[0].conversation_id, rows[0].customer_id, rows[0].channel, rows[0].language) == (
        "conv-1",
        "cust-alice",
        "web",
        "zh",
    )


async def test_typed_client_appends_and_orders_carry_the_conversation(engine, live):
    set_stock(engine, 0, "SKU-RAM", 5)
    async with OrderServiceClient(live, token=SERVICE_TOKEN) as api:
        assert await api.append_events([_event(conversation_id=f"c{i}") for i in range(3)]) == 3
        order = await api.create_order(
            "cust-alice",
            [("SKU-RAM", 1)],
            fulfilment="delivery",
            delivery_address="1 Main Street, Springfield",
            conversation_id="conv-1",
        )
        assert order.conversation_id == "conv-1"
        with pytest.raises(OrderServiceError) as err:
            await OrderServiceClient(live, token="wrong").append_events([_event()])
        assert err.value.status_code == 401
    assert [r.conversation_id for r in _stored(engine)] == ["c0", "c1", "c2"]
    with make_sessionmaker(engine)() as session:
        assert session.get(Order, order.id).conversation_id == "conv-1"
    # an order without a conversation still replays with its old key (the hash leaves the field out)
    with httpx.Client(base_url=live, trust_env=False, timeout=10) as http:
        headers = {**customer(), "Idempotency-Key": "k1"}
        first = http.post("/orders", json=order_body("SKU-RAM"), headers=headers)
        again = http.post("/orders", json=order_body("SKU-RAM"), headers=headers)
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["conversation_id"] is None
