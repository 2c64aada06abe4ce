"""Fixture `shop`: the actions against a real order service (the FastAPI app over a fresh SQLite database
holding a small hand-made shop, reached by the real OrderServiceClient through httpx.ASGITransport) and a
real product graph built from the same products; journals go to a temp STATE_DIR."""

from __future__ import annotations

import httpx
import pytest

from actions import services
from daogou.config import get_settings
from demo import shop as demo
from knowledge_graph import store as kg
from order_service.client import OrderServiceClient
from order_service.core.config import get_settings as service_settings
from order_service.core.db import make_engine
from order_service.core.migrate import upgrade
from order_service.main import create_app
from tests.actions.action_harness import CATEGORIES, PRODUCTS, SERVICE_TOKEN, STORES, Shop


@pytest.fixture
async def shop(tmp_path, monkeypatch):
    monkeypatch.setenv("STATE_DIR", str(tmp_path / "state"))
    get_settings.cache_clear()
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    upgrade(url)
    engine = make_engine(url, pool_size=5)
    demo.load(engine, PRODUCTS, STORES)
    settings = service_settings().model_copy(
        update={"service_token": SERVICE_TOKEN, "low_stock_threshold": 3}
    )
    app = create_app(settings, engine, sweeper=False)
    client = OrderServiceClient(
        "http://orders.test", SERVICE_TOKEN, retries=0, transport=httpx.ASGITransport(app=app)
    )
    monkeypatch.setattr(services, "orders", lambda: client)
    monkeypatch.setattr(services, "_UNAVAILABLE", None)  # stock snapshots belong to one shop
    previous = kg._current
    # no background refresh during the test: a refresher started by an earlier test's real graph
    # would see the database differ from this hand-made graph and swap the real one back in
    monkeypatch.setattr(kg, "_refresher", None)
    kg.set_graph(kg.build_graph(PRODUCTS, CATEGORIES))
    try:
        yield Shop(engine, client)
    finally:
        kg.set_graph(previous)
        await client.aclose()
        engine.dispose()
        get_settings.cache_clear()
