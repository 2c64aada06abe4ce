"""A small, hand-made shop (so tests do not depend on the demo generator's dice) on SQLite or on the
real PostgreSQL: every fixture built on `db_url` runs the test once per database."""

from __future__ import annotations

import contextlib
import itertools
import uuid

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy import select

from catalog.models import Product, Store
from demo import shop as demo
from order_service.core.config import get_settings
from order_service.core.db import make_engine, make_sessionmaker
from order_service.core.migrate import upgrade
from order_service.main import create_app
from order_service.models import StockLevel
from order_service.services import stock

SERVICE_TOKEN = "test-service-token"
HOURS = {d: ("10:00", "21:00") for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}

# Minneapolis area (three big boxes, one kiosk, one mobile store) and one store far away in Seattle.
STORES = [
    Store(
        1000,
        "BigBox",
        "Mall of America",
        "340 W Market",
        "Bloomington",
        "MN",
        "55425",
        44.85466,
        -93.24565,
        "",
        HOURS,
        ("Geek Squad Services",),
    ),
    Store(
        7,
        "BigBox",
        "Roseville",
        "1643 County Road B2",
        "Roseville",
        "MN",
        "55113",
        45.0125,
        -93.1649,
        "",
        HOURS,
        (),
    ),
    Store(
        281,
        "BigBox",
        "Richfield",
        "1000 W 78th St",
        "Richfield",
        "MN",
        "55423",
        44.8631,
        -93.2917,
        "",
        HOURS,
        (),
    ),
    Store(
        8108,
        "Express",
        "MSP Airport",
        "Terminal 1",
        "Saint Paul",
        "MN",
        "55111",
        44.8820,
        -93.2218,
        "",
        HOURS,
        (),
    ),
    Store(
        2001,
        "Mobile",
        "Rosedale Mobile",
        "10 Rosedale Ctr",
        "Roseville",
        "MN",
        "55113",
        45.0130,
        -93.1700,
        "",
        HOURS,
        (),
    ),
    Store(
        498,
        "BigBox",
        "Northgate",
        "302 NE Northgate Way",
        "Seattle",
        "WA",
        "98125",
        47.7060,
        -122.3250,
        "",
        {},
        (),
    ),
]
PRODUCTS = [
    Product("SKU-CPU", "Ryzen 7 test CPU", "AMD", 299.99, "cat1", "cpu", {}),
    Product("SKU-RAM", "DDR5 32 GB kit", "Corsair", 89.5, "cat2", "memory", {}),
    Product("SKU-HP", "Wireless headphones", "Sony", 19.99, "cat3", "headphones", {}),
    Product("SKU-GPU", "GeForce test card", "ASUS", 599.0, "cat4", "video-card", {}),
]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'orders.db'}"
    return request.getfixturevalue("postgres_url")


@contextlib.contextmanager
def module_postgres():
    """A fresh PostgreSQL database that lives as long as the block (for module-scoped fixtures; the
    shared `postgres_url` fixture is per test)."""
    from tests.conftest import POSTGRES_ADMIN_URL, _need

    _need("PostgreSQL", "127.0.0.1", 5432)
    name = f"daogou_fuzz_{uuid.uuid4().hex[:10]}"
    admin = sa.create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield f"{POSTGRES_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def sqlite_url(tmp_path):
    return f"sqlite:///{tmp_path / 'orders.db'}"


def build_shop(url: str):
    upgrade(url)
    engine = make_engine(url, pool_size=5)
    demo.load(engine, PRODUCTS, STORES)
    return engine


@pytest.fixture
def engine(db_url):
    engine = build_shop(db_url)
    yield engine
    engine.dispose()


def set_stock(engine, location_id: int, sku: str, quantity: int) -> None:
    """Bring a level to `quantity` with an adjustment in the ledger (as a stock count would)."""
    with make_sessionmaker(engine)() as session:
        current = (
            session.scalar(
                select(StockLevel.on_hand).where(StockLevel.location_id == location_id, StockLevel.sku == sku)
            )
            or 0
        )
        if quantity != current:
            stock.move(
                session,
                location_id=location_id,
                sku=sku,
                quantity=quantity - current,
                kind="adjustment",
                note="test setup",
            )
        session.commit()


def level(engine, location_id: int, sku: str) -> tuple[int, int]:
    with make_sessionmaker(engine)() as session:
        row = session.execute(
            select(StockLevel.on_hand, StockLevel.reserved).where(
                StockLevel.location_id == location_id, StockLevel.sku == sku
            )
        ).first()
        return (row[0], row[1]) if row else (0, 0)


@pytest.fixture
def settings():
    return get_settings().model_copy(update={"service_token": SERVICE_TOKEN, "low_stock_threshold": 3})


@pytest.fixture
def app(engine, settings):
    return create_app(settings, engine, sweeper=False)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def service() -> dict[str, str]:
    return {"Authorization": f"Bearer {SERVICE_TOKEN}"}


def customer(customer_id: str = "cust-alice") -> dict[str, str]:
    return {**service(), "X-Customer-Id": customer_id}


def staff_headers(client: TestClient, username: str) -> dict[str, str]:
    password = demo.DEMO_PASSWORDS["associate" if username.startswith("assoc-") else username]
    response = client.post("/auth/staff/token", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


_keys = itertools.count()


def order_body(sku: str = "SKU-CPU", quantity: int = 1, *, store_id: int | None = None) -> dict:
    if store_id is not None:
        return {"lines": [{"sku": sku, "quantity": quantity}], "fulfilment": "pickup", "store_id": store_id}
    return {
        "lines": [{"sku": sku, "quantity": quantity}],
        "fulfilment": "delivery",
        "delivery_address": "1 Main Street, Springfield",
    }


def place(client: TestClient, who: str = "cust-alice", key: str | None = None, **kw) -> dict:
    headers = {**customer(who), "Idempotency-Key": key or f"key-{next(_keys)}"}
    response = client.post("/orders", json=order_body(**kw), headers=headers)
    assert response.status_code == 201, response.text
    return response.json()
