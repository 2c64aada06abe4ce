"""Seeded generator of the demo shop's order history.

The demo shop has no real customers, yet the recommender, the analytics and the staff questions
need a history with the patterns real shoppers leave. The generator is deterministic for a seed
and produces:
- **personas** with different baskets: *builders* buy a whole PC in one order (CPU, a motherboard
  with the same socket, memory of the board's type, storage, power supply, case, often a cooler and a
  graphics card); *gamers* buy graphics cards, monitors and peripherals; *office* buyers buy monitors,
  keyboards, mice and webcams; *upgraders* add memory compatible with the board they bought before,
  plus storage and graphics cards;
- **compatible components bought together**: every pair in a build passes the injected
  compatibility predicate (by default the knowledge graph's rules);
- **brand loyalty**: each customer prefers one brand per part type and picks it 70% of the time
  when the shop carries it in their price band;
- **price bands**: budget, mid and premium customers choose from the lower, middle and upper
  price quantiles of each part type;
- **bestsellers**: inside a pool, items are drawn with Zipf-like weights, so some items sell far
  more than others (collaborative filtering needs shared items);
- **durable goods**: a customer does not buy the same item twice, except consumables (thermal
  paste, case fans);
- **time**: customers join over the period, order at individual rates (gamma-distributed), and a
  quarter of them stop buying partway through, so RFM segments and retention curves look real.

Output: the records of recommender/order_history.py (customers, orders with lines; its JSONL writer
and reader). demo/orders.py loads them into the order service's tables; the recommender trains on
`order_lines_frame(history)`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import numpy as np

from recommender.content import ProductLike
from recommender.order_history import DemoCustomer, DemoHistory, DemoLine, DemoOrder

SEED = 20261122
Compatible = Callable[[ProductLike, ProductLike], bool]

PERSONAS = {  # persona -> share of customers
    "builder": 0.3,
    "gamer": 0.25,
    "office": 0.25,
    "upgrader": 0.2,
}
BANDS = {"budget": (0.0, 0.4), "mid": (0.3, 0.75), "premium": (0.65, 1.0)}
BUILD_CORE = ("cpu", "motherboard", "memory", "internal-hard-drive", "power-supply", "case")
BUILD_EXTRAS = {"cpu-cooler": 0.6, "video-card": 0.7, "thermal-paste": 0.3, "case-fan": 0.3}
# persona -> (part type, probability it appears in an order)
BASKETS = {
    "gamer": {
        "video-card": 0.6,
        "monitor": 0.5,
        "headphones": 0.4,
        "keyboard": 0.4,
        "mouse": 0.5,
        "speakers": 0.1,
    },
    "office": {
        "monitor": 0.6,
        "keyboard": 0.5,
        "mouse": 0.5,
        "webcam": 0.3,
        "external-hard-drive": 0.3,
        "headphones": 0.2,
        "ups": 0.1,
    },
    "upgrader": {
        "memory": 0.6,
        "internal-hard-drive": 0.5,
        "video-card": 0.3,
        "cpu-cooler": 0.2,
        "case-fan": 0.2,
    },
}
CONSUMABLES = {"thermal-paste", "case-fan"}  # the only items a customer buys again
# a pair (a, b) is checked when both types are in one order (or the upgrader's memory vs. their board)
CHECKED_PAIRS = {
    ("cpu", "motherboard"),
    ("memory", "motherboard"),
    ("case", "motherboard"),
    ("cpu-cooler", "cpu"),
    ("power-supply", "video-card"),
    ("case", "video-card"),
}


def default_compatible(a: ProductLike, b: ProductLike) -> bool:
    """The knowledge graph's compatibility rules (unknown counts as compatible)."""
    from catalog.part_rules import check

    return check(a, b).compatible is not False


class _Pools:
    """Products by part type, sorted by price, with fixed bestseller weights."""

    def __init__(self, products: Sequence[ProductLike], rng: np.random.Generator) -> None:
        self.by_type: dict[str, list[ProductLike]] = {}
        for p in products:
            if p.part_type and p.price and p.price > 0:
                self.by_type.setdefault(p.part_type, []).append(p)
        self.weights: dict[str, np.ndarray] = {}
        for t, items in self.by_type.items():
            items.sort(key=lambda p: (p.price, p.sku))
            ranks = rng.permutation(len(items)) + 1
            self.weights[t] = 1.0 / ranks**1.1  # Zipf-like: a few bestsellers per type

    def pick(
        self,
        rng: np.random.Generator,
        part_type: str,
        band: str,
        brand: str | None,
        ok: Callable[[ProductLike], bool] = lambda p: True,
        loyalty: float = 0.7,
    ) -> ProductLike | None:
        items = self.by_type.get(part_type)
        if not items:
            return None
        lo, hi = BANDS[band]
        start, stop = int(lo * len(items)), max(int(hi * len(items)), int(lo * len(items)) + 1)
        idx = np.arange(start, stop)
        if brand and rng.random() < loyalty:
            branded = idx[[items[i].brand == brand for i in idx]]
            if len(branded):
                idx = branded
        w = self.weights[part_type][idx]
        order = rng.choice(idx, size=min(len(idx), 40), replace=False, p=w / w.sum())
        for i in order:
            if ok(items[i]):
                return items[i]
        return None


