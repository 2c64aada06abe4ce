"""Customer analytics as pure functions over an order-lines table.

Input columns: customer_id, order_id, sku, quantity, unit_price, ordered_at (see recommender.data).
The same functions serve the Online Retail demonstration (docs/analytics.md), the order service's
staff API and the staff's chat questions ("who are our at-risk customers?").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from recommender.clv import BetaGeoModel, GammaGammaModel
from recommender.data import load_texts, validate_order_lines
from recommender.records import CustomerProfile

# RFM segments from recency (R) and frequency (F) scores, 1–5 each. First match wins; the table is
# complete (every R×F cell matches exactly one rule), which tests check. Labels and suggested
# actions (English and Chinese) are in recommender/texts.yaml.
SEGMENT_RULES: list[tuple[str, tuple[int, int], tuple[int, int]]] = [
    ("champions", (5, 5), (4, 5)),
    ("loyal", (3, 4), (4, 5)),
    ("potential_loyalist", (4, 5), (2, 3)),
    ("new", (5, 5), (1, 1)),
    ("promising", (4, 4), (1, 1)),
    ("need_attention", (3, 3), (3, 3)),
    ("about_to_sleep", (3, 3), (1, 2)),
    ("cant_lose", (1, 2), (5, 5)),
    ("at_risk", (1, 2), (3, 4)),
    ("hibernating", (1, 2), (1, 2)),
]
_SEGMENT_TEXT = load_texts()["segments"]
SEGMENT_LABELS = {
    key: {"en": _SEGMENT_TEXT[key]["en"], "zh": _SEGMENT_TEXT[key]["zh"]} for key, *_ in SEGMENT_RULES
}
SEGMENT_ACTIONS = {
    key: {"en": _SEGMENT_TEXT[key]["action_en"], "zh": _SEGMENT_TEXT[key]["action_zh"]}
    for key, *_ in SEGMENT_RULES
}


def segment_for(r: int, f: int) -> str:
    for key, (r_lo, r_hi), (f_lo, f_hi), *_ in SEGMENT_RULES:
        if r_lo <= r <= r_hi and f_lo <= f <= f_hi:
            return key
    raise ValueError(f"no RFM segment for R={r}, F={f}")


def orders(lines: pd.DataFrame) -> pd.DataFrame:
    """One row per order: customer_id, order_id, ordered_at (first line's time), value."""
    validate_order_lines(lines)
    if lines.empty:
        raise ValueError("no order lines")
    return (
        lines.assign(value=lines["quantity"] * lines["unit_price"])
        .groupby(["customer_id", "order_id"], sort=False)
        .agg(ordered_at=("ordered_at", "min"), value=("value", "sum"))
        .reset_index()
    )


def _quintile(values: pd.Series, higher_is_better: bool) -> pd.Series:
    """Scores 1–5 by equal-size bins of the rank (ties broken by order), so heavy ties such as
    'one order' still spread over the scale instead of collapsing qcut's bin edges."""
    ranks = values.rank(method="first", ascending=higher_is_better)
    bins = min(5, len(values))
    return (pd.qcut(ranks, bins, labels=False) + 1 + (5 - bins)).astype(int)


def rfm(lines: pd.DataFrame, as_of: pd.Timestamp | None = None) -> pd.DataFrame:
    """Per customer: recency_days, frequency (orders), monetary (total spend), r/f/m scores 1–5,
    rfm code ("545"), segment key. `as_of` defaults to the day after the last order."""
    o = orders(lines)
    as_of = (
        pd.Timestamp(as_of) if as_of is not None else o["ordered_at"].max().normalize() + pd.Timedelta(days=1)
    )
    c = o.groupby("customer_id").agg(
        last=("ordered_at", "max"), frequency=("order_id", "nunique"), monetary=("value", "sum")
    )
    c["recency_days"] = (as_of - c["last"]).dt.days
    c["r_score"] = _quintile(c["recency_days"], higher_is_better=False)
    c["f_score"] = _quintile(c["frequency"], higher_is_better=True)
    c["m_score"] = _quintile(c["monetary"], higher_is_better=True)
    c["rfm"] = c["r_score"].astype(str) + c["f_score"].astype(str) + c["m_score"].astype(str)
    c["segment"] = [segment_for(r, f) for r, f in zip(c["r_score"], c["f_score"])]
    return c.drop(columns="last")[
        ["recency_days", "frequency", "monetary", "r_score", "f_score", "m_score", "rfm", "segment"]
    ]


def segment_summary(rfm_table: pd.DataFrame) -> pd.DataFrame:
    """Customers, share of customers, revenue share and mean recency/frequency/spend per segment."""
    g = rfm_table.groupby("segment").agg(
        customers=("frequency", "size"),
        revenue=("monetary", "sum"),
        mean_recency_days=("recency_days", "mean"),
        mean_frequency=("frequency", "mean"),
        mean_monetary=("monetary", "mean"),
    )
    g["customer_share"] = g["customers"] / g["customers"].sum()
    g["revenue_share"] = g["revenue"] / g["revenue"].sum()
    order = [key for key, *_ in SEGMENT_RULES if key in g.index]
    return g.loc[order]


def cohort_retention(lines: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """Monthly cohorts by first-order month: share of each cohort ordering again k months later.

    Returns (retention: cohort month × months since first order, cohort sizes). Column 0 is 1.0.
    """
    o = orders(lines)
    month = o["ordered_at"].dt.to_period("M")
    first = month.groupby(o["customer_id"]).transform("min")
    age = (month - first).apply(lambda d: d.n)
    active = pd.DataFrame({"cohort": first, "age": age, "customer_id": o["customer_id"]}).drop_duplicates()
    last = month.max()
    counts = active.groupby(["cohort", "age"])["customer_id"].nunique().unstack(fill_value=0)
    counts = counts.reindex(columns=range((last - month.min()).n + 1), fill_value=0)
    sizes = counts[0]
    retention = counts.div(sizes, axis=0)
    # Cells after the data's end are unknown, not zero.
    for cohort in retention.index:
        retention.loc[cohort, retention.columns > (last - cohort).n] = np.nan
    retention.index = retention.index.astype(str)
    sizes.index = sizes.index.astype(str)
    return retention, sizes


def average_order_value(lines: pd.DataFrame) -> float:
    return float(orders(lines)["value"].mean())


def repurchase_rate(lines: pd.DataFrame) -> float:
    """Share of customers with at least two orders."""
    n = orders(lines).groupby("customer_id")["order_id"].nunique()
    return float((n >= 2).mean())


@dataclass(frozen=True)
class CLVConfig:
    horizon_weeks: float = 52.0
    margin: float = 1.0  # 1.0 = revenue CLV; set the gross margin for profit CLV
    time_unit_days: float = 7.0


def clv_inputs(
    lines: pd.DataFrame, as_of: pd.Timestamp | None = None, unit_days: float = 7.0
) -> pd.DataFrame:
    """Per customer: frequency (repeat purchase days), recency and age T in time units (weeks), mean
    value of the repeat orders. Purchases on the same day count once, as in the BG/NBD papers."""
    o = orders(lines)
    o["day"] = o["ordered_at"].dt.normalize()
    daily = o.groupby(["customer_id", "day"])["value"].sum().reset_index()
    as_of = pd.Timestamp(as_of) if as_of is not None else daily["day"].max() + pd.Timedelta(days=1)
    g = daily.sort_values("day").groupby("customer_id")
    first, last, n = g["day"].min(), g["day"].max(), g["day"].size()
    repeat_value = (g["value"].sum() - g["value"].first()) / (n - 1).where(n > 1)
    return pd.DataFrame(
        {
            "frequency": (n - 1).astype(float),
            "recency": (last - first).dt.days / unit_days,
            "T": (as_of - first).dt.days / unit_days,
            "monetary": repeat_value.fillna(0.0),
        }
    )


def customer_lifetime_value(
    lines: pd.DataFrame, config: CLVConfig = CLVConfig(), as_of: pd.Timestamp | None = None
) -> tuple[pd.DataFrame, BetaGeoModel, GammaGammaModel]:
    """BG/NBD for how many orders a customer will place over the horizon and whether they are still
    active, Gamma-Gamma for the value of those orders; CLV = orders × value × margin (undiscounted).

    Customers without a repeat purchase get the Gamma-Gamma population mean as their value.
    """
    data = clv_inputs(lines, as_of, config.time_unit_days)
    bg = BetaGeoModel().fit(data["frequency"].to_numpy(), data["recency"].to_numpy(), data["T"].to_numpy())
    repeaters = data[data["frequency"] > 0]
    gg = GammaGammaModel().fit(repeaters["frequency"].to_numpy(), repeaters["monetary"].to_numpy())
    out = data.copy()
    out["p_alive"] = bg.p_alive(
        data["frequency"].to_numpy(), data["recency"].to_numpy(), data["T"].to_numpy()
    )
    out["expected_orders"] = bg.expected_purchases(
        config.horizon_weeks, data["frequency"].to_numpy(), data["recency"].to_numpy(), data["T"].to_numpy()
    )
    out["expected_value"] = gg.expected_value(data["frequency"].to_numpy(), data["monetary"].to_numpy())
    out["clv"] = out["expected_orders"] * out["expected_value"] * config.margin
    return out, bg, gg


def customer_profile(rfm_table: pd.DataFrame, customer_id: str) -> CustomerProfile:
    key = str(customer_id)
    if key not in rfm_table.index:
        raise KeyError(f"customer {customer_id} has no orders")
    row = rfm_table.loc[key]
    return CustomerProfile(
        key,
        row["segment"],
        SEGMENT_LABELS[row["segment"]]["en"],
        SEGMENT_LABELS[row["segment"]]["zh"],
        row["rfm"],
        int(row["recency_days"]),
        int(row["frequency"]),
        round(float(row["monetary"]), 2),
    )


def customers_in_segment(rfm_table: pd.DataFrame, segment: str, limit: int = 20) -> pd.DataFrame:
    """Customers of one segment, highest spend first ("who are our at-risk customers?")."""
    if segment not in SEGMENT_LABELS:
        raise ValueError(f"unknown segment {segment!r}; known: {sorted(SEGMENT_LABELS)}")
    return rfm_table[rfm_table["segment"] == segment].sort_values("monetary", ascending=False).head(limit)


@dataclass(frozen=True)
class HoldoutCheck:
    """BG/NBD checked on data it did not see: fit up to `calibration_end`, predict each customer's
    orders (distinct purchase days) in the holdout, compare with what they did."""

    calibration_end: str
    holdout_weeks: float
    customers: int
    predicted_total: float
    actual_total: int
    mae_per_customer: float
    baseline_mae_per_customer: float  # "same rate as in calibration" predictor


def clv_holdout_check(lines: pd.DataFrame, calibration_end: str, unit_days: float = 7.0) -> HoldoutCheck:
    validate_order_lines(lines)
    end = pd.Timestamp(calibration_end)
    cal = lines[lines["ordered_at"] < end]
    hold = lines[lines["ordered_at"] >= end]
    if cal.empty or hold.empty:
        raise ValueError("calibration_end must fall inside the order history")
    data = clv_inputs(cal, end, unit_days)
    horizon = (hold["ordered_at"].max().normalize() + pd.Timedelta(days=1) - end).days / unit_days
    bg = BetaGeoModel().fit(data["frequency"], data["recency"], data["T"])
    predicted = bg.expected_purchases(horizon, data["frequency"], data["recency"], data["T"])
    days = hold.assign(day=hold["ordered_at"].dt.normalize()).groupby("customer_id")["day"].nunique()
    actual = days.reindex(data.index, fill_value=0).to_numpy()
    naive = (data["frequency"] + 1) / data["T"].clip(lower=1.0) * horizon
    return HoldoutCheck(
        str(end.date()),
        round(horizon, 1),
        len(data),
        float(predicted.sum()),
        int(actual.sum()),
        float(np.abs(predicted - actual).mean()),
        float(np.abs(naive.to_numpy() - actual).mean()),
    )
