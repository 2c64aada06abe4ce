"""A plausible, seeded history of assistant events for the demo shop and the analytics benchmark.

Each generated conversation follows the funnel the assistant sees: searches show five product
cards each, some conversations get recommendations (with the customer's experiment variant), some
cards are tapped, some products go into the cart, some carts are checked out and ordered; FAQ
questions, fallbacks, hand-overs and ratings are sprinkled in. The rates below are assumptions for
a demo, not measurements; variant B is given a slightly higher click rate so the experiment report
has a difference to show. Same seed, same events.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import numpy as np
from sqlalchemy import Engine, func, insert, select

from order_service.models import AssistantEvent, Customer, Product
from recommender.experiments import variant_of

SEED = 20261203
CARDS = 5
CLICK = {"search_products": 0.07, "recommend_products": {"A": 0.09, "B": 0.115}}
P_RECOMMEND, P_CART_AFTER_CLICK, P_CART_BLIND = 0.45, 0.3, 0.04
P_CHECKOUT, P_ORDER = 0.65, 0.75
P_FAQ, P_FAQ_UNSURE, P_FALLBACK, P_HANDOFF, P_RATING = 0.3, 0.12, 0.15, 0.04, 0.2
CHUNK = 10_000


def generate(
    n_conversations: int,
    skus: Sequence[tuple[str, float]],
    customers: Sequence[str],
    *,
    end: datetime,
    days: int = 28,
    seed: int = SEED,
) -> Iterator[dict]:
    """Event rows (the columns of `assistant_events`), conversation by conversation."""
    rng = np.random.default_rng(seed)
    weights = 1.0 / np.arange(1, len(skus) + 1) ** 0.8  # a few products are shown much more often
    weights /= weights.sum()
    start = end - timedelta(days=days)
    for i in range(n_conversations):
        at = start + timedelta(seconds=float(rng.uniform(0, days * 86400)))
        web = rng.random() < 0.7
        channel = "socketio" if web else "wechat"
        language = ("en" if rng.random() < 0.75 else "zh") if web else ("zh" if rng.random() < 0.9 else "en")
        customer = customers[int(rng.integers(len(customers)))] if customers and rng.random() < 0.8 else None
        conversation = f"demo-{seed}-{i}"
        variant = variant_of(customer or conversation)
        base = {
            "conversation_id": conversation,
            "customer_id": customer,
            "channel": channel,
            "language": language,
        }
        clock = [at]

        def event(type: str, clock=clock, base=base, **fields) -> dict:
            clock[0] += timedelta(seconds=float(rng.uniform(5, 90)))
            row = {
                "at": clock[0],
                **base,
                "type": type,
                "sku": None,
                "model": None,
                "variant": None,
                "value": None,
            }
            return {**row, "payload": {}, **fields}

        shown: list[tuple[str, str, str | None]] = []  # (sku, model, variant)
        clicked: list[tuple[str, str, str | None]] = []
        lists = [("search_products", None)] * (1 + int(rng.poisson(0.8)))
        if rng.random() < P_RECOMMEND:
            lists.insert(int(rng.integers(len(lists) + 1)), ("recommend_products", variant))
        for model, arm in lists:
            picks = rng.choice(len(skus), size=min(CARDS, len(skus)), replace=False, p=weights)
            rate = CLICK[model][arm] if arm else CLICK[model]
            for position, j in enumerate(picks, 1):
                sku = skus[int(j)][0]
                yield event("impression", sku=sku, model=model, variant=arm, payload={"position": position})
                shown.append((sku, model, arm))
                if rng.random() < rate:
                    yield event(
                        "click", sku=sku, model=model, variant=arm, payload={"button": "/product_details"}
                    )
                    clicked.append((sku, model, arm))
        cart = [c for c in clicked if rng.random() < P_CART_AFTER_CLICK]
        if not cart and rng.random() < P_CART_BLIND:
            cart = [shown[int(rng.integers(len(shown)))]]
        for sku, model, arm in cart:
            yield event("add_to_cart", sku=sku, model=model, variant=arm, payload={"quantity": 1})
        if rng.random() < P_FAQ:
            for _ in range(1 + int(rng.random() < 0.3)):
                yield event("faq_unsure" if rng.random() < P_FAQ_UNSURE else "faq_answered")
        fell_back = rng.random() < P_FALLBACK
        if fell_back:
            yield event("fallback")
        if cart and rng.random() < P_CHECKOUT:
            yield event("checkout_started", payload={"items": len(cart)})
            if rng.random() < P_ORDER:
                prices = {s: p for s, p in skus}
                total = Decimal(str(round(sum(prices[s] for s, _, _ in cart), 2)))
                yield event(
                    "order_placed", value=total, payload={"skus": [s for s, _, _ in cart], "demo": True}
                )
        handed_over = rng.random() < (P_HANDOFF + (0.1 if fell_back else 0.0))
        if handed_over:
            yield event("handoff")
        if rng.random() < P_RATING:
            mean = 3.0 if handed_over or fell_back else 4.2
            rating = int(np.clip(round(rng.normal(mean, 0.9)), 1, 5))
            yield event("rating", value=Decimal(rating))


def insert_events(engine: Engine, rows: Iterator[dict], chunk: int = CHUNK) -> int:
    """Bulk INSERTs of `chunk` rows (COPY on PostgreSQL), in one transaction."""
    if engine.dialect.name == "postgresql":
        return _copy_events(engine, rows)
    statement = insert(AssistantEvent.__table__)
    n = 0
    with engine.begin() as conn:
        batch: list[dict] = []
        for row in rows:
            batch.append(row)
            if len(batch) >= chunk:
                conn.execute(statement, batch)
                n += len(batch)
                batch = []
        if batch:
            conn.execute(statement, batch)
            n += len(batch)
    return n


COLUMNS = (
    "at",
    "conversation_id",
    "customer_id",
    "channel",
    "language",
    "type",
    "sku",
    "model",
    "variant",
    "value",
)


def _copy_events(engine: Engine, rows: Iterator[dict]) -> int:
    """PostgreSQL's COPY: a million events in well under a minute (multi-row INSERTs took ten)."""
    n = 0
    with engine.begin() as conn:
        cursor = conn.connection.dbapi_connection.cursor()
        with cursor.copy(f"COPY assistant_events ({', '.join(COLUMNS)}, payload) FROM STDIN") as copy:
            for row in rows:
                copy.write_row([*(row[c] for c in COLUMNS), json.dumps(row["payload"], default=str)])
                n += 1
    return n


def load_for_demo_shop(engine: Engine, n_conversations: int = 3000, seed: int = SEED) -> tuple[int, float]:
    """Four weeks of demo events ending now, over the shop's products and customers, when the event
    record is still empty. Returns (events added, seconds)."""
    started = time.perf_counter()
    with engine.connect() as conn:
        if conn.scalar(select(func.count()).select_from(AssistantEvent)):
            return 0, 0.0
        skus = [
            (s, float(p)) for s, p in conn.execute(select(Product.sku, Product.price).order_by(Product.sku))
        ]
        customers = list(conn.scalars(select(Customer.id).order_by(Customer.id).limit(2000)))
    if not skus:
        return 0, 0.0
    rng = np.random.default_rng(seed)
    skus = [skus[int(j)] for j in rng.permutation(len(skus))[:2000]]  # popularity order is random
    end = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    n = insert_events(engine, generate(n_conversations, skus, customers, end=end, seed=seed))
    return n, round(time.perf_counter() - started, 2)
