"""The seeded demo order history (demo/history.py) as completed orders in the service's tables.

The recommender and the staff analytics train from the order service's database, so the demo shop's
purchase history has to live there too (one source of truth): `daogou db load-demo` calls
`load_demo_orders` after the shop itself is loaded. The generator is deterministic for a seed, so
the database and `daogou recommend demo-history` hold the same history.

Rows go in with bulk inserts (orders with RETURNING ids, then all lines), in one transaction. Only
products and stores the database knows are used, so foreign keys always hold. Past orders carry no
stock movements: the demo stock levels are an opening count taken after them.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from sqlalchemy import Engine, insert, select

from order_service.models import Customer, Location, Order, OrderEvent, OrderLine, Product
from order_service.services.orders import FREE_SHIPPING_FROM, SHIPPING_FEE

if TYPE_CHECKING:
    from recommender.order_history import DemoHistory

DEMO_ADDRESS = "Demo customer address (generated history)"
CHUNK = 5_000


@dataclass
class DemoOrdersSummary:
    customers_added: int = 0
    orders: int = 0
    lines: int = 0
    skipped_orders: int = 0  # orders naming a product or store the database does not have
    seconds: float = 0.0


def generate(
    products: Sequence,
    store_ids: Iterable[int],
    *,
    n_customers: int,
    seed: int,
    extra_customer_ids: Sequence[str] = (),
) -> DemoHistory:
    """The same history `daogou recommend demo-history` writes (same catalogue, seed and settings)."""
    from demo.history import generate_demo_history

    return generate_demo_history(
        products,
        n_customers=n_customers,
        seed=seed,
        store_ids=list(store_ids),
        extra_customer_ids=list(extra_customer_ids),
    )


def _money(value: float) -> Decimal:
    return Decimal(str(round(float(value), 2)))


def load_demo_orders(engine: Engine, history: DemoHistory) -> DemoOrdersSummary:
    """Insert the history's customers (those not there yet) and its orders as `completed` orders."""
    started = time.perf_counter()
    with engine.connect() as conn:
        known_skus = set(conn.execute(select(Product.sku)).scalars())
        known_locations = set(conn.execute(select(Location.id)).scalars())
        known_customers = set(conn.execute(select(Customer.id)).scalars())
    summary = DemoOrdersSummary()
    customers = [
        dict(id=c.customer_id, display_name=f"Demo customer {c.customer_id}", created_at=c.joined_at)
        for c in history.customers
        if c.customer_id not in known_customers
    ]
    orders, lines = [], []
    for o in history.orders:
        if (
            o.location_id not in known_locations
            or any(line.sku not in known_skus for line in o.lines)
            or not o.lines
        ):
            summary.skipped_orders += 1
            continue
        subtotal = sum(_money(line.unit_price) * line.quantity for line in o.lines)
        shipping = (
            SHIPPING_FEE if o.fulfilment == "delivery" and subtotal < FREE_SHIPPING_FROM else Decimal("0.00")
        )
        at: datetime = o.created_at
        orders.append(
            dict(
                customer_id=o.customer_id,
                status="completed",
                fulfilment=o.fulfilment,
                location_id=o.location_id,
                delivery_address=DEMO_ADDRESS if o.fulfilment == "delivery" else None,
                subtotal=subtotal,
                shipping=shipping,
                total=subtotal + shipping,
                currency="USD",
                idempotency_key=f"demo-history:{o.order_ref}",
                created_at=at,
                updated_at=at,
                confirmed_at=at,
                completed_at=at,
            )
        )
        lines.append(
            [
                dict(
                    sku=line.sku,
                    name=line.name[:400],
                    unit_price=_money(line.unit_price),
                    quantity=line.quantity,
                    line_total=_money(line.unit_price) * line.quantity,
                )
                for line in o.lines
            ]
        )
    table = Order.__table__
    with engine.begin() as conn:
        if customers:
            conn.execute(insert(Customer.__table__), customers)
        ids: list[int] = []
        for i in range(0, len(orders), CHUNK):
            result = conn.execute(
                insert(table).returning(table.c.id, sort_by_parameter_order=True), orders[i : i + CHUNK]
            )
            ids.extend(result.scalars())
        line_rows = [dict(row, order_id=oid) for oid, order_lines in zip(ids, lines) for row in order_lines]
        for i in range(0, len(line_rows), CHUNK):
            conn.execute(insert(OrderLine.__table__), line_rows[i : i + CHUNK])
        events = [
            dict(
                order_id=oid,
                from_status=None,
                to_status="completed",
                actor="demo-history",
                at=o["created_at"],
            )
            for oid, o in zip(ids, orders)
        ]
        for i in range(0, len(events), CHUNK):
            conn.execute(insert(OrderEvent.__table__), events[i : i + CHUNK])
    summary.customers_added, summary.orders, summary.lines = len(customers), len(ids), len(line_rows)
    summary.seconds = round(time.perf_counter() - started, 2)
    return summary


def load_for_demo_shop(engine: Engine, products: Sequence, stores: Iterable) -> DemoOrdersSummary:
    """The demo shop's history: the configured number of synthetic customers plus the service's demo
    accounts, pickups at the stores that offer them, seeded by `RECOMMENDER_DEMO_SEED`."""
    from daogou.config import get_settings
    from demo.shop import DEMO_CUSTOMERS, PICKUP_FORMATS

    settings = get_settings()
    history = generate(
        products,
        [int(s.id) for s in stores if s.type in PICKUP_FORMATS],
        n_customers=settings.recommender_demo_customers,
        seed=settings.recommender_demo_seed,
        extra_customer_ids=[c[0] for c in DEMO_CUSTOMERS],
    )
    return load_demo_orders(engine, history)
