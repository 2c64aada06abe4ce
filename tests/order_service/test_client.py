"""The async client: typed results against the real app, retries with backoff on idempotent calls
only, the same Idempotency-Key on every attempt, timeouts turned into OrderServiceError."""

from __future__ import annotations

import sys

import httpx
import pytest

from order_service.client import OrderServiceClient, OrderServiceError
from tests.order_service.conftest import SERVICE_TOKEN, set_stock


@pytest.fixture
def api(app):
    return OrderServiceClient("http://orders", token=SERVICE_TOKEN, transport=httpx.ASGITransport(app=app))


async def test_client_against_the_app(api, engine, app):
    set_stock(engine, 7, "SKU-RAM", 5)
    async with api:
        assert await api.health()
        assert [s.id for s in await api.find_stores("55113")] == [7, 2001]
        shopper = await api.stock_at("SKU-RAM", 7, customer_id="cust-alice")
        assert shopper.level == "in_stock" and shopper.available is None
        token = (await api.staff_login("assoc-7", "associate-demo")).access_token
        assert (await api.staff_me(token)).store_id == 7
        assert (await api.stock_at("SKU-RAM", 7, staff_token=token)).available == 5
        nearest = await api.nearest_stores_with_stock("SKU-RAM", zip="55113")
        assert nearest[0].store.id == 7 and nearest[0].level == "in_stock"
        customer = await api.resolve_customer("wechat", "openid-xyz", "小王")
        order = await api.create_order(
            customer, [("SKU-RAM", 2)], fulfilment="pickup", store_id=7, idempotency_key="checkout-1"
        )
        again = await api.create_order(
            customer, [("SKU-RAM", 2)], fulfilment="pickup", store_id=7, idempotency_key="checkout-1"
        )
        assert again.id == order.id
        assert (await api.confirm_order(customer, order.id)).status == "confirmed"
        assert [o.id for o in await api.list_orders(customer)] == [order.id]
        assert (await api.staff_orders(token, status="confirmed")).orders[0].id == order.id
        assert (await api.set_order_status(order.id, "ready_for_pickup", token)).status == "ready_for_pickup"
        with pytest.raises(OrderServiceError) as err:
            await api.get_order("cust-alice", order.id)
        assert err.value.not_found
        with pytest.raises(OrderServiceError) as err:
            await api.create_order(customer, [("SKU-RAM", 50)], fulfilment="pickup", store_id=7)
        assert err.value.conflict and "available 3" in str(err.value.detail)


def _flaky(failures: int, status: int = 503):
    """A transport that fails `failures` times, then answers; it records every request."""
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) <= failures:
            if status == 0:
                raise httpx.ConnectError("refused", request=request)
            return httpx.Response(status, json={"detail": "busy"})
        if request.url.path == "/orders":
            return httpx.Response(201, json=ORDER)
        return httpx.Response(200, json=[])

    return httpx.MockTransport(handler), seen


ORDER = {
    "id": 1,
    "customer_id": "c",
    "status": "pending",
    "fulfilment": "delivery",
    "location_id": 0,
    "delivery_address": "1 Main Street",
    "lines": [],
    "subtotal": 1,
    "shipping": 0,
    "total": 1,
    "currency": "USD",
    "created_at": "2026-01-01T00:00:00Z",
    "updated_at": "2026-01-01T00:00:00Z",
    "reserved_until": None,
    "confirmed_at": None,
    "ready_at": None,
    "shipped_at": None,
    "completed_at": None,
    "cancelled_at": None,
    "return_requested_at": None,
    "returned_at": None,
}


async def test_idempotent_calls_are_retried_with_the_same_key():
    transport, seen = _flaky(2, status=0)
    async with OrderServiceClient("http://x", token="t", retries=2, transport=transport) as api:
        order = await api.create_order(
            "c", [("SKU-1", 1)], fulfilment="delivery", delivery_address="1 Main Street"
        )
    assert order.id == 1 and len(seen) == 3
    assert len({r.headers["Idempotency-Key"] for r in seen}) == 1
    assert seen[0].headers["X-Customer-Id"] == "c" and seen[0].headers["Authorization"] == "Bearer t"


async def test_get_retries_on_503_then_gives_up():
    transport, seen = _flaky(5)
    async with OrderServiceClient("http://x", token="t", retries=2, transport=transport) as api:
        with pytest.raises(OrderServiceError) as err:
            await api.find_stores("x")
    assert err.value.status_code == 503 and len(seen) == 3


async def test_login_is_not_retried():
    transport, seen = _flaky(1, status=0)
    async with OrderServiceClient("http://x", token="t", retries=3, transport=transport) as api:
        with pytest.raises(OrderServiceError) as err:
            await api.staff_login("a", "b")
    assert err.value.status_code is None and len(seen) == 1


async def test_client_errors_are_not_retried():
    transport, seen = _flaky(1, status=422)
    async with OrderServiceClient("http://x", token="t", retries=3, transport=transport) as api:
        with pytest.raises(OrderServiceError):
            await api.find_stores("x")
    assert len(seen) == 1


async def test_timeout_becomes_an_error_and_health_is_false():
    import socket

    with socket.socket() as silent:  # accepts connections (backlog) but never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        url = f"http://127.0.0.1:{silent.getsockname()[1]}"
        async with OrderServiceClient(url, token="t", timeout_s=0.2, retries=1) as api:
            assert await api.health() is False
            with pytest.raises(OrderServiceError) as err:
                await api.find_stores("x")
    assert err.value.status_code is None and "Timeout" in str(err.value.detail)


def test_client_does_not_import_sqlalchemy():
    import subprocess

    code = "import sys, order_service.client; print('sqlalchemy' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