def generate_demo_history(
    products: Sequence[ProductLike],
    n_customers: int = 400,
    days: int = 365,
    end: datetime = datetime(2026, 11, 1, tzinfo=UTC),
    seed: int = SEED,
    store_ids: Sequence[int] = (),
    extra_customer_ids: Sequence[str] = (),
    compatible: Compatible | None = None,
) -> DemoHistory:
    """Generate `n_customers` synthetic customers (plus `extra_customer_ids`, e.g. the order
    service's demo accounts) and their orders over `days` days before `end`."""
    if n_customers < 0 or days <= 0:
        raise ValueError("n_customers must be >= 0 and days > 0")
    compatible = compatible or default_compatible
    rng = np.random.default_rng(seed)
    pools = _Pools(products, rng)
    if not pools.by_type:
        raise ValueError("no priced products with a part type to sell")
    start = end - timedelta(days=days)
    ids = [f"demo-{i:04d}" for i in range(n_customers)] + list(extra_customer_ids)
    personas, shares = list(PERSONAS), np.array(list(PERSONAS.values()))
    customers, orders = [], []
    for cid in ids:
        persona = str(rng.choice(personas, p=shares / shares.sum()))
        band = str(rng.choice(list(BANDS), p=[0.35, 0.45, 0.2]))
        brands = {t: _favourite_brand(pools, t, rng) for t in pools.by_type}
        joined = start + timedelta(days=float(rng.uniform(0, days * 0.9)))
        customer = DemoCustomer(cid, persona, band, joined, brands)
        customers.append(customer)
        orders += _orders_for(customer, pools, rng, end, compatible, store_ids)
    orders.sort(key=lambda o: (o.created_at, o.order_ref))
    return DemoHistory(seed, tuple(customers), tuple(orders))


def _favourite_brand(pools: _Pools, part_type: str, rng: np.random.Generator) -> str | None:
    brands = [p.brand for p in pools.by_type[part_type] if p.brand]
    if not brands:
        return None
    values, counts = np.unique(brands, return_counts=True)
    return str(rng.choice(values, p=counts / counts.sum()))


def _orders_for(
    c: DemoCustomer,
    pools: _Pools,
    rng: np.random.Generator,
    end: datetime,
    compatible: Compatible,
    store_ids: Sequence[int],
) -> list[DemoOrder]:
    rate_per_month = float(rng.gamma(1.5, 0.6))  # orders per month while active
    churn_at = (
        end if rng.random() > 0.25 else c.joined_at + (end - c.joined_at) * float(rng.uniform(0.2, 0.8))
    )
    out: list[DemoOrder] = []
    owned_board: ProductLike | None = None
    owned: set[str] = set()
    t = c.joined_at
    while t < churn_at:
        basket = _basket(c, pools, rng, compatible, owned_board, owned)
        if basket:
            owned.update(p.sku for p in basket if p.part_type not in CONSUMABLES)
            owned_board = next((p for p in basket if p.part_type == "motherboard"), owned_board)
            pickup = bool(store_ids) and rng.random() < 0.3
            lines = tuple(
                DemoLine(
                    p.sku,
                    p.name,
                    float(p.price),
                    int(rng.choice([1, 2], p=[0.85, 0.15]))
                    if p.part_type in ("case-fan", "thermal-paste", "memory")
                    else 1,
                )
                for p in basket
            )
            out.append(
                DemoOrder(
                    f"{c.customer_id}-{len(out) + 1:03d}",
                    c.customer_id,
                    t,
                    "pickup" if pickup else "delivery",
                    int(rng.choice(store_ids)) if pickup else 0,
                    "completed",
                    lines,
                )
            )
        t = t + timedelta(days=float(rng.exponential(30.0 / max(rate_per_month, 0.05))))
    return out


def _basket(
    c: DemoCustomer,
    pools: _Pools,
    rng: np.random.Generator,
    compatible: Compatible,
    owned_board: ProductLike | None,
    owned: set[str],
) -> list[ProductLike]:
    if c.persona == "builder" and (owned_board is None or rng.random() < 0.15):
        types = list(BUILD_CORE) + [t for t, p in BUILD_EXTRAS.items() if rng.random() < p]
    else:
        table = BASKETS["upgrader" if c.persona == "builder" else c.persona]
        types = [t for t, p in table.items() if rng.random() < p] or [max(table, key=table.get)]
    chosen: list[ProductLike] = []
    for t in types:
        context = chosen + (
            [owned_board] if owned_board is not None and c.persona in ("upgrader", "builder") else []
        )

        def fits(p: ProductLike, context: list[ProductLike] = context) -> bool:
            if p.sku in owned:  # durable goods are bought once
                return False
            return all(
                compatible(p, q)
                for q in context
                if (p.part_type, q.part_type) in CHECKED_PAIRS or (q.part_type, p.part_type) in CHECKED_PAIRS
            )

        item = pools.pick(rng, t, c.price_band, c.favourite_brands.get(t), fits)
        if item is not None and item not in chosen:
            chosen.append(item)
    return chosen
