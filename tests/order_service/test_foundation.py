"""Schema migrations, the `daogou db` commands and the demo generator."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import create_engine, func, select
from typer.testing import CliRunner

import catalog
from demo import shop as demo
from demo.cli import app as demo_cli
from order_service.cli import app as db_cli
from order_service.core.db import make_engine, make_sessionmaker
from order_service.core.migrate import alembic_config, current_revision, upgrade
from order_service.models import WAREHOUSE_ID, Base, Location, StaffUser, StockLevel, StockMovement
from order_service.services import stock
from tests.order_service.conftest import PRODUCTS, STORES


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config("sqlite://")).get_current_head()


def test_migrations_match_the_models(db_url):
    upgrade(db_url)
    engine = create_engine(db_url)
    with engine.connect() as conn:
        assert compare_metadata(MigrationContext.configure(conn), Base.metadata) == []
    engine.dispose()
    assert current_revision(db_url) == head_revision()


def test_cli_upgrade_and_idempotent_load_demo(db_url, monkeypatch):
    monkeypatch.setattr(catalog, "load_products", lambda: PRODUCTS)
    monkeypatch.setattr(catalog, "load_stores", lambda: STORES)
    runner = CliRunner()
    result = runner.invoke(db_cli, ["upgrade", "--url", db_url])
    assert result.exit_code == 0 and f"revision {head_revision()}" in result.output
    first = runner.invoke(demo_cli, ["load-demo", "--url", db_url])
    assert first.exit_code == 0, first.output
    assert (
        f"loaded {len(STORES) + 1} locations" in first.output and f"{len(PRODUCTS)} products" in first.output
    )
    again = runner.invoke(demo_cli, ["load-demo", "--url", db_url])
    assert again.exit_code == 0 and "nothing loaded" in again.output
    forced = runner.invoke(demo_cli, ["load-demo", "--force", "--url", db_url])
    assert forced.exit_code == 0 and "loaded" in forced.output
    engine = make_engine(db_url, pool_size=1)
    with make_sessionmaker(engine)() as session:
        assert session.scalar(select(func.count()).select_from(Location)) == len(STORES) + 1
        assert (
            session.scalar(select(func.count()).select_from(StaffUser)) == 6
        )  # admin, manager, 4 associates
    engine.dispose()
    audit = runner.invoke(db_cli, ["audit", "--url", db_url])
    assert audit.exit_code == 0 and "0 on-hand and 0 reserved mismatches" in audit.output


def test_demo_stock_is_plausible_and_recorded_in_the_ledger(sqlite_url):
    products = [
        catalog.Product(f"SKU-{i}", f"Part {i}", "Brand", 10.0 + i, "cat", pt, {})
        for i, pt in enumerate(["cpu", "memory", "headphones", "mouse", "video-card", None] * 200)
    ]
    upgrade(sqlite_url)
    engine = make_engine(sqlite_url, pool_size=1)
    summary = demo.load(engine, products, STORES)
    with make_sessionmaker(engine)() as session:
        counts = dict(
            session.execute(
                select(StockLevel.location_id, func.count()).group_by(StockLevel.location_id)
            ).all()
        )
        assert counts[WAREHOUSE_ID] == len(products)  # the warehouse carries everything
        assert counts[1000] > 3 * counts[8108]  # big box ≫ express kiosk
        kiosk_types = {
            p.part_type
            for p in products
            if p.sku in set(session.scalars(select(StockLevel.sku).where(StockLevel.location_id == 8108)))
        }
        assert kiosk_types <= {"headphones", "mouse", "memory", None}  # no CPUs or graphics cards in a kiosk
        checked, on_hand_bad, reserved_bad = stock.audit(session)
        assert checked == summary.stock_rows and not on_hand_bad and not reserved_bad
        sales = session.scalar(
            select(func.count()).select_from(StockMovement).where(StockMovement.kind == "sale")
        )
        assert sales > 0
    assert 0 < summary.out_of_stock_rows < summary.stock_rows / 3 and summary.low_rows > 0
    engine.dispose()
    # the same seed makes the same shop
    again = demo.generate_stock(demo.product_rows(products), demo.location_rows(STORES))
    assert again == demo.generate_stock(demo.product_rows(products), demo.location_rows(STORES))


def test_health(client):
    body = client.get("/health").json()
    assert body["status"] == "ok" and body["schema_revision"] == head_revision()
    assert client.get("/openapi.json").status_code == 200 and client.get("/docs").status_code == 200


def test_health_reports_a_dead_database(tmp_path, settings):
    from fastapi.testclient import TestClient

    from order_service.main import create_app

    engine = make_engine(f"sqlite:///{tmp_path / 'missing' / 'x.db'}")
    (tmp_path / "missing").rmdir()  # the directory vanishes: SQLite cannot open the file
    with TestClient(create_app(settings, engine, sweeper=False)) as c:
        r = c.get("/health")
    assert r.status_code == 503 and r.json()["status"] == "unavailable"
