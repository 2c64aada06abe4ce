"""Order-line tables: the UCI Online Retail loader (with the evaluation's cleaning rules) and the
implicit-feedback matrix built from any order-line table.

The canonical columns are ORDER_LINE_COLUMNS; every other module reads only those, which is what
lets the evaluation, the analytics and the shop recommender share code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

ORDER_LINE_COLUMNS = ["customer_id", "order_id", "sku", "quantity", "unit_price", "ordered_at"]

# Stock codes in Online Retail that are not products: postage, carriage, manual adjustments, bank
# charges, marketplace fees, discounts, bad-debt adjustments, charity commission, samples, pads.
NON_PRODUCT_CODES = frozenset(
    {"POST", "DOT", "C2", "M", "m", "BANK CHARGES", "AMAZONFEE", "B", "CRUK", "D", "S", "PADS"}
)
NON_PRODUCT_PREFIXES = ("gift_",)  # gift vouchers


@lru_cache(maxsize=1)
def load_texts() -> dict:
    """User-visible text (reasons, segment labels) in English and Chinese, from texts.yaml."""
    import yaml

    return yaml.safe_load((Path(__file__).with_name("texts.yaml")).read_text(encoding="utf-8"))


def online_retail_path(data_dir: Path | None = None) -> Path:
    if data_dir is None:
        from daogou.config import get_settings

        data_dir = get_settings().data_dir
    return Path(data_dir) / "retail_transactions" / "online_retail.csv.gz"


@dataclass(frozen=True)
class CleaningReport:
    """How many rows each cleaning rule removed (documented in docs/recommender.md)."""

    raw_rows: int
    no_customer: int
    cancellations: int
    non_positive_quantity: int
    non_positive_price: int
    non_product: int
    kept_rows: int


def clean_online_retail(raw: pd.DataFrame) -> tuple[pd.DataFrame, CleaningReport]:
    """Apply the protocol's cleaning to the raw UCI columns and return canonical order lines.

    Rules are applied in order and counted one by one, so the report shows what each removed.
    """
    df = raw
    n0 = len(df)
    df = df[df["CustomerID"].notna()]
    n1 = len(df)
    df = df[~df["InvoiceNo"].astype(str).str.startswith("C")]
    n2 = len(df)
    df = df[df["Quantity"] > 0]
    n3 = len(df)
    df = df[df["UnitPrice"] > 0]
    n4 = len(df)
    codes = df["StockCode"].astype(str)
    df = df[~(codes.isin(NON_PRODUCT_CODES) | codes.str.startswith(NON_PRODUCT_PREFIXES))]
    n5 = len(df)
    out = pd.DataFrame(
        {
            "customer_id": df["CustomerID"].astype("int64").astype(str),
            "order_id": df["InvoiceNo"].astype(str),
            "sku": df["StockCode"].astype(str).str.upper(),
            "quantity": df["Quantity"].astype("int64"),
            "unit_price": df["UnitPrice"].astype(float),
            "ordered_at": pd.to_datetime(df["InvoiceDate"]),
        }
    ).reset_index(drop=True)
    report = CleaningReport(n0, n0 - n1, n1 - n2, n2 - n3, n3 - n4, n4 - n5, n5)
    return out, report


def load_online_retail(
    path: Path | None = None, descriptions_before: str | None = None
) -> tuple[pd.DataFrame, CleaningReport, dict[str, str]]:
    """Read and clean the UCI file; also return sku -> description (the most frequent one, from rows
    before `descriptions_before` if given, so an evaluation takes no item text from its test period)."""
    path = Path(path) if path else online_retail_path()
    if not path.exists():
        raise FileNotFoundError(f"Online Retail data not found at {path}")
    raw = pd.read_csv(path, dtype={"InvoiceNo": str, "StockCode": str, "Description": str})
    lines, report = clean_online_retail(raw)
    if descriptions_before is not None:
        raw = raw[pd.to_datetime(raw["InvoiceDate"]) < pd.Timestamp(descriptions_before)]
    desc = (
        raw.dropna(subset=["Description"])
        .assign(sku=lambda d: d["StockCode"].astype(str).str.upper())
        .groupby("sku")["Description"]
        .agg(lambda s: s.mode().iat[0])
        .to_dict()
    )
    return lines, report, desc


def validate_order_lines(lines: pd.DataFrame) -> None:
    """Fail early with a clear message when a table lacks the canonical columns."""
    missing = [c for c in ORDER_LINE_COLUMNS if c not in lines.columns]
    if missing:
        raise ValueError(f"order lines lack columns {missing}; expected {ORDER_LINE_COLUMNS}")


def fingerprint_lines(lines: pd.DataFrame) -> str:
    """Stable hash of an order-line table, used to key cached artefacts."""
    validate_order_lines(lines)
    h = hashlib.sha256()
    h.update(pd.util.hash_pandas_object(lines[ORDER_LINE_COLUMNS], index=False).values.tobytes())
    return h.hexdigest()[:16]


@dataclass
class Interactions:
    """Customer × item implicit feedback: strength = number of distinct orders with the item.

    `days_since` holds, per (customer, item), the days between the last purchase and `as_of`, which
    the repeat-purchase model uses for recency decay. `events` keeps every purchase (customer, item,
    order, age) so that a model can cut the same history earlier and learn from what came next.
    """

    users: np.ndarray  # index -> customer_id
    items: np.ndarray  # index -> sku
    strength: sparse.csr_matrix  # users × items, float32
    days_since: sparse.csr_matrix  # users × items, days since last purchase (+1 so zero is never stored)
    as_of: pd.Timestamp
    events: PurchaseEvents | None = None
    user_index: dict[str, int] = field(init=False)
    item_index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.user_index = {u: i for i, u in enumerate(self.users)}
        self.item_index = {s: i for i, s in enumerate(self.items)}

    @property
    def shape(self) -> tuple[int, int]:
        return self.strength.shape

    @classmethod
    def from_lines(
        cls, lines: pd.DataFrame, as_of: pd.Timestamp | None = None, items: np.ndarray | None = None
    ) -> Interactions:
        """Aggregate lines; `items` fixes the item axis (lines with other skus are dropped)."""
        validate_order_lines(lines)
        if lines.empty:
            raise ValueError("no order lines to build interactions from")
        as_of = pd.Timestamp(as_of) if as_of is not None else lines["ordered_at"].max()
        bought = (
            lines.groupby(["customer_id", "sku", "order_id"], sort=False)["ordered_at"].max().reset_index()
        )
        users = np.array(sorted(bought["customer_id"].unique()))
        items = np.array(sorted(bought["sku"].unique())) if items is None else np.asarray(items)
        item_pos = pd.Series(np.arange(len(items)), index=items)
        bought = bought[bought["sku"].isin(item_pos.index)]
        user_pos = pd.Series(np.arange(len(users)), index=users)
        events = PurchaseEvents(
            rows=user_pos.loc[bought["customer_id"]].to_numpy(np.int32),
            cols=item_pos.loc[bought["sku"]].to_numpy(np.int32),
            orders=pd.factorize(bought["order_id"])[0].astype(np.int64),
            age_days=((as_of - bought["ordered_at"]).dt.total_seconds() / 86400.0)
            .clip(lower=0)
            .to_numpy(np.float32),
        )
        return cls.from_events(users, items, events, as_of)

    @classmethod
    def from_events(
        cls, users: np.ndarray, items: np.ndarray, events: PurchaseEvents, as_of: pd.Timestamp
    ) -> Interactions:
        shape = (len(users), len(items))
        ones = np.ones(len(events.rows), np.float32)
        strength = sparse.csr_matrix((ones, (events.rows, events.cols)), shape=shape)
        strength.sum_duplicates()
        # the youngest purchase of each pair, stored as days + 1 so that zero is never stored
        by_pair = np.lexsort((events.age_days, events.cols, events.rows))
        key = events.rows[by_pair].astype(np.int64) * shape[1] + events.cols[by_pair]
        last = by_pair[np.r_[True, key[1:] != key[:-1]]]
        days_since = sparse.csr_matrix(
            (events.age_days[last] + 1.0, (events.rows[last], events.cols[last])), shape=shape
        )
        return cls(users, items, strength.astype(np.float32), days_since.astype(np.float32), as_of, events)

    def before(self, days: float) -> tuple[Interactions, sparse.csr_matrix]:
        """The same customers and items as they stood `days` earlier, and what each customer bought
        in those last `days` (users × items, 1 where bought): training data for a model that learns
        from the next purchases, without a second pass over the order lines."""
        if self.events is None:
            raise ValueError("these interactions keep no purchase events")
        e = self.events
        recent = e.age_days < days
        label = sparse.csr_matrix(
            (np.ones(int(recent.sum()), np.float32), (e.rows[recent], e.cols[recent])), shape=self.shape
        )
        label.sum_duplicates()
        label.data[:] = 1.0
        old = ~recent
        earlier = PurchaseEvents(e.rows[old], e.cols[old], e.orders[old], e.age_days[old] - np.float32(days))
        return Interactions.from_events(
            self.users, self.items, earlier, self.as_of - pd.Timedelta(days=days)
        ), label

    def orders_per_user(self) -> np.ndarray:
        """Distinct orders per customer."""
        if self.events is None:
            raise ValueError("these interactions keep no purchase events")
        span = int(self.events.orders.max(initial=0)) + 1
        pairs = np.unique(self.events.rows.astype(np.int64) * span + self.events.orders)
        return np.bincount(pairs // span, minlength=self.shape[0]).astype(np.float32)


@dataclass(frozen=True)
class PurchaseEvents:
    """One entry per (customer row, item column, order): the order's code and its age in days at `as_of`."""

    rows: np.ndarray
    cols: np.ndarray
    orders: np.ndarray
    age_days: np.ndarray


@dataclass(frozen=True)
class RetailItem:
    """An Online Retail stock code as a catalogue record (name = description, price = median unit
    price), so the content-based model can run on the benchmark; it has no brand or attributes."""

    sku: str
    name: str
    price: float
    brand: str | None = None
    category_id: str = "online-retail"
    part_type: str | None = None
    attributes: dict = field(default_factory=dict, hash=False, compare=False)


def retail_items(lines: pd.DataFrame, descriptions: dict[str, str]) -> dict[str, RetailItem]:
    prices = lines.groupby("sku")["unit_price"].median()
    return {
        sku: RetailItem(sku, descriptions.get(sku, "") or "", float(price)) for sku, price in prices.items()
    }
