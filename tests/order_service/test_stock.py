"""Stores, nearest stock, staff stock questions, transfers, the ledger audit and replenishment."""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from order_service.core.db import make_sessionmaker
from order_service.services import replenishment as rp
from order_service.services import stock
from order_service.services.geo import StoreGeo, StorePoint, haversine_km, normalise_zip
from order_service.services.stock import utcnow
from tests.order_service.conftest import customer, level, service, set_stock, staff_headers


def test_find_stores_by_zip_city_and_name(client):
    assert [s["id"] for s in client.get("/stores", params={"q": "55113"}, headers=service()).json()] == [
        7,
        2001,
    ]
    assert {s["id"] for s in client.get("/stores", params={"q": "roseville"}, headers=service()).json()} == {
        7,
        2001,
    }
    assert client.get("/stores", params={"q": "Mall of"}, headers=service()).json()[0]["id"] == 1000
    assert client.get("/stores", params={"q": "Atlantis"}, headers=service()).json() == []
    store = client.get("/stores/1000", headers=service()).json()
    assert store["hours"]["mon"] == ["10:00", "21:00"] and store["pickup"] is True


def test_nearest_stores_with_stock_from_coordinates(client, engine):
    for sid, qty in ((7, 0), (281, 2), (1000, 5), (498, 9)):
        set_stock(engine, sid, "SKU-GPU", qty)
    body = client.get(
        "/stock/SKU-GPU/nearest", params={"lat": 45.0, "lon": -93.17, "limit": 5}, headers=customer()
    ).json()
    ids = [s["store"]["id"] for s in body["stores"]]
    assert 7 not in ids  # out of stock
    assert ids[:2] == [1000, 281] or ids[:2] == [281, 1000]
    assert ids[-1] == 498 and body["stores"][-1]["distance_km"] > 2000
    distances = [s["distance_km"] for s in body["stores"]]
    assert distances == sorted(distances)
    assert all(s["available"] is None for s in body["stores"])
    assert body["origin"]["method"] == "coordinates"


@pytest.mark.parametrize(
    "zip_code,method,matched",
    [
        ("55425", "store_zip", "55425"),
        ("55420", "zip_prefix", "55423"),
        ("60601", "nearest_zip", "55425"),
        ("55425-1234", "store_zip", "55425"),
    ],
)
def test_zip_codes_are_located_through_store_zips(client, engine, zip_code, method, matched):
    set_stock(engine, 1000, "SKU-GPU", 5)
    body = client.get("/stock/SKU-GPU/nearest", params={"zip": zip_code}, headers=customer()).json()
    assert (body["origin"]["method"], body["origin"]["matched_zip"]) == (method, matched)


@pytest.mark.parametrize("params", [{"zip": "abcde"}, {"lat": 45.0}, {}, {"lat": 91, "lon": 0}])
def test_nearest_needs_a_place(client, params):
    r = client.get("/stock/SKU-GPU/nearest", params=params, headers=customer())
    assert r.status_code == 422 and r.json()["detail"]


def test_unknown_sku_is_404(client):
    assert client.get("/stores/7/stock/NOPE-1", headers=customer()).status_code == 404
    assert client.get("/stock/NOPE-1/nearest", params={"zip": "55425"}, headers=customer()).status_code == 404


def test_geo_helpers():
    assert (
        normalise_zip("2062") == "02062"
        and normalise_zip("98125-0001") == "98125"
        and normalise_zip("x1") is None
    )
    assert haversine_km(44.85466, -93.24565, 47.7060, -122.3250) == pytest.approx(2240, rel=0.02)
    geo = StoreGeo([StorePoint(1, 40.0, -75.0, "19104"), StorePoint(2, 34.0, -118.0, "90001")])
    assert geo.locate_zip("19199").method == "zip_prefix"
    assert geo.locate_zip("89000").matched_zip == "90001"


def test_staff_stock_everywhere_and_nearby(client, engine):
    set_stock(engine, 0, "SKU-CPU", 50)
    for sid, qty in ((7, 1), (281, 3), (498, 4)):
        set_stock(engine, sid, "SKU-CPU", qty)
    manager = staff_headers(client, "manager")
    everywhere = client.get("/staff/stock/SKU-CPU", headers=manager).json()
    assert everywhere[0]["kind"] == "warehouse" and everywhere[0]["available"] == 50
    near = client.get(
        "/staff/stock/SKU-CPU", params={"near_store_id": 7, "radius_km": 100}, headers=manager
    ).json()
    assert [r["location_id"] for r in near][:1] == [7] and 498 not in [r["location_id"] for r in near]
    assert near[0]["distance_km"] == 0


def test_low_stock_and_transfer_suggestions(client, engine):
    set_stock(engine, 7, "SKU-RAM", 1)
    set_stock(engine, 281, "SKU-RAM", 20)
    set_stock(engine, 1000, "SKU-RAM", 8)
    assoc = staff_headers(client, "assoc-7")
    low = client.get("/staff/stores/7/low-stock", headers=assoc).json()
    assert {"sku": "SKU-RAM", "available": 1, "level": "low"}.items() <= next(
        i for i in low if i["sku"] == "SKU-RAM"
    ).items()
    assert all(item["available"] <= 3 for item in low)
    suggestions = client.get("/staff/stores/7/transfer-suggestions", headers=assoc).json()
    ram = next(s for s in suggestions if s["sku"] == "SKU-RAM")
    assert ram["from_location_id"] == 1000 or ram["from_location_id"] == 281
    assert ram["quantity"] == 6 and ram["donor_available_after"] >= 7  # top up to 2×3+1; donor keeps as much
    r = client.post(
        "/staff/transfers",
        json={
            "sku": "SKU-RAM",
            "from_location_id": ram["from_location_id"],
            "to_location_id": 7,
            "quantity": ram["quantity"],
        },
        headers=assoc,
    )
    assert r.status_code == 201
    assert level(engine, 7, "SKU-RAM") == (7, 0)


