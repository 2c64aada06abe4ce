"""Hand-over (journal + pause), feedback, and the staff tools with their two locks."""

from __future__ import annotations

import json
from datetime import UTC, timedelta

import pytest

from actions import handoff
from actions.feedback import ActionSaveFeedback
from actions.handoff import ActionHandoff
from actions.journal import journal_path
from actions.staff import ActionStaffLowStock, ActionStaffPickupOrders, ActionStaffStock, ActionStaffTransfers
from catalog.bestbuy import DAYS
from tests.actions.action_harness import ASSOCIATE, ent, responses, run, tracker
from tests.actions.test_handoff_hours import a_store_open_two_days_running, local_moment

HISTORY = [
    {"event": "user", "timestamp": 1_763_770_000.0, "text": "is the RTX in stock?"},
    {"event": "bot", "timestamp": 1_763_770_001.0, "text": "Yes, at Richfield."},
]


@pytest.fixture(autouse=True)
def stores_open(monkeypatch):
    """Hand-overs during opening hours (tests/actions/test_handoff_hours.py is about the hours)."""
    store, weekday = a_store_open_two_days_running()
    during = local_moment(store, weekday, store.hours[DAYS[weekday]][0]) + timedelta(hours=1)
    monkeypatch.setattr(handoff, "utcnow", lambda: during.astimezone(UTC))


async def test_handoff_writes_the_transcript_and_pauses(shop):
    messages, events = await run(
        ActionHandoff(),
        tracker("转人工", "request_human", events=HISTORY, slots={"cart": [{"sku": "SKU-HP", "qty": 1}]}),
    )
    assert responses(messages) == ["utter_handoff"]
    assert [e["event"] for e in events] == ["pause"]
    records = [json.loads(line) for line in journal_path("handoff").read_text().splitlines()]
    assert len(records) == 1
    record = records[0]
    assert record["sender_id"] == "web-test-1" and record["language"] == "zh"
    assert [t["text"] for t in record["transcript"]] == [
        "is the RTX in stock?",
        "Yes, at Richfield.",
        "转人工",
    ]
    assert record["cart"] == [{"sku": "SKU-HP", "qty": 1}]


async def test_handoff_posts_to_the_configured_url_when_it_answers(shop, monkeypatch):
    import httpx

    from daogou.config import get_settings

    received = []

    def handler(request: httpx.Request) -> httpx.Response:
        received.append(json.loads(request.content))
        return httpx.Response(204)

    real_client = httpx.AsyncClient
    monkeypatch.setenv("HANDOFF_URL", "http://helpdesk.test/handoff")
    get_settings.cache_clear()
    monkeypatch.setattr(
        httpx, "AsyncClient", lambda **kw: real_client(transport=httpx.MockTransport(handler), **kw)
    )
    messages, events = await run(ActionHandoff(), tracker("human please", "request_human"))
    assert responses(messages) == ["utter_handoff"] and events[0]["event"] == "pause"
    assert received and received[0]["transcript"][-1]["text"] == "human please"
    assert not journal_path("handoff").exists()


async def test_feedback_rating_is_kept(shop):
    messages, _ = await run(ActionSaveFeedback(), tracker("great", "rate"))
    assert responses(messages) == ["utter_ask_feedback"]
    messages, _ = await run(
        ActionSaveFeedback(), tracker("5 stars!", "rate", [ent("rating", "5")], slots={"order_id": 12.0})
    )
    assert responses(messages) == ["utter_feedback_thanks"]
    messages, _ = await run(ActionSaveFeedback(), tracker("两星", "rate", [ent("rating", "2")]))
    assert responses(messages) == ["utter_feedback_sorry"]
    records = [json.loads(line) for line in journal_path("feedback").read_text().splitlines()]
    assert [(r["rating"], r["order_id"], r["language"]) for r in records] == [
        (5, 12.0, "en"),
        (2, None, "zh"),
    ]


async def test_staff_tools_refuse_shoppers_in_the_action_and_in_the_service(shop):
    for action in (
        ActionStaffStock(),
        ActionStaffLowStock(),
        ActionStaffTransfers(),
        ActionStaffPickupOrders(),
    ):
        messages, _ = await run(
            action,
            tracker(
                "low stock",
                "staff_low_stock",
                [ent("sku", "SKU-CPU")],
                metadata={"customer_id": "cust-alice"},
            ),
        )
        assert responses(messages) == ["utter_staff_only"]
        forged = {"staff": {"token": "made-up", "store_id": 7}}
        messages, _ = await run(
            action, tracker("low stock", "staff_low_stock", [ent("sku", "SKU-CPU")], metadata=forged)
        )
        assert responses(messages) == ["utter_staff_only"]


