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
NON_PRODUCT_CODES = frozenset({"POST", "DOT", "C2", "M", "m", "BANK CHARGES", "AMAZONFEE", "B", "CRUK",
                               "D", "S", "PADS"})
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
    out = pd.DataFrame({
        "customer_id": df["CustomerID"].astype("int64").astype(str),
        "order_id": df["InvoiceNo"].astype(str),
        "sku": df["StockCode"].astype(str).str.upper(),
        "quantity": df["Quantity"].astype("int64"),
        "unit_price": df["UnitPrice"].astype(float),
        "ordered_at": pd.to_datetime(df["InvoiceDate"]),
    }).reset_index(drop=True)
    report = CleaningReport(n0, n0 - n1, n1 - n2, n2 - n3, n3 - n4, n4 - n5, n5)
    return out, report


def load_online_retail(path: Path | None = None, descriptions_before: str | None = None
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
    desc = (raw.dropna(subset=["Description"]).assign(sku=lambda d: d["StockCode"].astype(str).str.upper())
            .groupby("sku")["Description"].agg(lambda s: s.mode().iat[0]).to_dict())
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

    `last_seen` holds, per (customer, item), the days between the last purchase and `as_of`, which
    the repeat-purchase model uses for recency decay.
    """
    users: np.ndarray            # index -> customer_id
    items: np.ndarray            # index -> sku
    strength: sparse.csr_matrix  # users × items, float32
    days_since: sparse.csr_matrix  # users × items, days since last purchase (+1 so zero is never stored)
    as_of: pd.Timestamp
    user_index: dict[str, int] = field(init=False)
    item_index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.user_index = {u: i for i, u in enumerate(self.users)}
        self.item_index = {s: i for i, s in enumerate(self.items)}

    @property
    def shape(self) -> tuple[int, int]:
        return self.strength.shape

    @classmethod
    def from_lines(cls, lines: pd.DataFrame, as_of: pd.Timestamp | None = None,
                   items: np.ndarray | None = None) -> "Interactions":
        """Aggregate lines; `items` fixes the item axis (lines with other skus are dropped)."""
        validate_order_lines(lines)
        if lines.empty:
            raise ValueError("no order lines to build interactions from")
        as_of = pd.Timestamp(as_of) if as_of is not None else lines["ordered_at"].max()
        agg = lines.groupby(["customer_id", "sku"], sort=True).agg(
            n_orders=("order_id", "nunique"), last=("ordered_at", "max")).reset_index()
        users = np.array(sorted(agg["customer_id"].unique()))
        items = np.array(sorted(agg["sku"].unique())) if items is None else np.asarray(items)
        item_pos = pd.Series(np.arange(len(items)), index=items)
        agg = agg[agg["sku"].isin(item_pos.index)]
        user_pos = pd.Series(np.arange(len(users)), index=users)
        rows = user_pos.loc[agg["customer_id"]].to_numpy()
        cols = item_pos.loc[agg["sku"]].to_numpy()
        shape = (len(users), len(items))
        strength = sparse.csr_matrix((agg["n_orders"].to_numpy(np.float32), (rows, cols)), shape=shape)
        days = ((as_of - agg["last"]).dt.total_seconds() / 86400.0).clip(lower=0).to_numpy(np.float32) + 1.0
        days_since = sparse.csr_matrix((days, (rows, cols)), shape=shape)
        return cls(users, items, strength, days_since, as_of)



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
    return {sku: RetailItem(sku, descriptions.get(sku, "") or "", float(price)) for sku, price in prices.items()}
