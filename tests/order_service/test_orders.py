"""Order life cycle, idempotency, status machine and its stock effects, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from order_service.core.db import make_sessionmaker
from order_service.models import Order, OrderLine, Reservation, StockMovement
from order_service.services import orders as order_service
from order_service.services.stock import utcnow
from tests.order_service.conftest import customer, level, order_body, place, set_stock, staff_headers


def count(engine, model) -> int:
    with make_sessionmaker(engine)() as session:
        return session.scalar(select(func.count()).select_from(model))


def audit_ok(client, location_id: int) -> bool:
    body = client.get(
        "/staff/audit", params={"location_id": location_id}, headers=staff_headers(client, "admin")
    ).json()
    return body["ok"]


def test_create_order_holds_stock_and_prices_server_side(client, engine):
    set_stock(engine, 0, "SKU-HP", 10)
    order = place(client, sku="SKU-HP", quantity=1)
    assert order["status"] == "pending" and order["location_id"] == 0
    assert order["subtotal"] == pytest.approx(19.99)
    assert order["shipping"] == pytest.approx(5.99)  # under the free-shipping threshold
    assert order["total"] == pytest.approx(25.98)
    assert order["reserved_until"] is not None
    assert level(engine, 0, "SKU-HP") == (10, 1)
    assert place(client, sku="SKU-HP", quantity=2)["shipping"] == 0  # 39.98 ships free


def test_same_key_same_body_returns_the_same_order(client, engine):
    set_stock(engine, 0, "SKU-CPU", 5)
    headers = {**customer(), "Idempotency-Key": "abc-1"}
    first = client.post("/orders", json=order_body(), headers=headers)
    again = client.post("/orders", json=order_body(), headers=headers)
    assert first.status_code == 201 and again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert level(engine, 0, "SKU-CPU") == (5, 1)  # held once
    assert count(engine, Order) == 1


def test_same_key_different_body_is_refused(client, engine):
    set_stock(engine, 0, "SKU-CPU", 5)
    headers = {**customer(), "Idempotency-Key": "abc-2"}
    assert client.post("/orders", json=order_body(quantity=1), headers=headers).status_code == 201
    response = client.post("/orders", json=order_body(quantity=2), headers=headers)
    assert response.status_code == 422
    assert "Idempotency-Key" in response.json()["detail"]
    assert level(engine, 0, "SKU-CPU") == (5, 1)


def test_keys_are_per_customer(client, engine):
    set_stock(engine, 0, "SKU-CPU", 5)
    a = place(client, "cust-alice", key="shared")
    b = place(client, "cust-bob", key="shared")
    assert a["id"] != b["id"]


def test_out_of_stock_keeps_nothing(client, engine):
    set_stock(engine, 0, "SKU-CPU", 3)
    set_stock(engine, 0, "SKU-RAM", 1)
    body = {
        "lines": [{"sku": "SKU-CPU", "quantity": 2}, {"sku": "SKU-RAM", "quantity": 2}],
        "fulfilment": "delivery",
        "delivery_address": "1 Main Street",
    }
    response = client.post("/orders", json=body, headers={**customer(), "Idempotency-Key": "k"})
    assert response.status_code == 409
    assert "SKU-RAM" in response.json()["detail"]
    assert level(engine, 0, "SKU-CPU") == (3, 0)  # the first line's hold was rolled back
    assert count(engine, Order) == 0 and count(engine, OrderLine) == 0 and count(engine, Reservation) == 0


def test_pickup_order_reserves_at_the_store(client, engine):
    set_stock(engine, 7, "SKU-RAM", 2)
    order = place(client, sku="SKU-RAM", quantity=2, store_id=7)
    assert order["location_id"] == 7 and order["shipping"] == 0
    assert level(engine, 7, "SKU-RAM") == (2, 2)
    shopper = client.get("/stores/7/stock/SKU-RAM", headers=customer()).json()
    assert shopper["level"] == "out" and shopper["pickup_available"] is False


def test_pickup_refused_where_not_offered(client, engine):
    set_stock(engine, 8108, "SKU-HP", 5)
    response = client.post("/orders", json=order_body("SKU-HP", store_id=8108), headers=customer())
    assert response.status_code == 422 and "pick-up" in response.json()["detail"]


def test_unknown_sku_and_unknown_store(client):
    r = client.post("/orders", json=order_body("NOPE"), headers=customer())
    assert r.status_code == 422 and "unknown SKU" in r.json()["detail"]
    r = client.post("/orders", json=order_body(store_id=999999), headers=customer())
    assert r.status_code == 404


def test_full_pickup_life_cycle_and_ledger(client, engine):
    set_stock(engine, 7, "SKU-CPU", 4)
    order = place(client, sku="SKU-CPU", quantity=3, store_id=7)
    oid = order["id"]
    confirmed = client.post(f"/orders/{oid}/confirm", headers=customer()).json()
    assert (
        confirmed["status"] == "confirmed"
        and confirmed["confirmed_at"]
        and confirmed["reserved_until"] is None
    )
    assert level(engine, 7, "SKU-CPU") == (1, 0)
    assoc = staff_headers(client, "assoc-7")
    for status in ("ready_for_pickup", "completed"):
        r = client.post(f"/staff/orders/{oid}/status", json={"status": status}, headers=assoc)
        assert r.status_code == 200 and r.json()["status"] == status
    returned = client.post(f"/orders/{oid}/return", headers=customer()).json()
    assert returned["status"] == "return_requested"
    r = client.post(f"/staff/orders/{oid}/status", json={"status": "returned"}, headers=assoc)
    assert r.json()["status"] == "returned" and r.json()["returned_at"]
    assert level(engine, 7, "SKU-CPU") == (4, 0)
    with make_sessionmaker(engine)() as session:
        kinds = [
            m.kind
            for m in session.scalars(
                select(StockMovement).where(StockMovement.order_id == oid).order_by(StockMovement.id)
            )
        ]
    assert kinds == ["sale", "return"]
    assert audit_ok(client, 7)


def test_cancel_pending_releases_and_cancel_confirmed_restocks(client, engine):
    set_stock(engine, 0, "SKU-GPU", 5)
    a = place(client, sku="SKU-GPU", quantity=2)
    assert client.post(f"/orders/{a['id']}/cancel", headers=customer()).json()["status"] == "cancelled"
    assert level(engine, 0, "SKU-GPU") == (5, 0)
    b = place(client, sku="SKU-GPU", quantity=2)
    client.post(f"/orders/{b['id']}/confirm", headers=customer())
    assert level(engine, 0, "SKU-GPU") == (3, 0)
    assert client.post(f"/orders/{b['id']}/cancel", headers=customer()).json()["status"] == "cancelled"
    assert level(engine, 0, "SKU-GPU") == (5, 0)
    assert audit_ok(client, 0)


@pytest.mark.parametrize("path,status", [("confirm", 409), ("return", 409)])
def test_invalid_transitions_are_refused(client, engine, path, status):
    set_stock(engine, 0, "SKU-HP", 5)
    order = place(client, sku="SKU-HP")
    client.post(f"/orders/{order['id']}/cancel", headers=customer())
    r = client.post(f"/orders/{order['id']}/{path}", headers=customer())
    assert r.status_code == status and "cannot become" in r.json()["detail"]


def test_retried_transition_is_a_no_op(client, engine):
    set_stock(engine, 0, "SKU-HP", 5)
    order = place(client, sku="SKU-HP")
    for _ in range(2):
        assert (
            client.post(f"/orders/{order['id']}/confirm", headers=customer()).json()["status"] == "confirmed"
        )
    assert level(engine, 0, "SKU-HP") == (4, 0)


def test_delivery_cannot_be_made_ready_for_pickup(client, engine):
    set_stock(engine, 0, "SKU-HP", 5)
    order = place(client, sku="SKU-HP")
    client.post(f"/orders/{order['id']}/confirm", headers=customer())
    manager = staff_headers(client, "manager")
    r = client.post(
        f"/staff/orders/{order['id']}/status", json={"status": "ready_for_pickup"}, headers=manager
    )
    assert r.status_code == 409
    assert client.post(
        f"/staff/orders/{order['id']}/status", json={"status": "shipped"}, headers=manager
    ).json()["shipped_at"]


def test_expired_reservation_is_released(client, engine):
    set_stock(engine, 0, "SKU-HP", 1)
    order = place(client, sku="SKU-HP")
    with make_sessionmaker(engine)() as session:
        assert order_service.expire_pending(session) == 0
        assert order_service.expire_pending(session, now=utcnow() + timedelta(hours=1)) == 1
    assert level(engine, 0, "SKU-HP") == (1, 0)
    got = client.get(f"/orders/{order['id']}", headers=customer()).json()
    assert got["status"] == "cancelled"
    assert place(client, sku="SKU-HP")["status"] == "pending"  # the unit is for sale again


def test_confirm_after_expiry_is_refused_and_releases(client, engine):
    set_stock(engine, 0, "SKU-HP", 1)
    order = place(client, sku="SKU-HP")
    with make_sessionmaker(engine)() as session, session.begin():
        session.get(Order, order["id"]).reserved_until = utcnow() - timedelta(seconds=1)
    r = client.post(f"/orders/{order['id']}/confirm", headers=customer())
    assert r.status_code == 409 and "expired" in r.json()["detail"]
    assert level(engine, 0, "SKU-HP") == (1, 0)


def test_list_orders_is_newest_first_and_filtered(client, engine):
    set_stock(engine, 0, "SKU-HP", 10)
    ids = [place(client, sku="SKU-HP")["id"] for _ in range(3)]
    client.post(f"/orders/{ids[0]}/cancel", headers=customer())
    body = client.get("/orders", headers=customer()).json()
    assert [o["id"] for o in body["orders"]] == ids[::-1] and body["total"] == 3
    assert client.get("/orders", params={"status": "cancelled"}, headers=customer()).json()["total"] == 1
