from __future__ import annotations

import json
import sqlite3
from collections import Counter

import pandas as pd
import pytest

from catalog.models import Product as P
from demo.history import generate_demo_history
from recommender.data import ORDER_LINE_COLUMNS
from recommender.order_history import DemoHistory, order_lines_frame, read_jsonl, write_jsonl
from recommender.sources import order_lines_from_database, order_lines_from_jsonl

BRANDS = ["Acme", "Bolt", "Core"]
PRODUCTS = (
    [
        P(f"cpu-{s}-{b}-{i}", f"{b} CPU {i}", b, 100 + 40 * i, "c1", "cpu", {"socket": s})
        for s in ("AM5", "LGA1700")
        for b in BRANDS
        for i in range(5)
    ]
    + [
        P(
            f"mb-{s}-{b}-{i}",
            f"{b} board {i}",
            b,
            80 + 30 * i,
            "c2",
            "motherboard",
            {"socket": s, "memory_type": "DDR5"},
        )
        for s in ("AM5", "LGA1700")
        for b in BRANDS
        for i in range(5)
    ]
    + [
        P(f"{t}-{b}-{i}", f"{b} {t} {i}", b, 20 + 25 * i, f"c-{t}", t, {})
        for t in (
            "memory",
            "internal-hard-drive",
            "power-supply",
            "case",
            "video-card",
            "monitor",
            "keyboard",
            "mouse",
            "headphones",
            "webcam",
            "cpu-cooler",
        )
        for b in BRANDS
        for i in range(6)
    ]
)


def socket_rule(a, b) -> bool:
    sa, sb = a.attributes.get("socket"), b.attributes.get("socket")
    return not (sa and sb and sa != sb)


@pytest.fixture(scope="module")
def history() -> DemoHistory:
    return generate_demo_history(
        PRODUCTS,
        n_customers=150,
        days=300,
        seed=5,
        store_ids=[11, 12],
        extra_customer_ids=["cust-alice"],
        compatible=socket_rule,
    )


def test_deterministic_for_a_seed(history):
    again = generate_demo_history(
        PRODUCTS,
        n_customers=150,
        days=300,
        seed=5,
        store_ids=[11, 12],
        extra_customer_ids=["cust-alice"],
        compatible=socket_rule,
    )
    assert again == history
    other = generate_demo_history(PRODUCTS, n_customers=150, days=300, seed=6, compatible=socket_rule)
    assert other.orders != history.orders


def test_builds_are_compatible_and_complete(history):
    by_sku = {p.sku: p for p in PRODUCTS}
    builds, builders = 0, set()
    for order in history.orders:
        items = [by_sku[line.sku] for line in order.lines]
        cpus = [p for p in items if p.part_type == "cpu"]
        boards = [p for p in items if p.part_type == "motherboard"]
        if cpus and boards:
            builds += 1
            assert cpus[0].attributes["socket"] == boards[0].attributes["socket"]
            if order.customer_id not in builders:  # a first build is complete (later ones may lack an
                builders.add(order.customer_id)  # item the builder already owns in this tiny catalogue)
                assert {"memory", "power-supply", "case"} <= {p.part_type for p in items}
    assert builds >= 10


def test_brand_loyalty_and_price_bands(history):
    by_sku = {p.sku: p for p in PRODUCTS}
    customers = {c.customer_id: c for c in history.customers}
    loyal = total = 0
    band_prices: dict[str, list[float]] = {"budget": [], "premium": []}
    for order in history.orders:
        c = customers[order.customer_id]
        for line in order.lines:
            p = by_sku[line.sku]
            total += 1
            loyal += p.brand == c.favourite_brands.get(p.part_type)
            if c.price_band in band_prices and p.part_type == "monitor":
                band_prices[c.price_band].append(p.price)
    assert loyal / total > 0.6  # 1/3 would be chance with three brands
    assert max(band_prices["budget"]) < min(band_prices["premium"])


def test_orders_are_plausible(history):
    assert "cust-alice" in {c.customer_id for c in history.customers}
    assert all(o.status == "completed" and o.lines for o in history.orders)
    pickups = [o for o in history.orders if o.fulfilment == "pickup"]
    assert pickups and all(o.location_id in (11, 12) for o in pickups)
    assert all(o.location_id == 0 for o in history.orders if o.fulfilment == "delivery")
    assert len({o.order_ref for o in history.orders}) == len(history.orders)
    per_customer = Counter(o.customer_id for o in history.orders)
    assert max(per_customer.values()) > 3 * (sorted(per_customer.values())[len(per_customer) // 2])


def test_jsonl_round_trip_and_frame(history, tmp_path):
    path = write_jsonl(history, tmp_path / "h.jsonl")
    first = json.loads(path.read_text(encoding="utf-8").splitlines()[0])
    assert first["type"] == "customer"
    back = read_jsonl(path)
    assert back.orders == history.orders and back.customers == history.customers
    frame = order_lines_frame(history)
    assert list(frame.columns) == ORDER_LINE_COLUMNS
    assert len(frame) == sum(len(o.lines) for o in history.orders)
    pd.testing.assert_frame_equal(order_lines_from_jsonl(path), frame)


def test_database_source(tmp_path):
    db = tmp_path / "shop.db"
    con = sqlite3.connect(db)
    con.executescript("""
        CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id TEXT, status TEXT, created_at TEXT);
        CREATE TABLE order_lines (id INTEGER PRIMARY KEY, order_id INTEGER, sku TEXT, quantity INTEGER, unit_price NUMERIC);
        INSERT INTO orders VALUES (1, 'c1', 'completed', '2026-01-02 10:00:00'), (2, 'c1', 'cancelled', '2026-01-03 10:00:00'),
                                  (3, 'c2', 'pending', '2026-01-04 10:00:00');
        INSERT INTO order_lines VALUES (1, 1, 'a', 2, 9.5), (2, 1, 'b', 1, 3), (3, 2, 'a', 1, 9.5), (4, 3, 'c', 1, 1);
    """)
    con.commit()
    con.close()
    lines = order_lines_from_database(f"sqlite:///{db}")
    assert list(lines.columns) == ORDER_LINE_COLUMNS
    assert sorted(lines["sku"]) == ["a", "b"] and set(lines["order_id"]) == {"1"}
    assert lines["ordered_at"].iat[0] == pd.Timestamp("2026-01-02 10:00:00")
