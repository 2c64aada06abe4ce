"""The order-history file format the recommender reads: customers and their orders (with lines) as
plain records, one JSON object per line, and the canonical order-lines table of such a history.

The seeded demo history (demo/history.py) is written in this format by `daogou recommend
demo-history`; `RECOMMENDER_HISTORY=<file>` trains the shop recommender on it (recommender/sources.py).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import pandas as pd


@dataclass(frozen=True)
class DemoCustomer:
    customer_id: str
    persona: str
    price_band: str
    joined_at: datetime
    favourite_brands: dict[str, str] = field(hash=False)


@dataclass(frozen=True)
class DemoLine:
    sku: str
    name: str
    unit_price: float
    quantity: int


@dataclass(frozen=True)
class DemoOrder:
    order_ref: str
    customer_id: str
    created_at: datetime
    fulfilment: str  # "delivery" (online, from the warehouse) or "pickup" (in a store)
    location_id: int  # 0 = warehouse; a store id for pickups
    status: str  # "completed"
    lines: tuple[DemoLine, ...]

    @property
    def total(self) -> float:
        return round(sum(line.unit_price * line.quantity for line in self.lines), 2)


@dataclass(frozen=True)
class DemoHistory:
    seed: int
    customers: tuple[DemoCustomer, ...]
    orders: tuple[DemoOrder, ...]


def order_lines_frame(history: DemoHistory) -> pd.DataFrame:
    """The canonical order-lines table (recommender.data.ORDER_LINE_COLUMNS) of a history."""
    rows = [
        (o.customer_id, o.order_ref, line.sku, line.quantity, line.unit_price, o.created_at)
        for o in history.orders
        for line in o.lines
    ]
    df = pd.DataFrame(
        rows, columns=["customer_id", "order_id", "sku", "quantity", "unit_price", "ordered_at"]
    )
    df["ordered_at"] = pd.to_datetime(df["ordered_at"], utc=True).dt.tz_localize(None)
    return df


def write_jsonl(history: DemoHistory, path: Path) -> Path:
    """One JSON object per line: {"type": "customer", ...} records, then {"type": "order", ...}
    with nested lines; times in ISO 8601 UTC."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        for c in history.customers:
            fh.write(
                json.dumps(
                    {"type": "customer", **asdict(c), "joined_at": c.joined_at.isoformat()},
                    ensure_ascii=False,
                )
                + "\n"
            )
        for o in history.orders:
            fh.write(
                json.dumps(
                    {"type": "order", **asdict(o), "created_at": o.created_at.isoformat(), "total": o.total},
                    ensure_ascii=False,
                )
                + "\n"
            )
    return path


def read_jsonl(path: Path) -> DemoHistory:
    customers, orders = [], []
    seed = -1
    with path.open(encoding="utf-8") as fh:
        for n, raw in enumerate(fh, 1):
            rec = json.loads(raw)
            kind = rec.pop("type", None)
            if kind == "customer":
                rec["joined_at"] = datetime.fromisoformat(rec["joined_at"])
                customers.append(DemoCustomer(**rec))
            elif kind == "order":
                rec.pop("total", None)
                rec["created_at"] = datetime.fromisoformat(rec["created_at"])
                rec["lines"] = tuple(DemoLine(**line) for line in rec["lines"])
                orders.append(DemoOrder(**rec))
            else:
                raise ValueError(f"{path}:{n}: unknown record type {kind!r}")
    return DemoHistory(seed, tuple(customers), tuple(orders))
