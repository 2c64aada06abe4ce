"""Helpers of the action tests: the hand-made shop (stores, products), trackers as the action server
receives them, and running an action to collect its messages and events (fixture `shop`: conftest.py)."""

from __future__ import annotations

import time
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from sqlalchemy import select

from catalog.models import Category, Product, Store
from demo import shop as demo
from order_service.client import OrderServiceClient
from order_service.core.db import make_sessionmaker
from order_service.models import StockLevel
from order_service.services import stock

SERVICE_TOKEN = "actions-test-token"
HOURS = {d: ("10:00", "21:00") for d in ("mon", "tue", "wed", "thu", "fri", "sat")} | {"sun": None}
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
        (),
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
        HOURS,
        (),
    ),
]
CATEGORIES = {
    "cat1": Category("cat1", "Computer parts", None, ("cat1",)),
    "cat2": Category("cat2", "Headphones", None, ("cat2",)),
}
PRODUCTS = [
    Product("SKU-CPU", "Ryzen 7 test CPU", "AMD", 299.99, "cat1", "cpu", {}),
    Product("SKU-RAM", "DDR5 32 GB kit", "Corsair", 89.5, "cat1", "memory", {}),
    Product("SKU-HP", "Wireless headphones", "Sony", 19.99, "cat2", "headphones", {}),
]
ASSOCIATE = "assoc-7"  # demo.load makes an associate at the lowest-id big-box store of MN: Roseville


class Shop:
    def __init__(self, engine, client: OrderServiceClient):
        self.engine, self.client = engine, client

    def set_stock(self, location_id: int, sku: str, quantity: int) -> None:
        with make_sessionmaker(self.engine)() as session:
            current = (
                session.scalar(
                    select(StockLevel.on_hand).where(
                        StockLevel.location_id == location_id, StockLevel.sku == sku
                    )
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

    async def staff_token(self, username: str = ASSOCIATE) -> str:
        role = "associate" if username.startswith("assoc-") else username
        return (await self.client.staff_login(username, demo.DEMO_PASSWORDS[role])).access_token


def tracker(
    text: str = "",
    intent: str = "",
    entities: list[dict[str, Any]] | None = None,
    slots: dict[str, Any] | None = None,
    metadata: dict[str, Any] | None = None,
    sender_id: str = "web-test-1",
    events: list[dict[str, Any]] | None = None,
    active_loop: str | None = None,
) -> Tracker:
    """A tracker as the action server receives it, its latest user message last in the events."""
    latest = {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities or []}
    user = {
        "event": "user",
        "timestamp": time.time(),
        "text": text,
        "parse_data": latest,
        "metadata": metadata or {},
        "input_channel": "rest",
    }
    return Tracker(
        sender_id,
        dict(slots or {}),
        latest,
        [*(events or []), user],
        False,
        None,
        {"name": active_loop} if active_loop else {},
        "action_listen",
    )


def ent(entity: str, value: Any, role: str | None = None) -> dict[str, Any]:
    e = {"entity": entity, "value": value}
    if role:
        e["role"] = role
    return e


async def run(action, t: Tracker) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The messages the action sent and the events it returned."""
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, t, {})
    return dispatcher.messages, events


def responses(messages: list[dict[str, Any]]) -> list[str]:
    return [m.get("response") for m in messages]


def slots_of(events: list[dict[str, Any]]) -> dict[str, Any]:
    return {e["name"]: e["value"] for e in events if e.get("event") == "slot"}
