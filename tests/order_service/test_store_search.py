"""Pick-up stores for a whole cart and fuzzy store-name suggestions (what the checkout offers when the
shopper's store cannot hand out the cart or matches no store)."""

from __future__ import annotations

import httpx

from order_service.client import OrderServiceClient
from order_service.services.geo import haversine_km
from tests.order_service.conftest import SERVICE_TOKEN, STORES, customer, service, set_stock

BY_ID = {s.id: s for s in STORES}


def test_pickup_stores_hold_every_line_in_its_quantity(client, engine):
    # CPU: 2 wanted. RAM: 1 wanted. Only stores with both, enough of each, and a pick-up desk qualify.
    stock = {1000: (5, 1), 7: (2, 0), 281: (2, 3), 8108: (9, 9), 2001: (9, 9), 498: (4, 4)}
    for sid, (cpu, ram) in stock.items():
        set_stock(engine, sid, "SKU-CPU", cpu)
        set_stock(engine, sid, "SKU-RAM", ram)
    pickup = {sid: client.get(f"/stores/{sid}", headers=service()).json()["pickup"] for sid in stock}
    origin = BY_ID[7]
    expected = sorted(
        (sid for sid, (cpu, ram) in stock.items() if cpu >= 2 and ram >= 1 and pickup[sid]),
        key=lambda sid: haversine_km(origin.lat, origin.lon, BY_ID[sid].lat, BY_ID[sid].lon),
    )
    assert len(expected) >= 2 and not all(pickup.values())  # the case needs both a kiosk and a choice

    body = client.get(
        "/pickup/nearest",
        params={"sku": ["SKU-CPU", "SKU-RAM"], "qty": [2, 1], "store_id": 7, "limit": 10},
        headers=customer(),
    ).json()
    assert [s["id"] for s in body] == expected
    for s in body:
        km = haversine_km(origin.lat, origin.lon, BY_ID[s["id"]].lat, BY_ID[s["id"]].lon)
        assert abs(s["distance_km"] - km) < 0.01

    limited = client.get(
        "/pickup/nearest",
        params={"sku": ["SKU-CPU", "SKU-RAM"], "qty": [2, 1], "store_id": 7, "limit": 1},
        headers=customer(),
    ).json()
    assert [s["id"] for s in limited] == expected[:1]
    # the same SKU twice counts as its sum: 2 + 2 CPUs
    four = client.get(
        "/pickup/nearest",
        params={"sku": ["SKU-CPU", "SKU-CPU"], "qty": [2, 2], "zip": "55425", "limit": 10},
        headers=customer(),
    ).json()
    assert {s["id"] for s in four} == {sid for sid, (cpu, _) in stock.items() if cpu >= 4 and pickup[sid]}


def test_pickup_stores_refuse_bad_requests(client):
    assert (
        client.get(
            "/pickup/nearest", params={"sku": "SKU-CPU", "qty": [1, 2], "zip": "55425"}, headers=customer()
        ).status_code
        == 422
    )
    assert client.get("/pickup/nearest", params={"sku": "SKU-CPU"}, headers=customer()).status_code == 422
    assert (
        client.get(
            "/pickup/nearest", params={"sku": "NOPE-1", "zip": "55425"}, headers=customer()
        ).status_code
        == 404
    )
    assert (
        client.get(
            "/pickup/nearest", params={"sku": "SKU-CPU", "store_id": 999}, headers=customer()
        ).status_code
        == 404
    )
    assert client.get("/pickup/nearest", params={"sku": "SKU-CPU", "zip": "55425"}).status_code == 401


def test_suggestions_for_misspelt_store_names(client):
    def names(q: str) -> list[str]:
        return [
            s["name"]
            for s in client.get("/stores/suggest", params={"q": q, "limit": 3}, headers=service()).json()
        ]

    assert names("Rosevile")[0] == "Roseville"
    assert names("mall of amerika")[0] == "Mall of America"
    assert names("Richfeld")[0] == "Richfield"
    assert names("Northgait Seattle")[0] == "Northgate"
    assert names("zzqx") == []
    # "Roseville" is also a city: the mobile store there is a good second suggestion, never a duplicate
    rose = client.get("/stores/suggest", params={"q": "Rosevile", "limit": 5}, headers=service()).json()
    labels = [(s["name"], s["city"], s["state"]) for s in rose]
    assert len(labels) == len(set(labels))


async def test_client_methods(app, engine):
    for sid in BY_ID:
        set_stock(engine, sid, "SKU-GPU", 3 if sid == 281 else 0)
    async with OrderServiceClient(
        "http://orders", token=SERVICE_TOKEN, transport=httpx.ASGITransport(app=app)
    ) as api:
        found = await api.nearest_pickup_stores([("SKU-GPU", 2)], store_id=1000)
        assert [s.id for s in found] == [281] and found[0].distance_km is not None
        assert await api.nearest_pickup_stores([("SKU-GPU", 4)], store_id=1000) == []
        assert (await api.suggest_stores("Richfeild"))[0].id == 281
