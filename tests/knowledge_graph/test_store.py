"""The graph follows the order database's catalogue (new products, price changes) without a restart."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest

import catalog
from knowledge_graph import sources, store
from knowledge_graph.graph import build_graph


@pytest.fixture
def order_db(tmp_path):
    sa = pytest.importorskip("sqlalchemy")
    models = pytest.importorskip("order_service.models")
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    engine = sa.create_engine(url)
    models.Base.metadata.create_all(engine)
    yield url, engine, models
    engine.dispose()


def test_rows_from_the_order_database_drive_the_graph(order_db):
    url, engine, models = order_db
    from sqlalchemy.orm import Session

    files = catalog.load_products()
    cpu = next(p for p in files if p.name == "AMD Ryzen 7 9800X3D")
    board = next(p for p in files if p.name == "Asus PRIME B650-PLUS WIFI")
    with Session(engine) as session, session.begin():
        session.add(
            models.Product(
                sku=cpu.sku,
                name=cpu.name,
                brand=cpu.brand,
                price=Decimal("399.00"),
                category_id=cpu.category_id,
                part_type="cpu",
            )
        )
        session.add(
            models.Product(
                sku=board.sku,
                name=board.name,
                brand=board.brand,
                price=Decimal(str(board.price)),
                category_id=board.category_id,
                part_type="motherboard",
            )
        )
        session.add(
            models.Product(
                sku="NEW-1",
                name="Daogou Test Cable",
                brand="",
                price=Decimal("5.00"),
                category_id=None,
                part_type=None,
            )
        )
    rows = sources.database_rows(url)
    assert {r.sku for r in rows} == {cpu.sku, board.sku, "NEW-1"}
    merged = sources.merge(files, rows)
    graph = build_graph(merged, catalog.load_categories())
    assert graph.products[cpu.sku].price == 399.0  # the database's price wins
    assert graph.products[cpu.sku].attributes["socket"] == "AM5"  # attributes come from the files
    assert graph.products["NEW-1"].brand is None and graph.products["NEW-1"].category_id == "abcat0500000"
    assert len(graph.products) == 3  # only what the database sells
    before = sources.rows_fingerprint(rows)
    with Session(engine) as session, session.begin():
        session.get(models.Product, cpu.sku).price = Decimal("389.00")
    assert sources.rows_fingerprint(sources.database_rows(url)) != before


def test_unreadable_database_means_files(tmp_path):
    assert sources.database_rows(f"sqlite:///{tmp_path / 'empty.db'}") is None


def test_refresher_checks_at_most_once_per_interval(monkeypatch):
    calls = []
    done = threading.Event()

    def fake_run(self, fingerprint):
        calls.append(fingerprint)
        self._running.release()
        done.set()

    monkeypatch.setattr(store.Refresher, "_run", fake_run)
    refresher = store.Refresher(interval_s=60)
    refresher._last -= 120  # the interval has passed
    refresher.maybe_start("abc")
    assert done.wait(2)
    refresher.maybe_start("abc")  # within the interval: no second check
    assert calls == ["abc"]
    store.Refresher(interval_s=0).maybe_start("abc")
    assert calls == ["abc"]


def test_price_change_reaches_the_running_graph(order_db, tmp_path, monkeypatch):
    """The action server's refresher sees the database change and swaps in a rebuilt graph."""
    from sqlalchemy.orm import Session

    from daogou.config import get_settings

    url, engine, models = order_db
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("KG_SOURCE", "database")
    get_settings.cache_clear()
    monkeypatch.setattr(store, "_current", None)
    try:
        cpu = next(p for p in catalog.load_products() if p.name == "AMD Ryzen 7 9800X3D")
        with Session(engine) as session, session.begin():
            session.add(
                models.Product(
                    sku=cpu.sku,
                    name=cpu.name,
                    brand=cpu.brand,
                    price=Decimal("399.00"),
                    category_id=cpu.category_id,
                    part_type="cpu",
                )
            )
        running = store.load_graph()
        store.set_graph(running)
        assert (
            len(list((tmp_path / "state" / "kg").glob("import-*.pkl"))) == 1
        )  # the refresh reuses the file import
        with Session(engine) as session, session.begin():
            session.get(models.Product, cpu.sku).price = Decimal("349.00")
        refresher = store.Refresher(interval_s=60)
        refresher._last -= 120
        refresher.maybe_start(running.fingerprint)
        for thread in threading.enumerate():
            if thread.name == "kg-refresh":
                thread.join(60)
        current = store._current
        assert current is not running and current.products[cpu.sku].price == 349.0
        assert running.products[cpu.sku].price == 399.0  # queries in flight kept the old graph
    finally:
        get_settings.cache_clear()
