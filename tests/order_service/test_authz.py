"""Authorisation: who may see and change what. Every endpoint that takes an order id is checked with
another customer's id; staff endpoints refuse customers and the bare service credential."""

from __future__ import annotations

import pytest

from tests.order_service.conftest import customer, place, service, set_stock, staff_headers

ORDER_ENDPOINTS = [
    ("GET", "/orders/{id}"),
    ("POST", "/orders/{id}/confirm"),
    ("POST", "/orders/{id}/cancel"),
    ("POST", "/orders/{id}/return"),
]


@pytest.fixture
def alices_order(client, engine):
    set_stock(engine, 7, "SKU-CPU", 5)
    return place(client, "cust-alice", sku="SKU-CPU", store_id=7)


@pytest.mark.parametrize("method,path", ORDER_ENDPOINTS)
def test_customer_cannot_touch_another_customers_order(client, engine, alices_order, method, path):
    r = client.request(method, path.format(id=alices_order["id"]), headers=customer("cust-bob"))
    assert r.status_code == 404, (
        r.text
    )  # not 403: another customer's order ids are not even confirmed to exist
    assert client.get(f"/orders/{alices_order['id']}", headers=customer()).json()["status"] == "pending"


def test_order_list_is_per_customer(client, alices_order):
    assert client.get("/orders", headers=customer("cust-bob")).json() == {"orders": [], "total": 0}
    assert client.get("/orders", headers=customer()).json()["total"] == 1


@pytest.mark.parametrize(
    "method,path", [("GET", "/staff/orders/{id}"), ("POST", "/staff/orders/{id}/status")]
)
def test_associate_only_sees_orders_of_their_store(client, alices_order, method, path):
    body = {"status": "cancelled"} if method == "POST" else None
    other = staff_headers(client, "assoc-281")
    r = client.request(method, path.format(id=alices_order["id"]), headers=other, json=body)
    assert r.status_code == 403
    own = staff_headers(client, "assoc-7")
    assert (
        client.request(method, path.format(id=alices_order["id"]), headers=own, json=body).status_code == 200
    )
    assert client.get("/staff/orders", headers=other).json()["total"] == 0


STAFF_GETS = [
    "/staff/stock/SKU-CPU",
    "/staff/stores/7/low-stock",
    "/staff/stores/7/transfer-suggestions",
    "/staff/movements?location_id=7",
    "/staff/audit?location_id=7",
    "/staff/replenishment/SKU-CPU?location_id=7",
    "/staff/orders",
    "/staff/orders/1",
    "/auth/staff/me",
    "/staff/analytics/overview",
    "/staff/analytics/customers/cust-alice",
    "/staff/analytics/segments/at_risk",
]
STAFF_POSTS = [
    ("/staff/transfers", {"sku": "SKU-CPU", "from_location_id": 0, "to_location_id": 7, "quantity": 1}),
    ("/staff/stock/changes", {"sku": "SKU-CPU", "location_id": 7, "kind": "receipt", "quantity": 1}),
    ("/staff/orders/1/status", {"status": "completed"}),
]


@pytest.mark.parametrize("headers", [customer(), service()], ids=["customer", "service"])
def test_staff_endpoints_refuse_customers_and_the_service(client, headers):
    for path in STAFF_GETS:
        r = client.get(path, headers=headers)
        assert r.status_code == 403, (path, r.text)
    for path, body in STAFF_POSTS:
        assert client.post(path, json=body, headers=headers).status_code == 403, path


def test_no_credentials_and_bad_tokens_are_refused(client):
    assert client.get("/stores", params={"q": "Roseville"}).status_code == 401
    assert (
        client.get("/stores", params={"q": "Roseville"}, headers={"Authorization": "Bearer nope"}).status_code
        == 401
    )
    assert client.get("/orders", headers={**service(), "X-Customer-Id": "nobody"}).status_code == 403
    r = client.post("/auth/staff/token", json={"username": "admin", "password": "wrong"})
    assert r.status_code == 401 and "password" in r.json()["detail"]


def test_customer_endpoints_need_a_customer(client):
    assert client.get("/orders", headers=service()).status_code == 403
    assert client.get("/orders", headers=staff_headers(client, "manager")).status_code == 403


def test_only_the_service_resolves_identities(client):
    body = {"channel": "wechat", "external_id": "openid-123"}
    assert (
        client.post("/customers/resolve", json=body, headers=staff_headers(client, "admin")).status_code
        == 403
    )
    first = client.post("/customers/resolve", json=body, headers=service())
    again = client.post("/customers/resolve", json=body, headers=service())
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["customer_id"] == again.json()["customer_id"]
    web = client.post(
        "/customers/resolve", json={"channel": "web", "external_id": "openid-123"}, headers=service()
    )
    assert web.json()["customer_id"] != first.json()["customer_id"]  # identities are per channel
    me = client.get("/customers/me", headers=customer(first.json()["customer_id"]))
    assert me.status_code == 200


def test_exact_stock_only_for_the_stores_own_staff(client, engine):
    set_stock(engine, 7, "SKU-RAM", 2)
    shopper = client.get("/stores/7/stock/SKU-RAM", headers=customer()).json()
    assert shopper["level"] == "low" and shopper["pickup_available"] is True
    assert shopper["available"] is None and shopper["on_hand"] is None
    own = client.get("/stores/7/stock/SKU-RAM", headers=staff_headers(client, "assoc-7")).json()
    assert (own["on_hand"], own["available"], own["level"]) == (2, 2, "low")
    other = client.get("/stores/7/stock/SKU-RAM", headers=staff_headers(client, "assoc-281")).json()
    assert other["available"] is None
    manager = client.get("/stores/7/stock/SKU-RAM", headers=staff_headers(client, "manager")).json()
    assert manager["available"] == 2
    rows = client.get("/staff/stock/SKU-RAM", headers=staff_headers(client, "assoc-281")).json()
    assert all(r["available"] is None for r in rows if r["location_id"] != 281)


def test_associate_acts_only_on_their_store(client, engine):
    set_stock(engine, 7, "SKU-HP", 5)
    assoc = staff_headers(client, "assoc-281")
    assert client.get("/staff/stores/7/low-stock", headers=assoc).status_code == 403
    r = client.post(
        "/staff/stock/changes",
        json={"sku": "SKU-HP", "location_id": 7, "kind": "adjustment", "quantity": -1},
        headers=assoc,
    )
    assert r.status_code == 403
    r = client.post(
        "/staff/transfers",
        json={"sku": "SKU-HP", "from_location_id": 7, "to_location_id": 1000, "quantity": 1},
        headers=assoc,
    )
    assert r.status_code == 403
    r = client.post(
        "/staff/transfers",
        json={"sku": "SKU-HP", "from_location_id": 7, "to_location_id": 281, "quantity": 2},
        headers=assoc,
    )
    assert r.status_code == 201 and [m["kind"] for m in r.json()] == ["transfer_out", "transfer_in"]


def test_shoppers_see_in_stock_low_out(client, engine):
    for qty, expected in ((0, "out"), (3, "low"), (4, "in_stock")):
        set_stock(engine, 1000, "SKU-GPU", qty)
        assert client.get("/stores/1000/stock/SKU-GPU", headers=customer()).json()["level"] == expected
    set_stock(engine, 8108, "SKU-HP", 9)
    kiosk = client.get("/stores/8108/stock/SKU-HP", headers=customer()).json()
    assert (
        kiosk["level"] == "in_stock" and kiosk["pickup_available"] is False
    )  # Express kiosks hand out nothing