async def test_staff_stock_here_nearby_everywhere(shop):
    token = await shop.staff_token(ASSOCIATE)
    staff = {"staff": {"token": token}}
    shop.set_stock(7, "SKU-CPU", 4)
    shop.set_stock(281, "SKU-CPU", 9)
    shop.set_stock(1000, "SKU-CPU", 0)
    shop.set_stock(498, "SKU-CPU", 2)
    messages, _ = await run(
        ActionStaffStock(),
        tracker("stock of SKU-CPU here", "staff_stock", [ent("sku", "sku-cpu")], metadata=staff),
    )
    assert responses(messages) == ["utter_staff_stock_here"]
    assert (messages[0]["store"], messages[0]["available"], messages[0]["on_hand"]) == ("Roseville", 4, 4)

    messages, _ = await run(
        ActionStaffStock(),
        tracker(
            "附近门店SKU-CPU的库存",
            "staff_stock",
            [ent("sku", "SKU-CPU"), ent("stock_scope", "nearby")],
            metadata=staff,
        ),
    )
    assert responses(messages) == ["utter_staff_stock_nearby"]
    assert "Richfield" in messages[0]["lines"] and "Mall of America" not in messages[0]["lines"]

    messages, _ = await run(
        ActionStaffStock(),
        tracker(
            "SKU-CPU everywhere",
            "staff_stock",
            [ent("sku", "SKU-CPU"), ent("stock_scope", "everywhere")],
            metadata=staff,
        ),
    )
    assert responses(messages) == ["utter_staff_stock_everywhere"] and "Northgate" in messages[0]["lines"]

    messages, _ = await run(ActionStaffStock(), tracker("stock?", "staff_stock", metadata=staff))
    assert responses(messages) == ["utter_staff_ask_sku"]
    messages, _ = await run(
        ActionStaffStock(), tracker("stock of NOPE-1", "staff_stock", [ent("sku", "NOPE-1")], metadata=staff)
    )
    assert responses(messages) == ["utter_staff_unknown_sku"]


async def test_staff_low_stock_transfers_and_pickups(shop):
    token = await shop.staff_token(ASSOCIATE)
    staff = {"staff": {"token": token}}
    shop.set_stock(7, "SKU-RAM", 1)
    shop.set_stock(7, "SKU-CPU", 8)
    shop.set_stock(281, "SKU-RAM", 40)
    messages, _ = await run(ActionStaffLowStock(), tracker("low stock", "staff_low_stock", metadata=staff))
    assert (
        responses(messages) == ["utter_staff_low_stock"]
        and "DDR5 32 GB kit (SKU-RAM): 1 / 1" in messages[0]["lines"]
    )

    messages, _ = await run(
        ActionStaffTransfers(), tracker("transfers", "staff_transfer_suggestions", metadata=staff)
    )
    assert responses(messages)[0] in ("utter_staff_transfers", "utter_staff_transfers_none")
    suggestions = await shop.client.transfer_suggestions(7, token)
    assert (responses(messages)[0] == "utter_staff_transfers") == bool(suggestions)
    for s in suggestions:
        assert f"{s.quantity} × {s.name} ({s.sku}) ← {s.from_name}" in messages[0]["lines"]

    messages, _ = await run(
        ActionStaffPickupOrders(), tracker("pickups today", "staff_pickup_orders", metadata=staff)
    )
    assert responses(messages) == ["utter_staff_pickups_none"]
    order = await shop.client.create_order("cust-alice", [("SKU-CPU", 1)], fulfilment="pickup", store_id=7)
    await shop.client.confirm_order("cust-alice", order.id)
    elsewhere = await shop.client.create_order(
        "cust-bob", [("SKU-RAM", 1)], fulfilment="pickup", store_id=281
    )
    await shop.client.confirm_order("cust-bob", elsewhere.id)
    messages, _ = await run(
        ActionStaffPickupOrders(), tracker("今天的自提订单", "staff_pickup_orders", metadata=staff)
    )
    assert responses(messages) == ["utter_staff_pickups_confirmed"]
    assert f"#{order.id}" in messages[0]["lines"] and f"#{elsewhere.id}" not in messages[0]["lines"]
    await shop.client.set_order_status(order.id, "ready_for_pickup", token)
    messages, _ = await run(
        ActionStaffPickupOrders(), tracker("pickups", "staff_pickup_orders", metadata=staff)
    )
    assert responses(messages) == ["utter_staff_pickups_ready_for_pickup"]
