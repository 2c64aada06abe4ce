"""No oversell, concurrent idempotent retries, and atomicity when a request fails half-way."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from sqlalchemy import func, select

from order_service.core.db import make_sessionmaker
from order_service.models import Order, OrderLine, Reservation
from order_service.services import stock as stock_service
from tests.order_service.conftest import customer, level, order_body, set_stock


async def _race(app, requests: list[tuple[dict, dict]]) -> list[httpx.Response]:
    """Send all requests at once through the ASGI app; sync endpoints run in its thread pool, so the
    database sees real concurrent transactions."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test", timeout=120) as http:
        return await asyncio.gather(
            *(http.post("/orders", json=body, headers=headers) for body, headers in requests)
        )


@pytest.mark.slow
@pytest.mark.parametrize("fulfilment_store", [None, 7])
def test_fifty_buyers_for_ten_units_buy_exactly_ten(app, client, engine, fulfilment_store):
    location = fulfilment_store or 0
    set_stock(engine, location, "SKU-GPU", 10)
    buyers = [
        (
            order_body("SKU-GPU", store_id=fulfilment_store),
            {**customer("cust-alice" if i % 2 else "cust-bob"), "Idempotency-Key": f"race-{i}"},
        )
        for i in range(50)
    ]
    responses = asyncio.run(_race(app, buyers))
    statuses = [r.status_code for r in responses]
    assert statuses.count(201) == 10, statuses
    assert statuses.count(409) == 40, statuses
    assert level(engine, location, "SKU-GPU") == (10, 10)
    # confirming all ten sells exactly the ten units
    for r in responses:
        if r.status_code == 201:
            who = r.json()["customer_id"]
            assert client.post(f"/orders/{r.json()['id']}/confirm", headers=customer(who)).status_code == 200
    assert level(engine, location, "SKU-GPU") == (0, 0)
    with make_sessionmaker(engine)() as session:  # levels still equal the ledger and the reservations
        checked, on_hand_off, reserved_off = stock_service.audit(session, location)
    assert checked and on_hand_off == [] and reserved_off == []


@pytest.mark.slow
def test_concurrent_retries_with_one_key_make_one_order(app, engine):
    set_stock(engine, 0, "SKU-RAM", 100)
    same = [(order_body("SKU-RAM", 2), {**customer(), "Idempotency-Key": "one-key"})] * 20
    responses = asyncio.run(_race(app, same))
    assert {r.status_code for r in responses} <= {200, 201}, [r.text for r in responses]
    assert len({r.json()["id"] for r in responses}) == 1
    assert [r.status_code for r in responses].count(201) == 1
    assert level(engine, 0, "SKU-RAM") == (100, 2)


def test_failure_mid_request_leaves_no_partial_order(app, engine, monkeypatch):
    """The second line's reservation blows up after the first line was held: nothing may remain."""
    set_stock(engine, 0, "SKU-CPU", 5)
    set_stock(engine, 0, "SKU-RAM", 5)
    real_reserve = stock_service.reserve

    def reserve_then_crash(session, location_id, sku, quantity):
        if sku == "SKU-RAM":
            raise RuntimeError("simulated crash in the middle of the request")
        return real_reserve(session, location_id, sku, quantity)

    monkeypatch.setattr(stock_service, "reserve", reserve_then_crash)
    from fastapi.testclient import TestClient

    body = {
        "lines": [{"sku": "SKU-CPU", "quantity": 1}, {"sku": "SKU-RAM", "quantity": 1}],
        "fulfilment": "delivery",
        "delivery_address": "1 Main Street",
    }
    with TestClient(app, raise_server_exceptions=False) as c:
        assert (
            c.post("/orders", json=body, headers={**customer(), "Idempotency-Key": "crash"}).status_code
            == 500
        )
    with make_sessionmaker(engine)() as session:
        for model in (Order, OrderLine, Reservation):
            assert session.scalar(select(func.count()).select_from(model)) == 0
    assert level(engine, 0, "SKU-CPU") == (5, 0)
    monkeypatch.setattr(stock_service, "reserve", real_reserve)
    with TestClient(app) as c:  # the same key works once the fault is gone
        assert (
            c.post("/orders", json=body, headers={**customer(), "Idempotency-Key": "crash"}).status_code
            == 201
        )
