"""The effectiveness report against an independent pandas recomputation from the raw events
(benchmarks.analytics.recompute shares no code with it), on SQLite and PostgreSQL; the staff API, the
`daogou analytics` command and the demo events."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from benchmarks.analytics import compare, read_events, recompute
from demo import shop as demo
from demo.events import generate, insert_events, load_for_demo_shop
from order_service.analytics_cli import app as analytics_cli
from order_service.core.config import get_settings
from order_service.core.migrate import upgrade
from order_service.effectiveness import report, wilson
from order_service.main import create_app
from tests.order_service.conftest import PRODUCTS, STORES

END = datetime(2026, 11, 30, tzinfo=UTC)
SKUS = [(f"SKU-{i:03d}", 10.0 + 7.5 * i) for i in range(120)]
CUSTOMERS = [f"cust-{i}" for i in range(150)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def events_db(request, tmp_path):
    url = (
        f"sqlite:///{tmp_path / 'events.db'}"
        if request.param == "sqlite"
        else request.getfixturevalue("postgres_url")
    )
    upgrade(url)
    engine = sa.create_engine(url)
    insert_events(engine, generate(400, SKUS, CUSTOMERS, end=END, days=10))
    yield engine
    engine.dispose()


def test_report_equals_an_independent_recomputation(events_db):
    rep = report(events_db)
    assert compare(rep, recompute(read_events(events_db))) == []
    assert len(rep.by_day) >= 10 and set(rep.variants["variant"]) == {"A", "B"}


def test_a_period_keeps_only_its_events(events_db):
    since, until = END - timedelta(days=4), END - timedelta(days=1)
    rep = report(events_db, since, until)
    events = read_events(events_db)
    at = pd.to_datetime(events["at"], utc=True)
    inside = events[(at >= since) & (at < until)]
    assert compare(rep, recompute(inside)) == []


@pytest.mark.parametrize("k,n", [(0, 10), (3, 40), (57, 600), (600, 600)])
def test_wilson_interval_is_the_textbook_formula(k, n):
    z = 1.959963984540054  # the 97.5% normal quantile
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low, high = wilson(k, n)
    assert low == pytest.approx(max(0.0, centre - half), abs=1e-9)
    assert high == pytest.approx(min(1.0, centre + half), abs=1e-9)


def test_staff_api_managers_only(tmp_path):
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade(url)
    engine = sa.create_engine(url)
    demo.load(engine, PRODUCTS, STORES)
    insert_events(engine, generate(150, SKUS, CUSTOMERS, end=END, days=5))
    app = create_app(get_settings().model_copy(update={"service_token": "svc"}), engine, sweeper=False)
    with TestClient(app) as http:

        def login(user: str) -> dict:
            password = demo.DEMO_PASSWORDS["associate" if user.startswith("assoc-") else user]
            token = http.post("/auth/staff/token", json={"username": user, "password": password}).json()
            return {"Authorization": f"Bearer {token['access_token']}"}

        associate = next(u for u in demo_usernames(engine) if u.startswith("assoc-"))
        assert http.get("/staff/analytics/assistant", headers=login(associate)).status_code == 403
        assert (
            http.get("/staff/analytics/assistant", headers={"Authorization": "Bearer svc"}).status_code == 403
        )
        got = http.get("/staff/analytics/assistant", headers=login("manager"))
        assert got.status_code == 200, got.text
        naive = http.get(
            "/staff/analytics/assistant", params={"since": "2026-11-01T00:00:00"}, headers=login("manager")
        )
        assert naive.status_code == 422
    want = recompute(read_events(engine))["totals"].iloc[0]
    totals = got.json()["totals"]
    for key in ("conversations", "impressions", "clicks", "ordered", "ratings"):
        assert totals[key] == want[key]
    assert totals["revenue"] == pytest.approx(want["revenue"])
    engine.dispose()


def demo_usernames(engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.scalars(sa.text("SELECT username FROM staff_users ORDER BY username")))


def test_cli_report_prints_tables_and_writes_plots(tmp_path):
    url = f"sqlite:///{tmp_path / 'events.db'}"
    upgrade(url)
    engine = sa.create_engine(url)
    now = datetime.now(UTC)
    insert_events(engine, generate(200, SKUS, CUSTOMERS, end=now, days=7))
    engine.dispose()
    out = CliRunner().invoke(
        analytics_cli, ["report", "--url", url, "--days", "10", "--figures", str(tmp_path / "png")]
    )
    assert out.exit_code == 0, out.output
    for title in ("totals", "by channel", "by language", "click-through by model", "recommendation variants"):
        assert title in out.output
    pngs = sorted(p.name for p in (tmp_path / "png").glob("*.png"))
    assert pngs == ["assistant_daily.png", "assistant_models.png", "assistant_variants.png"]
    assert all((tmp_path / "png" / p).stat().st_size > 5000 for p in pngs)


def test_demo_events_are_seeded_and_loaded_once(tmp_path):
    a = list(generate(30, SKUS, CUSTOMERS, end=END, seed=7))
    b = list(generate(30, SKUS, CUSTOMERS, end=END, seed=7))
    c = list(generate(30, SKUS, CUSTOMERS, end=END, seed=8))
    assert a == b and a != c
    url = f"sqlite:///{tmp_path / 'shop.db'}"
    upgrade(url)
    engine = sa.create_engine(url)
    demo.load(engine, PRODUCTS, STORES)
    added, _ = load_for_demo_shop(engine, 50)
    again, _ = load_for_demo_shop(engine, 50)
    assert added > 50 * 5 and again == 0
    events = read_events(engine)
    assert set(events["sku"].dropna()) <= {p.sku for p in PRODUCTS}
    assert set(events["type"]) >= {"impression", "click", "add_to_cart", "order_placed", "rating"}
    engine.dispose()
