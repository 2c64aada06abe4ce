"""`make bench-analytics` → benchmarks/results/analytics.json (issue 18).

- `event_write_p95_ms`: what recording costs a turn: `actions.events.observe` (read the action
  call, derive its events, queue them; the send happens in the writer thread) on a realistic call,
  a search showing five cards after a button tap, in a 40-turn conversation. Target ≤ 2 ms.
- `report_s_1m_events`: the full report (`order_service.effectiveness.report`: every table, models,
  variants with intervals) over one million generated events (demo/events.py) in a
  fresh database on the PostgreSQL server at 127.0.0.1:5432 (`TEST_POSTGRES_URL`, default database
  `test`, trust auth). Target ≤ 5 s. Skipped, with the reason in the result, when the server is absent.
- `report_matches_recompute`: the report's numbers equal `recompute()` below, an independent pandas
  computation from the raw event rows (it shares no code with the report).
"""

from __future__ import annotations

import json
import math
import os
import socket
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime

import pandas as pd
import sqlalchemy as sa

from benchmarks.common import percentile, write_result

POSTGRES_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
EVENTS = int(os.environ.get("BENCH_ANALYTICS_EVENTS", "1000000"))
END = datetime(2026, 12, 1, tzinfo=UTC)
GROUP = ["day", "channel", "language"]


