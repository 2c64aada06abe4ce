"""The demo order history in the service's tables, and the staff analytics API on top of them:
who may see what, answers equal to the recommender's own computation, refresh when orders change,
clear 4xx for bad input, and the async client's methods."""

from __future__ import annotations

import httpx
import pytest
from sqlalchemy import func, select

from demo.history import generate_demo_history
from demo.orders import load_demo_orders
from order_service.client import OrderServiceClient, OrderServiceError
from order_service.models import Order, OrderLine
from recommender.order_history import order_lines_frame
from recommender.sources import order_lines_from_database
from recommender.staff import CustomerAnalytics
from tests.order_service.conftest import (  # noqa: F401
    PRODUCTS,
    SERVICE_TOKEN,
    app,
    client,
    customer,
    db_url,
    engine,
    place,
    service,
    set_stock,
    settings,
    staff_headers,
)

ENDPOINTS = [
    "/staff/analytics/overview",
    "/staff/analytics/customers/cust-alice",
    "/staff/analytics/segments/at_risk",
]


@pytest.fixture
def history():
    return generate_demo_history(
        PRODUCTS,
        n_customers=80,
        store_ids=[7, 1000],
        extra_customer_ids=["cust-alice", "cust-bob"],
        compatible=lambda a, b: True,
    )


@pytest.fixture
def loaded(engine, history):
    summary = load_demo_orders(engine, history)
    assert summary.skipped_orders == 0
    return history


def _expected(history) -> CustomerAnalytics:
    return CustomerAnalytics(order_lines_frame(history))


def test_history_is_loaded_as_completed_orders(engine, history, db_url):
    summary = load_demo_orders(engine, history)
    assert (summary.orders, summary.lines) == (len(history.orders), sum(len(o.lines) for o in history.orders))
    assert summary.customers_added == 80  # cust-alice and cust-bob exist already
    with engine.connect() as conn:
        statuses = set(conn.execute(select(Order.status).distinct()).scalars())
        assert statuses == {"completed"}
        assert conn.execute(select(func.count()).select_from(OrderLine)).scalar() == summary.lines
    lines = order_lines_from_database(db_url)
    expected = order_lines_frame(history)
    assert len(lines) == len(expected) and lines["order_id"].nunique() == len(history.orders)
    assert sorted(lines["sku"]) == sorted(expected["sku"])
    assert (
        abs(lines.eval("quantity * unit_price").sum() - expected.eval("quantity * unit_price").sum()) < 0.01
    )


def test_orders_placed_after_the_history_get_fresh_ids(client, engine, loaded):
    with engine.connect() as conn:
        highest = conn.execute(select(func.max(Order.id))).scalar()
    set_stock(engine, 7, "SKU-HP", 3)
    assert place(client, "cust-alice", sku="SKU-HP", store_id=7)["id"] > highest


