"""Demo data: locations, products, stock (through the ledger), a sales history, customers and staff.

The stock generator is seeded, so every machine gets the same demo shop:
- the online warehouse (location 0) carries every SKU, 0–~150 units each;
- each store carries an assortment drawn by popularity × the fit of the part type to the store format:
  big-box stores ~350 SKUs, component-heavy; Best Buy Mobile stores ~60 (audio, accessories, small
  electronics); Express kiosks ~35 (headphones, mice, keyboards, memory, storage);
- quantities are skewed (gamma-Poisson) so that many items are low (1–3) and some are out (0);
- the warehouse's 1,500 most popular SKUs and the demo associates' stores get 90 days of daily sales,
  so reorder points and EOQ have history to learn from.
Every level is the sum of its ledger rows (an opening receipt, then sales), so `audit` holds from day one.

Demo credentials (documented in docs/orders.md) are public on purpose: never load demo data
into a production database.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import Engine, delete, func, insert, select

from order_service.core.security import DEMO_PASSWORDS, hash_password
from order_service.models import (
    WAREHOUSE_ID,
    Customer,
    CustomerIdentity,
    Location,
    Order,
    OrderEvent,
    OrderLine,
    Product,
    Reservation,
    StaffToken,
    StaffUser,
    StockLevel,
    StockMovement,
)

if TYPE_CHECKING:
    from catalog.models import Product as CatalogProduct
    from catalog.models import Store as CatalogStore

SEED = 20261122
HISTORY_DAYS = 90
WAREHOUSE_HISTORY_SKUS = 1500

DEMO_CUSTOMERS = (  # (customer id, display name, channel, external id)
    ("cust-alice", "Alice (demo)", "web", "demo-web-alice"),
    ("cust-bob", "Bob (demo)", "wechat", "demo-wechat-bob"),
    ("cust-chen", "陈女士 (demo)", "wechat", "demo-wechat-chen"),
)
ASSOCIATE_STATES = ("MN", "CA", "NY", "TX")  # one associate at the lowest-id big-box store of each

# Assortment size and how well each part type fits each store format (relative weights; 0 = never).
FORMAT_SIZE = {"BigBox": 350, "Mobile": 60, "Express": 35}
FIT = {
    "BigBox": {
        "cpu": 3,
        "video-card": 3,
        "motherboard": 3,
        "memory": 3,
        "internal-hard-drive": 3,
        "power-supply": 2.5,
        "case": 1.5,
        "cpu-cooler": 2,
        "monitor": 2,
        "keyboard": 2,
        "mouse": 2,
        "headphones": 2,
        "speakers": 1.5,
        "webcam": 1.5,
        "external-hard-drive": 2,
        "wireless-network-card": 1.5,
        "case-fan": 1.5,
        "thermal-paste": 1.5,
        None: 1.5,
    },
    "Mobile": {"headphones": 4, "speakers": 2, "external-hard-drive": 1, "webcam": 1, None: 3},
    "Express": {
        "headphones": 4,
        "mouse": 3,
        "keyboard": 2,
        "memory": 1.5,
        "external-hard-drive": 2,
        "webcam": 1,
        None: 2,
    },
}
DEFAULT_FIT = {"BigBox": 1.0, "Mobile": 0.0, "Express": 0.0}
PICKUP_FORMATS = {"BigBox", "Mobile"}  # Express stores are unattended kiosks


@dataclass
class DemoSummary:
    locations: int = 0
    products: int = 0
    stock_rows: int = 0
    ledger_rows: int = 0
    units_on_hand: int = 0
    out_of_stock_rows: int = 0
    low_rows: int = 0
    customers: int = 0
    staff: list[str] = field(default_factory=list)
    seconds: float = 0.0


def is_empty(engine: Engine) -> bool:
    with engine.connect() as conn:
        return (
            not conn.execute(select(func.count()).select_from(Location)).scalar()
            and not conn.execute(select(func.count()).select_from(Product)).scalar()
        )


def wipe(engine: Engine) -> None:
    """Delete every row (children first); the schema stays."""
    with engine.begin() as conn:
        for table in (
            OrderEvent,
            Reservation,
            StockMovement,
            OrderLine,
            Order,
            StaffToken,
            StaffUser,
            CustomerIdentity,
            Customer,
            StockLevel,
            Product,
            Location,
        ):
            conn.execute(delete(table))


def _chunks(rows: list[dict], size: int = 20_000) -> Iterable[list[dict]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def _zip5(raw: str) -> str:
    digits = (raw or "").split("-")[0].strip()
    return digits.zfill(5) if digits.isdigit() and 3 <= len(digits) <= 5 else digits[:10]


def location_rows(stores: Iterable[CatalogStore]) -> list[dict]:
    rows = [
        dict(
            id=WAREHOUSE_ID,
            kind="warehouse",
            store_type=None,
            name="Online warehouse",
            address="",
            city="",
            state="",
            zip="",
            lat=None,
            lon=None,
            hours_text="",
            hours={},
            services=[],
            pickup=False,
        )
    ]
    for s in stores:
        rows.append(
            dict(
                id=int(s.id),
                kind="store",
                store_type=s.type,
                name=s.name,
                address=s.address or "",
                city=s.city or "",
                state=s.state or "",
                zip=_zip5(s.zip),
                lat=s.lat,
                lon=s.lon,
                hours_text=s.hours_text or "",
                hours={d: (list(v) if v else None) for d, v in (s.hours or {}).items()},
                services=list(s.services or ()),
                pickup=s.type in PICKUP_FORMATS,
            )
        )
    return rows


def product_rows(products: Iterable[CatalogProduct]) -> list[dict]:
    rows, seen = [], set()
    for p in products:
        if p.price is None or p.price < 0 or p.sku in seen:
            continue  # an item without a price cannot be sold
        seen.add(p.sku)
        rows.append(
            dict(
                sku=p.sku,
                name=p.name[:400],
                brand=(p.brand or "")[:120],
                price=Decimal(str(round(float(p.price), 2))),
                category_id=None if p.category_id is None else str(p.category_id)[:40],
                part_type=p.part_type,
            )
        )
    return rows


def _quantities(rng: np.random.Generator, n: int, mean: float, shape: float) -> np.ndarray:
    """Gamma-Poisson (negative binomial): a long tail of well-stocked items and many low or empty ones."""
    return rng.poisson(rng.gamma(shape, mean / shape, size=n))


def generate_stock(
    products: list[dict], locations: list[dict], seed: int = SEED
) -> dict[tuple[int, str], int]:
    """Final on-hand quantity for every (location, sku) carried (0 = carried but out of stock)."""
    rng = np.random.default_rng(seed)
    skus = [p["sku"] for p in products]
    n = len(skus)
    popularity = 1.0 / (rng.permutation(n) + 20.0) ** 0.9  # Zipf-like, random rank per SKU
    part_types = [p["part_type"] for p in products]
    stock: dict[tuple[int, str], int] = {}
    for sku, qty in zip(skus, _quantities(rng, n, 40.0, 0.8)):
        stock[(WAREHOUSE_ID, sku)] = int(qty)
    weights = {}
    for fmt, fit in FIT.items():
        w = popularity * np.array([fit.get(pt, DEFAULT_FIT[fmt]) for pt in part_types])
        weights[fmt] = np.log(np.where(w > 0, w, 1e-300))
    for loc in locations:
        fmt = loc["store_type"]
        if loc["kind"] != "store" or fmt not in FIT:
            continue
        size = min(n, max(5, int(FORMAT_SIZE[fmt] * rng.uniform(0.7, 1.3))))
        keys = weights[fmt] + rng.gumbel(size=n)  # Gumbel top-k = weighted sampling without replacement
        chosen = np.argpartition(-keys, size - 1)[:size]
        chosen = chosen[np.isfinite(keys[chosen]) & (keys[chosen] > -600)]
        for i, qty in zip(chosen, _quantities(rng, len(chosen), 6.0 if fmt == "BigBox" else 4.0, 1.1)):
            stock[(loc["id"], skus[int(i)])] = int(qty)
    return stock


def generate_sales(
    stock: dict[tuple[int, str], int], history_locations: set[int], end: datetime, seed: int = SEED
) -> list[tuple[int, str, datetime, int]]:
    """Daily sales (location, sku, day, units) over HISTORY_DAYS for the given locations; the warehouse
    only for its WAREHOUSE_HISTORY_SKUS best-stocked SKUs."""
    rng = np.random.default_rng(seed + 1)
    keys = [k for k in stock if k[0] in history_locations and k[0] != WAREHOUSE_ID]
    if WAREHOUSE_ID in history_locations:
        ware = sorted((k for k in stock if k[0] == WAREHOUSE_ID), key=lambda k: (-stock[k], k[1]))
        keys += ware[:WAREHOUSE_HISTORY_SKUS]
    if not keys:
        return []
    rates = np.array([max(0.02, stock[k] / 30.0) for k in keys]) * rng.gamma(2.0, 0.5, size=len(keys))
    trend = np.linspace(0.8, 1.2, HISTORY_DAYS)  # demand grows a little over the quarter
    counts = rng.poisson(np.outer(rates, trend))
    days = [end - timedelta(days=HISTORY_DAYS - d) for d in range(HISTORY_DAYS)]
    out = []
    for row, col in zip(*np.nonzero(counts)):
        loc, sku = keys[int(row)]
        out.append((loc, sku, days[int(col)], int(counts[row, col])))
    return out


def load(
    engine: Engine,
    products: Iterable[CatalogProduct],
    stores: Iterable[CatalogStore],
    *,
    seed: int = SEED,
    now: datetime | None = None,
) -> DemoSummary:
    """Insert the demo shop into an empty, migrated database, in one transaction."""
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    locs = location_rows(stores)
    prods = product_rows(products)
    stock = generate_stock(prods, locs, seed)
    associates = _associate_stores(locs)
    sales = generate_sales(stock, {WAREHOUSE_ID, *associates}, now, seed)
    opening = now - timedelta(days=HISTORY_DAYS + 1)
    sold: dict[tuple[int, str], int] = {}
    for loc, sku, _, units in sales:
        sold[(loc, sku)] = sold.get((loc, sku), 0) + units
    stock_rows, ledger = [], []
    for (loc, sku), qty in stock.items():
        stock_rows.append(dict(location_id=loc, sku=sku, on_hand=qty, reserved=0))
        received = qty + sold.get((loc, sku), 0)
        if received:
            ledger.append(
                dict(
                    created_at=opening,
                    location_id=loc,
                    sku=sku,
                    quantity=received,
                    kind="receipt",
                    note="opening stock (demo)",
                )
            )
    for loc, sku, day, units in sales:
        ledger.append(
            dict(
                created_at=day,
                location_id=loc,
                sku=sku,
                quantity=-units,
                kind="sale",
                note="till sale (demo history)",
            )
        )
    staff = [
        dict(username="admin", role="admin", store_id=None),
        dict(username="manager", role="manager", store_id=None),
    ]
    staff += [dict(username=f"assoc-{sid}", role="associate", store_id=sid) for sid in associates]
    hashes = {role: hash_password(pw) for role, pw in DEMO_PASSWORDS.items()}
    with engine.begin() as conn:
        conn.execute(insert(Location), locs)
        for chunk in _chunks(prods):
            conn.execute(insert(Product), chunk)
        for chunk in _chunks(stock_rows):
            conn.execute(insert(StockLevel), chunk)
        for chunk in _chunks(ledger):
            conn.execute(insert(StockMovement.__table__), chunk)
        conn.execute(
            insert(StaffUser), [dict(s, password_hash=hashes[s["role"]], active=True) for s in staff]
        )
        conn.execute(
            insert(Customer.__table__),
            [dict(id=cid, display_name=name, created_at=now) for cid, name, _, _ in DEMO_CUSTOMERS],
        )
        conn.execute(
            insert(CustomerIdentity),
            [dict(channel=ch, external_id=ext, customer_id=cid) for cid, _, ch, ext in DEMO_CUSTOMERS],
        )
    quantities = list(stock.values())
    return DemoSummary(
        locations=len(locs),
        products=len(prods),
        stock_rows=len(stock_rows),
        ledger_rows=len(ledger),
        units_on_hand=sum(quantities),
        out_of_stock_rows=sum(q == 0 for q in quantities),
        low_rows=sum(1 <= q <= 3 for q in quantities),
        customers=len(DEMO_CUSTOMERS),
        staff=[s["username"] for s in staff],
        seconds=round(time.perf_counter() - started, 2),
    )


def _associate_stores(locs: list[dict]) -> list[int]:
    """The lowest-id big-box store in each of ASSOCIATE_STATES (or the first big-box stores if absent)."""
    bigbox = sorted((loc for loc in locs if loc["store_type"] == "BigBox"), key=lambda loc: loc["id"])
    chosen = []
    for state in ASSOCIATE_STATES:
        match = next((loc["id"] for loc in bigbox if loc["state"] == state and loc["id"] not in chosen), None)
        if match is not None:
            chosen.append(match)
    for loc in bigbox:
        if len(chosen) >= len(ASSOCIATE_STATES):
            break
        if loc["id"] not in chosen:
            chosen.append(loc["id"])
    return chosen
