"""Staff questions in chat beyond stock (issues 18, 20): a store's lists for the store a manager names
and not for an associate's neighbour, a suggested transfer made only after a yes, and the assistant's
weekly figures for managers. Expected figures are asked of the test shop's order service (low stock,
stock levels, the effectiveness report), never computed by the code under test."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from actions.analytics import ActionStaffAssistantReport, report_days
from actions.staff import (
    ActionStaffCreateTransfer,
    ActionStaffLowStock,
    ActionStaffTransferDecision,
    ActionStaffTransfers,
)
from tests.actions.action_harness import ASSOCIATE, ent, responses, run, slots_of, tracker

ROSEVILLE, RICHFIELD = 7, 281  # the associate's store, a store 16 km away (action_harness.STORES)


async def _staff(shop, user: str = ASSOCIATE) -> dict:
    return {"staff": {"token": await shop.staff_token(user)}}


async def test_a_manager_gets_the_lists_of_the_store_named_an_associate_only_their_own(shop):
    shop.set_stock(RICHFIELD, "SKU-RAM", 1)
    manager = await _staff(shop, "manager")
    messages, events = await run(
        ActionStaffLowStock(),
        tracker("low stock at Richfield", "staff_low_stock", [ent("store", "Richfield")], metadata=manager),
    )
    expected = await shop.client.low_stock(RICHFIELD, manager["staff"]["token"])
    assert responses(messages) == ["utter_staff_low_stock"] and messages[0]["store"] == "Richfield"
    assert all(i.sku in messages[0]["lines"] for i in expected) and expected
    assert slots_of(events)["staff_store_id"] == RICHFIELD
    # a manager naming no store: which one? (they have none of their own)
    messages, _ = await run(ActionStaffLowStock(), tracker("what's low", "staff_low_stock", metadata=manager))
    assert responses(messages) == ["utter_staff_ask_store"]
    # an associate asking about a neighbour's list is told whose figures they can see
    messages, _ = await run(
        ActionStaffLowStock(),
        tracker(
            "low stock at Richfield",
            "staff_low_stock",
            [ent("store", "Richfield")],
            metadata=await _staff(shop),
        ),
    )
    assert responses(messages) == ["utter_staff_not_your_store"]
    assert (messages[0]["store"], messages[0]["own"]) == ("Richfield", "Roseville")


async def _suggested(shop, staff: dict) -> tuple[list[dict], dict]:
    shop.set_stock(ROSEVILLE, "SKU-CPU", 0)
    shop.set_stock(RICHFIELD, "SKU-CPU", 30)
    messages, events = await run(
        ActionStaffTransfers(), tracker("transfer ideas", "staff_transfer_suggestions", metadata=staff)
    )
    assert responses(messages) == ["utter_staff_transfers"] and messages[0]["store"] == "Roseville"
    return messages, slots_of(events)


async def test_a_suggested_transfer_is_made_after_a_yes_and_not_after_a_no(shop):
    staff = await _staff(shop)
    token = staff["staff"]["token"]
    _, slots = await _suggested(shop, staff)
    suggestions = await shop.client.transfer_suggestions(ROSEVILLE, token)
    first = suggestions[0]
    before = (await shop.client.stock_at(first.sku, ROSEVILLE, staff_token=token)).available

    messages, events = await run(
        ActionStaffCreateTransfer(),
        tracker(
            "do the first one", "staff_create_transfer", [ent("ordinal", "1")], metadata=staff, slots=slots
        ),
    )
    assert responses(messages) == ["utter_staff_transfer_confirm"]
    assert (messages[0]["sku"], messages[0]["quantity"], messages[0]["from_store"]) == (
        first.sku,
        first.quantity,
        first.from_name,
    )
    pending = slots_of(events)["staff_pending_transfer"]

    # no: nothing moves
    messages, events = await run(
        ActionStaffTransferDecision(),
        tracker("no", "deny", metadata=staff, slots={"staff_pending_transfer": pending}),
    )
    assert responses(messages) == ["utter_staff_transfer_cancelled"]
    assert slots_of(events)["staff_pending_transfer"] is None
    assert (await shop.client.stock_at(first.sku, ROSEVILLE, staff_token=token)).available == before

    # yes: the units arrive, as the service counts them
    messages, _ = await run(
        ActionStaffTransferDecision(),
        tracker("yes", "affirm", metadata=staff, slots={"staff_pending_transfer": pending}),
    )
    after = (await shop.client.stock_at(first.sku, ROSEVILLE, staff_token=token)).available
    assert responses(messages) == ["utter_staff_transfer_done"]
    assert after == before + first.quantity and messages[0]["available"] == after


async def test_the_assistants_week_comes_from_the_effectiveness_report_for_managers_only(shop):
    now = datetime.now(UTC)
    events = [
        dict(at=now - timedelta(days=d), conversation_id=f"c{d}", channel="rest", language="en", type=kind)
        for d in (1, 2, 3, 10)
        for kind in ("impression", "click", "fallback")
    ]
    await shop.client.append_events(events)
    manager = await _staff(shop, "manager")
    messages, _ = await run(
        ActionStaffAssistantReport(),
        tracker("how did the assistant do this week?", "staff_assistant_report", metadata=manager),
    )
    report = await shop.client.assistant_report(
        manager["staff"]["token"], since=now - timedelta(days=7, minutes=5), until=datetime.now(UTC)
    )
    assert responses(messages) == ["utter_staff_assistant_report"]
    assert messages[0]["conversations"] == report["totals"]["conversations"] and messages[0]["days"] == 7
    messages, _ = await run(
        ActionStaffAssistantReport(),
        tracker("how did the assistant do this week?", "staff_assistant_report", metadata=await _staff(shop)),
    )
    assert responses(messages) == ["utter_staff_managers_only"]


def test_the_period_asked():
    assert [
        report_days(t) for t in ("how was today", "本月导购助手", "本周导购助手表现如何", "this week")
    ] == [
        1,
        30,
        7,
        7,
    ]