@pytest.mark.parametrize("path", ENDPOINTS)
def test_customers_the_service_and_the_anonymous_are_refused(client, loaded, path):
    assert client.get(path).status_code == 401
    assert client.get(path, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    assert client.get(path, headers=customer("cust-alice")).status_code == 403
    assert client.get(path, headers=service()).status_code == 403


def test_manager_sees_the_recommenders_answers(client, loaded):
    expected = _expected(loaded)
    headers = staff_headers(client, "manager")
    overview = client.get("/staff/analytics/overview", headers=headers).json()
    assert (
        overview["customers"] == expected.overview().customers == len({o.customer_id for o in loaded.orders})
    )
    assert overview["orders"] == len(loaded.orders)
    assert sum(s["customers"] for s in overview["segments"]) == overview["customers"]
    some = next(o.customer_id for o in loaded.orders)
    body = client.get(f"/staff/analytics/customers/{some}", headers=headers).json()
    profile = expected.segment_of(some)
    assert body["profile"]["segment"] == profile.segment and body["profile"]["rfm"] == profile.rfm
    assert body["profile"]["orders"] == profile.orders
    assert body["value"]["clv"] == pytest.approx(expected.value_of(some).clv, rel=1e-3)
    seg = profile.segment
    listed = client.get(f"/staff/analytics/segments/{seg}", params={"limit": 500}, headers=headers).json()
    assert listed["total"] == len(expected.customers_in(seg, 10_000)) and some in [
        c["customer_id"] for c in listed["customers"]
    ]
    spends = [c["total_spend"] for c in listed["customers"]]
    assert spends == sorted(spends, reverse=True)


def test_associate_sees_only_their_stores_customers(client, loaded):
    at_7 = {o.customer_id for o in loaded.orders if o.location_id == 7}
    elsewhere = {o.customer_id for o in loaded.orders} - at_7
    assert at_7 and elsewhere
    headers = staff_headers(client, "assoc-7")
    assert client.get("/staff/analytics/overview", headers=headers).status_code == 200
    assert client.get(f"/staff/analytics/customers/{min(at_7)}", headers=headers).status_code == 200
    assert client.get(f"/staff/analytics/customers/{min(elsewhere)}", headers=headers).status_code == 403
    expected = _expected(loaded)
    seen = set()
    for seg in {expected.segment_of(c).segment for c in at_7}:
        listed = client.get(f"/staff/analytics/segments/{seg}", params={"limit": 500}, headers=headers).json()
        seen |= {c["customer_id"] for c in listed["customers"]}
        assert listed["total"] == len(listed["customers"])
    assert seen == at_7


def test_bad_input_gets_a_clear_4xx(client, loaded):
    headers = staff_headers(client, "admin")
    r = client.get("/staff/analytics/segments/vip", headers=headers)
    assert r.status_code == 422 and "at_risk" in r.json()["detail"]
    assert client.get("/staff/analytics/customers/nobody-here", headers=headers).status_code == 404
    assert client.get("/staff/analytics/customers/bad id!", headers=headers).status_code == 422
    assert (
        client.get("/staff/analytics/segments/at_risk", params={"limit": 0}, headers=headers).status_code
        == 422
    )


def test_no_orders_yet_is_a_404_not_a_crash(client):
    r = client.get("/staff/analytics/overview", headers=staff_headers(client, "manager"))
    assert r.status_code == 404 and "no purchase orders" in r.json()["detail"]


def test_cache_refreshes_when_orders_change(client, engine, loaded):
    headers = staff_headers(client, "manager")
    before = client.get("/staff/analytics/overview", headers=headers).json()
    set_stock(engine, 7, "SKU-GPU", 2)
    order = place(client, "cust-bob", sku="SKU-GPU", store_id=7)
    pending = client.get("/staff/analytics/overview", headers=headers).json()
    assert pending["orders"] == before["orders"]  # a pending order is not a purchase yet
    assert client.post(f"/orders/{order['id']}/confirm", headers=customer("cust-bob")).status_code == 200
    after = client.get("/staff/analytics/overview", headers=headers).json()
    assert after["orders"] == before["orders"] + 1
    assert after["revenue"] == pytest.approx(before["revenue"] + 599.0, abs=0.01)


async def test_client_methods(app, client, loaded):
    token = staff_headers(client, "manager")["Authorization"].split()[1]
    some = next(o.customer_id for o in loaded.orders)
    async with OrderServiceClient(
        "http://orders", token=SERVICE_TOKEN, transport=httpx.ASGITransport(app=app)
    ) as api:
        overview = await api.analytics_overview(token)
        assert overview.orders == len(loaded.orders) and overview.segments[0].label_zh
        profile, value = await api.customer_analytics(some, token)
        assert profile.customer_id == some == value.customer_id and value.clv >= 0
        total, members = await api.segment_customers(profile.segment, token, limit=2)
        assert total >= 1 and 1 <= len(members) <= 2
        with pytest.raises(OrderServiceError) as err:
            await api.segment_customers("vip", token)
        assert err.value.status_code == 422
        with pytest.raises(OrderServiceError) as err:
            await api.analytics_overview(SERVICE_TOKEN)
        assert err.value.status_code == 403


def test_too_small_a_history_for_clv_still_gives_the_segment(client, engine):
    small = generate_demo_history(PRODUCTS, n_customers=6, store_ids=[7], compatible=lambda a, b: True)
    load_demo_orders(engine, small)
    who = small.orders[0].customer_id
    r = client.get(f"/staff/analytics/customers/{who}", headers=staff_headers(client, "manager"))
    assert r.status_code == 200, r.text
    assert (
        r.json()["value"] is None
        and r.json()["profile"]["segment"] == _expected(small).segment_of(who).segment
    )
