"""Does the assistant sell? Metrics from the assistant's event record (`assistant_events`).

The database does the heavy part in two GROUP BY queries, so one million events are a few hundred
thousand small rows at most:

- one row per (day, channel, language, conversation) with how many events of each type it had,
  the revenue of the orders it placed, the sum of its ratings and its recommendation variant;
- one row per (day, channel, language, model, variant) with impressions, clicks and add-to-carts.

pandas then adds them up for any grouping (by day, channel, language, or all). Ratios are always
recomputed from the summed counts, never averaged. Definitions (docs/analytics.md):

| metric | definition |
|---|---|
| ctr | clicks / impressions (an impression is one product card shown) |
| shown → cart, shown → order | of the conversations that were shown products, the share that added to the cart / placed an order |
| cart → order | of the conversations that added to the cart, the share that placed an order |
| revenue | sum of the totals of the orders placed in the conversations |
| containment | share of conversations without a hand-over to a colleague |
| fallback rate | share of conversations with at least one "sorry, I didn't get that" |
| FAQ unsure rate | FAQ answers where the FAQ was not sure / all FAQ answers |
| satisfaction | mean rating (1-5) and the number of ratings |

A conversation active on several days (or switching language) counts once in each group it was
active in; the totals count it once.

Experiments: every customer is in one recommendation variant (recommender/experiments.py); each
variant's click-through and conversion come with 95% Wilson score intervals from scipy.stats, and a
chi-square test of the variants' difference.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import Date, Engine, cast, func, literal_column, select
from sqlalchemy.sql.elements import ColumnElement

from order_service.models import EVENT_TYPES, AssistantEvent

GROUP = ["day", "channel", "language"]
FLAGS = ["impression", "click", "add_to_cart", "checkout_started", "order_placed", "fallback", "handoff"]
CONFIDENCE = 0.95
PG_WORK_MEM = "128MB"
_e = AssistantEvent.__table__.c


def _day(dialect: str) -> ColumnElement[Any]:
    """The UTC calendar day of an event (PostgreSQL would otherwise use the session's time zone)."""
    if dialect == "postgresql":
        return cast(func.timezone(literal_column("'UTC'"), _e.at), Date)
    return func.date(_e.at)


def _count(event_type: str) -> ColumnElement[Any]:
    return func.count().filter(_is(event_type)).label(event_type)


def _is(event_type: str) -> ColumnElement[bool]:
    """`type = '<literal>'`: constants are written into the SQL, not bound, so that PostgreSQL plans
    the GROUP BY (a hash aggregate in parallel) as it would for the literal query (bound, it was 5x
    slower)."""
    assert event_type in EVENT_TYPES
    return _e.type == literal_column(f"'{event_type}'")


def _where(stmt, since: datetime | None, until: datetime | None):
    if since is not None:
        stmt = stmt.where(_e.at >= since)
    if until is not None:
        stmt = stmt.where(_e.at < until)
    return stmt


def read_aggregates(
    engine: Engine, since: datetime | None = None, until: datetime | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(per conversation and group, per model and group) from the database; see the module docstring."""
    day = _day(engine.dialect.name).label("day")
    conversations = _where(
        select(
            day,
            _e.channel,
            _e.language,
            _e.conversation_id,
            *(_count(t) for t in EVENT_TYPES),
            func.sum(_e.value).filter(_is("order_placed")).label("revenue"),
            func.sum(_e.value).filter(_is("rating")).label("rating_sum"),
            func.max(_e.variant).label("variant"),
        ),
        since,
        until,
    ).group_by(day, _e.channel, _e.language, _e.conversation_id)
    models = _where(
        select(
            day,
            _e.channel,
            _e.language,
            _e.model,
            _e.variant,
            *(_count(t) for t in ("impression", "click", "add_to_cart")),
        ).where(_is("impression") | _is("click") | _is("add_to_cart"), _e.model.is_not(None)),
        since,
        until,
    ).group_by(day, _e.channel, _e.language, _e.model, _e.variant)
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":  # the conversation groups' hash table fits in memory
            conn.exec_driver_sql(f"SET LOCAL work_mem = '{PG_WORK_MEM}'")
        conv = _frame(conn, conversations)
        by_model = _frame(conn, models)
    return normalise(conv, by_model)


def _frame(conn, statement) -> pd.DataFrame:
    """The rows straight from the driver's cursor: SQLAlchemy's per-row objects cost more than the
    query itself for a hundred thousand rows (nothing here needs its type processing)."""
    result = conn.execute(statement)
    return pd.DataFrame.from_records(result.cursor.fetchall(), columns=list(result.keys()))


def normalise(conv: pd.DataFrame, by_model: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Same dtypes whatever the database (SQLite returns days as text, PostgreSQL as dates)."""
    for frame in (conv, by_model):
        frame["day"] = pd.to_datetime(frame["day"]).dt.strftime("%Y-%m-%d") if len(frame) else frame["day"]
    # conversations are only counted, never named: integer codes group much faster than strings
    conv["conversation_id"] = pd.factorize(conv["conversation_id"])[0]
    # cast even when empty: a report over no events is all zeros, not a missing column
    for column in EVENT_TYPES:
        conv[column] = conv[column].astype("int64")
    for column in ("revenue", "rating_sum"):  # NULL when the conversation had none
        conv[column] = conv[column].astype(float).fillna(0.0)
    for column in ("impression", "click", "add_to_cart"):
        by_model[column] = by_model[column].astype("int64")
    return conv, by_model


# --- metrics ------------------------------------------------------------------------------------------
def _ratio(numerator: pd.Series | float, denominator: pd.Series | float):
    if isinstance(denominator, pd.Series):
        return (numerator / denominator.where(denominator > 0)).astype(float)
    return float(numerator) / denominator if denominator else math.nan


def summarise(conv: pd.DataFrame, by: Sequence[str] = GROUP) -> pd.DataFrame:
    """The metrics of the module docstring, one row per group of `by`; a conversation is counted once
    per group however many (day, channel, language) rows it has in it."""
    if set(by) != set(GROUP):
        conv = (
            conv.groupby([*by, "conversation_id"])[[*EVENT_TYPES, "revenue", "rating_sum"]]
            .sum()
            .reset_index()
        )
    flags = conv[FLAGS].gt(0).astype("int64")
    table = conv[list(by)].copy()
    for name in FLAGS:
        table[f"with_{name}"] = flags[name]
    table["shown_and_cart"] = flags["impression"] & flags["add_to_cart"]
    table["shown_and_order"] = flags["impression"] & flags["order_placed"]
    table["cart_and_order"] = flags["add_to_cart"] & flags["order_placed"]
    for name in [*EVENT_TYPES, "revenue", "rating_sum"]:
        table[name] = conv[name]
    table["conversations"] = 1
    sums = table.groupby(list(by), sort=True).sum(numeric_only=True)
    out = pd.DataFrame(index=sums.index)
    out["conversations"] = sums["conversations"].astype("int64")
    out["impressions"] = sums["impression"].astype("int64")
    out["clicks"] = sums["click"].astype("int64")
    out["ctr"] = _ratio(sums["click"], sums["impression"])
    out["shown"] = sums["with_impression"].astype("int64")
    out["carted"] = sums["with_add_to_cart"].astype("int64")
    out["ordered"] = sums["with_order_placed"].astype("int64")
    out["shown_to_cart"] = _ratio(sums["shown_and_cart"], sums["with_impression"])
    out["shown_to_order"] = _ratio(sums["shown_and_order"], sums["with_impression"])
    out["cart_to_order"] = _ratio(sums["cart_and_order"], sums["with_add_to_cart"])
    out["orders"] = sums["order_placed"].astype("int64")
    out["revenue"] = sums["revenue"].round(2)
    out["containment"] = 1 - _ratio(sums["with_handoff"], sums["conversations"])
    out["fallback_rate"] = _ratio(sums["with_fallback"], sums["conversations"])
    out["faq_answers"] = (sums["faq_answered"] + sums["faq_unsure"]).astype("int64")
    out["faq_unsure_rate"] = _ratio(sums["faq_unsure"], sums["faq_answered"] + sums["faq_unsure"])
    out["ratings"] = sums["rating"].astype("int64")
    out["rating_mean"] = _ratio(sums["rating_sum"], sums["rating"])
    return out.reset_index()


def summarise_total(conv: pd.DataFrame) -> pd.DataFrame:
    """One row over everything; a conversation seen in several groups counts once."""
    return summarise(conv.assign(all="all"), by=["all"]).drop(columns="all")


def wilson(successes: int, trials: int) -> tuple[float, float]:
    """95% Wilson score interval of a proportion (scipy.stats); (nan, nan) without trials."""
    from scipy.stats import binomtest

    if trials <= 0:
        return math.nan, math.nan
    ci = binomtest(int(successes), int(trials)).proportion_ci(CONFIDENCE, method="wilson")
    return float(ci.low), float(ci.high)


def model_ctr(by_model: pd.DataFrame, by: Sequence[str] = ("model",)) -> pd.DataFrame:
    """Click-through (and add-to-cart per impression) by model, with Wilson intervals."""
    sums = (
        by_model.groupby(list(by), dropna=False)[["impression", "click", "add_to_cart"]].sum().reset_index()
    )
    sums["ctr"] = _ratio(sums["click"], sums["impression"])
    bounds = [wilson(c, n) for c, n in zip(sums["click"], sums["impression"])]
    sums["ctr_low"] = [b[0] for b in bounds]
    sums["ctr_high"] = [b[1] for b in bounds]
    return sums.rename(columns={"impression": "impressions", "click": "clicks", "add_to_cart": "carts"})


def variants(conv: pd.DataFrame, by_model: pd.DataFrame) -> pd.DataFrame:
    """Per recommendation variant: click-through of its recommendation cards and the conversion of
    its conversations (shown recommendations → order), each with a Wilson interval, and the
    chi-square p-value of the variants' difference (scipy.stats.chi2_contingency)."""
    from scipy.stats import chi2_contingency

    ctr = model_ctr(by_model[by_model["variant"].notna()], by=("variant",)).set_index("variant")
    # a conversation's variant is the one of its recommendation cards; it converted if it placed an
    # order at any time (also on another day than the recommendation)
    arm = conv.loc[conv["variant"].notna(), ["conversation_id", "variant"]].drop_duplicates("conversation_id")
    ordered = conv.groupby("conversation_id", sort=False)["order_placed"].sum()
    converted = ordered.reindex(arm["conversation_id"]).to_numpy() > 0
    conversion = pd.Series(converted, index=arm["variant"].to_numpy()).groupby(level=0).agg(["sum", "count"])
    conversion.index.name = "variant"
    out = ctr[["impressions", "clicks", "ctr", "ctr_low", "ctr_high"]].join(
        conversion.rename(columns={"sum": "ordered", "count": "conversations"}), how="outer"
    )
    out = out.fillna({"impressions": 0, "clicks": 0, "ordered": 0, "conversations": 0})
    for column in ("impressions", "clicks", "ordered", "conversations"):
        out[column] = out[column].astype("int64")
    out["conversion"] = _ratio(out["ordered"], out["conversations"])
    bounds = [wilson(k, n) for k, n in zip(out["ordered"], out["conversations"])]
    out["conversion_low"] = [b[0] for b in bounds]
    out["conversion_high"] = [b[1] for b in bounds]
    out.attrs["ctr_p_value"] = _p_value(chi2_contingency, out["clicks"], out["impressions"])
    out.attrs["conversion_p_value"] = _p_value(chi2_contingency, out["ordered"], out["conversations"])
    return out.reset_index()


def _p_value(test, successes: pd.Series, trials: pd.Series) -> float:
    table = [[int(k), int(n - k)] for k, n in zip(successes, trials) if n > 0]
    if len(table) < 2 or any(sum(col) == 0 for col in zip(*table)):
        return math.nan
    return float(test(table).pvalue)


@dataclass
class Report:
    """Everything `daogou analytics report` and the staff API show."""

    totals: pd.DataFrame  # one row
    daily: pd.DataFrame  # day × channel × language
    by_day: pd.DataFrame
    by_channel: pd.DataFrame
    by_language: pd.DataFrame
    models: pd.DataFrame
    variants: pd.DataFrame

    def as_dict(self) -> dict[str, Any]:
        def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
            return [
                {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
                for row in frame.astype(object).to_dict("records")
            ]

        return {
            "totals": records(self.totals)[0] if len(self.totals) else {},
            "daily": records(self.daily),
            "by_day": records(self.by_day),
            "by_channel": records(self.by_channel),
            "by_language": records(self.by_language),
            "models": records(self.models),
            "variants": records(self.variants),
            "variant_tests": {
                "ctr_p_value": _none_if_nan(self.variants.attrs.get("ctr_p_value")),
                "conversion_p_value": _none_if_nan(self.variants.attrs.get("conversion_p_value")),
            },
        }


def _none_if_nan(value: Any) -> Any:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else value


def build_report(conv: pd.DataFrame, by_model: pd.DataFrame) -> Report:
    return Report(
        totals=summarise_total(conv),
        daily=summarise(conv),
        by_day=summarise(conv, by=["day"]),
        by_channel=summarise(conv, by=["channel"]),
        by_language=summarise(conv, by=["language"]),
        models=model_ctr(by_model),
        variants=variants(conv, by_model),
    )


def report(engine: Engine, since: datetime | None = None, until: datetime | None = None) -> Report:
    return build_report(*read_aggregates(engine, since, until))


# --- plots --------------------------------------------------------------------------------------------
def plot(rep: Report, directory: Path) -> list[Path]:
    """PNG figures: daily funnel and click-through, model click-through, variants with intervals."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    day = rep.by_day
    fig, axes = plt.subplots(2, 1, figsize=(9, 6.5), sharex=True)
    for column, label in (
        ("ctr", "click-through"),
        ("shown_to_cart", "shown → cart"),
        ("shown_to_order", "shown → order"),
    ):
        axes[0].plot(pd.to_datetime(day["day"]), day[column], marker=".", label=label)
    axes[0].set_ylabel("share")
    axes[0].legend()
    axes[0].set_title("Assistant funnel by day")
    axes[1].bar(pd.to_datetime(day["day"]), day["revenue"], color="#4c72b0")
    axes[1].set_ylabel("revenue from assistant orders (USD)")
    fig.autofmt_xdate()
    fig.tight_layout()
    paths.append(directory / "assistant_daily.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, (column, low, high, title) in zip(
        axes,
        (
            ("ctr", "ctr_low", "ctr_high", "recommendation click-through"),
            ("conversion", "conversion_low", "conversion_high", "shown recommendations → order"),
        ),
    ):
        v = rep.variants
        ax.bar(
            v["variant"],
            v[column],
            yerr=[v[column] - v[low], v[high] - v[column]],
            capsize=6,
            color="#55a868",
        )
        ax.set_title(f"{title} (95% CI)")
    fig.tight_layout()
    paths.append(directory / "assistant_variants.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(9, 4))
    m = rep.models.sort_values("ctr")
    ax.barh(
        m["model"].astype(str), m["ctr"], xerr=[m["ctr"] - m["ctr_low"], m["ctr_high"] - m["ctr"]], capsize=4
    )
    ax.set_xlabel("click-through (95% CI)")
    ax.set_title("Click-through by model")
    fig.tight_layout()
    paths.append(directory / "assistant_models.png")
    fig.savefig(paths[-1], dpi=110)
    plt.close(fig)
    return paths