def test_transfer_cannot_take_more_than_available(client, engine):
    set_stock(engine, 281, "SKU-HP", 2)
    r = client.post(
        "/staff/transfers",
        json={"sku": "SKU-HP", "from_location_id": 281, "to_location_id": 7, "quantity": 3},
        headers=staff_headers(client, "manager"),
    )
    assert r.status_code == 409 and "available 2" in r.json()["detail"]
    assert level(engine, 281, "SKU-HP") == (2, 0)


def test_adjustments_and_audit_rebuild_levels_from_the_ledger(client, engine):
    manager = staff_headers(client, "manager")
    for body in ({"kind": "receipt", "quantity": 10}, {"kind": "adjustment", "quantity": -3}):
        r = client.post(
            "/staff/stock/changes", json={"sku": "SKU-GPU", "location_id": 498, **body}, headers=manager
        )
        assert r.status_code == 201 and r.json()["staff_id"] is not None
    r = client.post(
        "/staff/stock/changes",
        json={"sku": "SKU-GPU", "location_id": 498, "kind": "receipt", "quantity": -1},
        headers=manager,
    )
    assert r.status_code == 422
    audit = client.get("/staff/audit", params={"location_id": 498}, headers=manager).json()
    assert audit["ok"] and audit["rows_checked"] >= 1
    ledger = client.get(
        "/staff/movements", params={"location_id": 498, "sku": "SKU-GPU"}, headers=manager
    ).json()
    assert sum(m["quantity"] for m in ledger) == level(engine, 498, "SKU-GPU")[0]
    # tamper with the level behind the ledger's back: the audit must notice
    from sqlalchemy import update

    from order_service.models import StockLevel

    with make_sessionmaker(engine)() as session, session.begin():
        session.execute(
            update(StockLevel)
            .where(StockLevel.location_id == 498, StockLevel.sku == "SKU-GPU")
            .values(on_hand=StockLevel.on_hand + 1)
        )
    audit = client.get("/staff/audit", params={"location_id": 498}, headers=manager).json()
    assert not audit["ok"] and audit["mismatches"][0]["sku"] == "SKU-GPU"


def test_database_refuses_negative_stock(engine):
    with make_sessionmaker(engine)() as session:
        with pytest.raises(stock.OutOfStock if hasattr(stock, "OutOfStock") else Exception):
            stock.move(session, location_id=7, sku="SKU-GPU", quantity=-10_000, kind="adjustment")
        session.rollback()


def test_ses_and_eoq():
    level_, std = rp.ses([2, 2, 2, 2], 0.5)
    assert level_ == 2 and std == 0
    level_, _ = rp.ses([0, 0, 0, 10], 0.5)
    assert level_ == 5
    assert rp.eoq(1000, 50, 2.5) == round(math.sqrt(2 * 1000 * 50 / 2.5))  # 200
    assert rp.eoq(0, 50, 2.5) == 0
    plan = rp.plan([3.0] * 30, price=100.0, params=rp.ReplenishmentParams(lead_time_days=7, service_z=1.65))
    assert plan.daily_forecast == 3 and plan.reorder_point == 21 and plan.safety_stock == 0
    assert plan.eoq == round(math.sqrt(2 * 3 * 365 * 50 / 25))


def test_replenishment_from_sales_history(client, engine):
    set_stock(engine, 281, "SKU-HP", 200)
    now = utcnow()
    with make_sessionmaker(engine)() as session:
        for day in range(30):
            stock.move(
                session, location_id=281, sku="SKU-HP", quantity=-4, kind="sale", at=now - timedelta(days=day)
            )
        session.commit()
    out = client.get(
        "/staff/replenishment/SKU-HP",
        params={"location_id": 281, "history_days": 30},
        headers=staff_headers(client, "assoc-281"),
    ).json()
    assert out["units_sold"] == 120 and out["daily_forecast"] == pytest.approx(4, abs=0.01)
    assert out["reorder_point"] == 28 and out["eoq"] == round(math.sqrt(2 * 4 * 365 * 50 / (0.25 * 19.99)))
    assert out["available"] == 80 and out["should_reorder"] is False


def test_unavailable_everywhere_lists_what_no_location_can_sell(client, engine):
    with make_sessionmaker(engine)() as session:
        directory = stock.Directory(session)
        carried = {
            sku: {v.location.id for v in stock.stock_views(session, directory, sku)}
            for sku in ("SKU-GPU", "SKU-CPU")
        }
    for sku, locations in carried.items():
        for location_id in locations:
            set_stock(engine, location_id, sku, 0)
    set_stock(engine, 7, "SKU-CPU", 2)
    with make_sessionmaker(engine)() as session:  # both units of SKU-CPU held for an order
        stock.reserve(session, 7, "SKU-CPU", 2)
        session.commit()
    set_stock(engine, 1000, "SKU-RAM", 4)
    body = client.get("/stock/unavailable", headers=customer()).json()
    with make_sessionmaker(engine)() as session:  # the same set, asked product by product
        directory = stock.Directory(session)
        expected = sorted(
            sku
            for sku in ("SKU-CPU", "SKU-RAM", "SKU-HP", "SKU-GPU")
            if all(v.available <= 0 for v in stock.stock_views(session, directory, sku))
        )
    assert {"SKU-GPU", "SKU-CPU"} <= set(body) and "SKU-RAM" not in body
    assert sorted(s for s in body if s.startswith("SKU-")) == expected