# --- the independent recomputation ------------------------------------------------------------------
def recompute(events: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The report's tables from raw event rows (columns of assistant_events), by sets of conversations."""
    ev = events.copy()
    ev["day"] = pd.to_datetime(ev["at"], utc=True).dt.strftime("%Y-%m-%d")
    ev["value"] = ev["value"].astype(float)

    def metrics(frame: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
        rows = []
        for key, g in frame.groupby(keys):

            def convs(t: str, g: pd.DataFrame = g) -> set[str]:
                return set(g.loc[g["type"] == t, "conversation_id"])

            def n(t: str, g: pd.DataFrame = g) -> int:
                return int((g["type"] == t).sum())

            shown, carted, ordered = convs("impression"), convs("add_to_cart"), convs("order_placed")
            all_convs = set(g["conversation_id"])
            faq = n("faq_answered") + n("faq_unsure")
            row = dict(zip(keys, key, strict=True))
            row.update(
                conversations=len(all_convs),
                impressions=n("impression"),
                clicks=n("click"),
                ctr=n("click") / n("impression") if n("impression") else math.nan,
                shown=len(shown),
                carted=len(carted),
                ordered=len(ordered),
                shown_to_cart=len(shown & carted) / len(shown) if shown else math.nan,
                shown_to_order=len(shown & ordered) / len(shown) if shown else math.nan,
                cart_to_order=len(carted & ordered) / len(carted) if carted else math.nan,
                orders=n("order_placed"),
                revenue=round(float(g.loc[g["type"] == "order_placed", "value"].sum()), 2),
                containment=1 - len(convs("handoff")) / len(all_convs),
                fallback_rate=len(convs("fallback")) / len(all_convs),
                faq_answers=faq,
                faq_unsure_rate=n("faq_unsure") / faq if faq else math.nan,
                ratings=n("rating"),
                rating_mean=float(g.loc[g["type"] == "rating", "value"].mean()) if n("rating") else math.nan,
            )
            rows.append(row)
        return pd.DataFrame(rows)

    out = {
        "daily": metrics(ev, GROUP),
        "by_day": metrics(ev, ["day"]),
        "by_channel": metrics(ev, ["channel"]),
        "by_language": metrics(ev, ["language"]),
        "totals": metrics(ev.assign(all="all"), ["all"]).drop(columns="all"),
    }
    shown = ev[ev["type"].isin(["impression", "click"]) & ev["model"].notna()]
    models = shown.pivot_table(
        index="model", columns="type", values="conversation_id", aggfunc="count", fill_value=0
    )
    out["models"] = models.rename(columns={"impression": "impressions", "click": "clicks"}).reset_index()
    arms = []
    for variant, g in ev[ev["variant"].notna()].groupby("variant"):
        in_arm = set(g.loc[g["type"] == "impression", "conversation_id"])
        ordered = in_arm & set(ev.loc[ev["type"] == "order_placed", "conversation_id"])
        arms.append(
            {
                "variant": variant,
                "impressions": int((g["type"] == "impression").sum()),
                "clicks": int((g["type"] == "click").sum()),
                "conversations": len(in_arm),
                "ordered": len(ordered),
            }
        )
    out["variants"] = pd.DataFrame(arms)
    return out


def compare(report, expected: dict[str, pd.DataFrame]) -> list[str]:
    """Differences between the report and the recomputation (empty: they agree)."""
    problems = []
    tables = {
        "daily": (report.daily, GROUP),
        "by_day": (report.by_day, ["day"]),
        "by_channel": (report.by_channel, ["channel"]),
        "by_language": (report.by_language, ["language"]),
        "totals": (report.totals, []),
        "models": (report.models, ["model"]),
        "variants": (report.variants, ["variant"]),
    }
    for name, (got, keys) in tables.items():
        want = expected[name]
        columns = [c for c in want.columns if c not in keys]
        got_sorted = got.sort_values(keys).reset_index(drop=True) if keys else got.reset_index(drop=True)
        want_sorted = want.sort_values(keys).reset_index(drop=True) if keys else want.reset_index(drop=True)
        if len(got_sorted) != len(want_sorted):
            problems.append(f"{name}: {len(got_sorted)} rows, expected {len(want_sorted)}")
            continue
        for key in keys:
            if list(got_sorted[key].astype(str)) != list(want_sorted[key].astype(str)):
                problems.append(f"{name}: groups differ in {key}")
        for column in columns:
            a = pd.to_numeric(got_sorted[column], errors="coerce").astype(float)
            b = pd.to_numeric(want_sorted[column], errors="coerce").astype(float)
            same = ((a - b).abs() <= 1e-9 * b.abs().clip(lower=1)) | (a.isna() & b.isna())
            if not same.all():
                i = int((~same).idxmax())
                problems.append(f"{name}.{column} row {i}: report {a[i]} vs recompute {b[i]}")
    return problems


def read_events(engine: sa.Engine) -> pd.DataFrame:
    columns = "at, conversation_id, customer_id, channel, language, type, sku, model, variant, value"
    with engine.connect() as conn:
        result = conn.execute(sa.text(f"SELECT {columns} FROM assistant_events"))
        return pd.DataFrame(result.all(), columns=list(result.keys()))


# --- measurements ------------------------------------------------------------------------------------
def event_write_samples(n: int = 2000, clock=time.perf_counter) -> list[float]:
    """Seconds per observe() call, by wall clock (default) or `time.thread_time` (CPU of this thread:
    what recording costs, without the waits of a machine shared with other work)."""
    from actions import events as recording
    from tests.actions.action_harness import ent, tracker

    recording.WRITER = recording.EventWriter(lambda batch: None, interval_s=0.05)
    cards = {"type": "product_cards", "products": [{"sku": f"SKU-{i}"} for i in range(5)]}
    history = []
    for i in range(40):
        history += [
            {"event": "user", "text": f"message {i}", "parse_data": {}},
            {"event": "action", "name": "action_search_products"},
            {"event": "bot", "text": "here", "data": {"custom": cards}},
        ]
    t = tracker(
        "/product_details" + json.dumps({"sku": "SKU-3"}),
        "product_details",
        [ent("sku", "SKU-3")],
        events=history,
    )
    call = {"next_action": "action_search_products", "tracker": t.current_state(), "domain": {}}
    responses = [{"custom": cards, "text": "here", "response": None}]
    samples = []
    for _ in range(n):
        start = clock()
        recording.observe(call, [], responses)
        samples.append(clock() - start)
    recording.WRITER.flush(5)
    return samples


def _postgres_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def report_on(url: str, n_events: int) -> dict:
    from demo.events import generate, insert_events
    from order_service.core.migrate import upgrade
    from order_service.effectiveness import report

    upgrade(url)
    engine = sa.create_engine(url)
    skus = [(f"SKU-{i:05d}", round(20 + (i * 37) % 900 + 0.99, 2)) for i in range(3000)]
    customers = [f"cust-{i:05d}" for i in range(20000)]
    per_conversation = 12.5  # about, from the generator's rates; the row count is what is reported
    started = time.perf_counter()
    rows = insert_events(
        engine, _take(generate(int(n_events / per_conversation) + 1, skus, customers, end=END), n_events)
    )
    load_s = time.perf_counter() - started
    with engine.begin() as conn:  # what autovacuum does to a live table; the planner needs the statistics
        conn.exec_driver_sql("ANALYZE assistant_events")
    timings = []
    for _ in range(3):
        started = time.perf_counter()
        rep = report(engine)
        timings.append(time.perf_counter() - started)
    started = time.perf_counter()
    problems = compare(rep, recompute(read_events(engine)))
    recompute_s = time.perf_counter() - started
    engine.dispose()
    return {
        "events": rows,
        "load_s": round(load_s, 1),
        "report_s_runs": [round(t, 3) for t in timings],
        "report_s": round(statistics.median(timings), 3),
        "recompute_s": round(recompute_s, 1),
        "problems": problems[:20],
        "totals": {
            k: (None if isinstance(v, float) and math.isnan(v) else v)
            for k, v in rep.as_dict()["totals"].items()
        },
        "variants": rep.as_dict()["variants"],
        "variant_tests": rep.as_dict()["variant_tests"],
    }


def _take(rows, n):
    for i, row in enumerate(rows):
        if i >= n:
            return
        yield row


def main() -> None:
    samples = event_write_samples()
    metrics: dict = {"event_write_p95_ms": round(percentile([s * 1000 for s in samples], 95), 4)}
    details: dict = {
        "event_write": {
            "method": __doc__.split("\n\n")[1].strip(),
            "p50_ms": round(statistics.median(samples) * 1000, 4),
            "n": len(samples),
        },
        "load_average": os.getloadavg(),
    }
    if _postgres_up():
        name = f"daogou_bench_analytics_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            pg = report_on(f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}", EVENTS)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
        metrics["report_s_1m_events"] = pg["report_s"]
        metrics["report_matches_recompute"] = not pg["problems"]
        details["postgres"] = pg
    else:
        reason = "PostgreSQL is not reachable at 127.0.0.1:5432: report_s_1m_events not measured"
        print(f"SKIPPED: {reason}", file=sys.stderr)
        details["skipped"] = reason
        with tempfile.TemporaryDirectory() as tmp:
            small = report_on(f"sqlite:///{tmp}/events.db", 50_000)
        metrics["report_matches_recompute"] = not small["problems"]
        details["sqlite_50k"] = small
    details["load_average_after"] = os.getloadavg()
    write_result("analytics", metrics, details)


if __name__ == "__main__":
    main()
