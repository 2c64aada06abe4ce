"""Order status / cancel / return (own orders only) and the store finder, against the real service."""

from __future__ import annotations

from actions.orders import ActionCancelOrder, ActionOrderStatus, ActionPickOrder, ActionReturnOrder
from actions.stores import ActionFindStore, ActionStoreHours
from tests.actions.action_harness import ent, responses, run, slots_of, tracker

ALICE = {"customer_id": "cust-alice"}


async def place(shop, customer: str, sku: str = "SKU-HP", qty: int = 1) -> int:
    shop.set_stock(0, sku, 20)
    order = await shop.client.create_order(
        customer, [(sku, qty)], fulfilment="delivery", delivery_address="1 Main Street, Springfield 62701"
    )
    return order.id


async def test_status_of_own_order_and_not_of_someone_elses(shop):
    mine = await place(shop, "cust-alice")
    theirs = await place(shop, "cust-bob")
    messages, events = await run(
        ActionOrderStatus(),
        tracker(f"where is order #{mine}", "order_status", [ent("order_id", f"#{mine}")], metadata=ALICE),
    )
    assert responses(messages) == ["utter_order_status_pending"] and messages[0]["order_id"] == mine
    assert slots_of(events) == {"order_id": float(mine)}
    assert messages[0]["items"] == "1 × Wireless headphones"

    messages, events = await run(
        ActionOrderStatus(),
        tracker(f"订单{theirs}到哪了", "order_status", [ent("order_id", str(theirs))], metadata=ALICE),
    )
    assert responses(messages) == ["utter_order_not_found"] and slots_of(events) == {"order_id": None}


async def test_without_a_number_the_latest_orders_are_listed(shop):
    messages, _ = await run(ActionOrderStatus(), tracker("where's my order", "order_status", metadata=ALICE))
    assert responses(messages) == ["utter_no_orders"]
    first, second = await place(shop, "cust-alice"), await place(shop, "cust-alice", "SKU-RAM", 2)
    messages, _ = await run(ActionOrderStatus(), tracker("where's my order", "order_status", metadata=ALICE))
    assert responses(messages) == ["utter_recent_orders"]
    assert f"#{first}" in messages[0]["orders"] and f"#{second}" in messages[0]["orders"]


async def test_an_order_is_picked_from_the_list_just_shown(shop):
    """ "the most recent one", "第一个", "最近那单", "the oldest" after a list of orders: the action that
    showed the list goes on with the picked order; a reply that picks none is served as its intent."""
    older, newer = await place(shop, "cust-alice"), await place(shop, "cust-alice", "SKU-RAM", 2)
    messages, events = await run(
        ActionCancelOrder(), tracker("cancel my order", "cancel_order", metadata=ALICE)
    )
    listed = slots_of(events)
    assert responses(messages) == ["utter_recent_orders"] and listed["order_pick"] == "cancel"
    assert listed["shown_orders"][:2] == [newer, older]  # newest first, as the service lists them
    for text, intent, entities, kind, expected in [
        ("the most recent one", "nlu_fallback", [], "status", newer),
        ("最近那单", "chitchat", [], "status", newer),
        ("第一个", "add_to_cart", [ent("ordinal", "1")], "status", newer),
        ("the second one", "inform", [ent("ordinal", "2")], "status", older),
        ("the oldest", "inform", [], "status", listed["shown_orders"][-1]),
    ]:
        messages, events = await run(
            ActionPickOrder(),
            tracker(
                text,
                intent,
                entities,
                metadata=ALICE,
                slots={"order_pick": kind, "shown_orders": listed["shown_orders"]},
            ),
        )
        assert slots_of(events)["order_id"] == float(expected), text
        assert (
            responses(messages)[0].startswith("utter_order_status_") and messages[0]["order_id"] == expected
        )
    messages, events = await run(
        ActionPickOrder(),
        tracker(
            "最近那单",
            "chitchat",
            metadata=ALICE,
            slots={"order_pick": "cancel", "shown_orders": listed["shown_orders"]},
        ),
    )
    assert responses(messages) == ["utter_order_status_cancelled"]
    assert (await shop.client.get_order("cust-alice", newer)).status == "cancelled"
    assert slots_of(events)["order_pick"] is None
    _, events = await run(
        ActionPickOrder(),
        tracker(
            "add a 7800X3D",
            "add_to_cart",
            metadata=ALICE,
            slots={"order_pick": "cancel", "shown_orders": listed["shown_orders"]},
        ),
    )
    assert [e["name"] for e in events if e["event"] == "followup"] == ["action_add_to_cart"]
    assert (await shop.client.get_order("cust-alice", older)).status != "cancelled"


async def test_cancel_then_return_refused(shop):
    order_id = await place(shop, "cust-alice")
    messages, _ = await run(
        ActionReturnOrder(),
        tracker("return it", "return_order", slots={"order_id": float(order_id)}, metadata=ALICE),
    )
    assert responses(messages) == ["utter_order_cannot_return"]
    messages, _ = await run(
        ActionCancelOrder(),
        tracker("cancel it", "cancel_order", slots={"order_id": float(order_id)}, metadata=ALICE),
    )
    assert responses(messages) == ["utter_order_status_cancelled"]
    assert (await shop.client.get_order("cust-alice", order_id)).status == "cancelled"
    # Bob cannot cancel Alice's order even with its number
    bob_order = await place(shop, "cust-alice")
    messages, _ = await run(
        ActionCancelOrder(),
        tracker(
            f"cancel {bob_order}",
            "cancel_order",
            [ent("order_id", str(bob_order))],
            metadata={"customer_id": "cust-bob"},
        ),
    )
    assert responses(messages) == ["utter_order_not_found"]
    assert (await shop.client.get_order("cust-alice", bob_order)).status == "pending"


async def test_rest_sender_is_mapped_to_one_customer(shop):
    messages, _ = await run(
        ActionOrderStatus(), tracker("my orders", "order_status", sender_id="rest-user-9")
    )
    assert responses(messages) == ["utter_no_orders"]
    customer = await shop.client.resolve_customer("web", "rest-user-9")
    order_id = await place(shop, customer)
    messages, _ = await run(
        ActionOrderStatus(), tracker("my orders", "order_status", sender_id="rest-user-9")
    )
    assert f"#{order_id}" in messages[0]["orders"]


async def test_nearest_stores_with_the_item(shop):
    for store_id in (1000, 7, 281, 498):
        shop.set_stock(store_id, "SKU-CPU", 0)
    shop.set_stock(7, "SKU-CPU", 6)
    shop.set_stock(498, "SKU-CPU", 6)
    messages, events = await run(
        ActionFindStore(),
        tracker(
            "nearest store with it near 55425",
            "find_store",
            [ent("store", "55425")],
            {"product_sku": "SKU-CPU"},
        ),
    )
    assert responses(messages) == ["utter_stores_with_item"]
    lines = messages[0]["stores"].splitlines()
    assert lines[0].startswith("Roseville") and lines[1].startswith("Northgate")
    assert slots_of(events)["store_id"] == 7.0

    messages, _ = await run(
        ActionFindStore(),
        tracker(
            "离Richfield最近的有货门店", "find_store", [ent("store", "Richfield")], {"product_sku": "SKU-CPU"}
        ),
    )
    assert messages[0]["stores"].splitlines()[0].startswith("Roseville")


async def test_store_search_without_product_and_hours(shop):
    messages, events = await run(
        ActionFindStore(), tracker("stores in Roseville", "find_store", [ent("store", "Roseville")])
    )
    assert responses(messages) == ["utter_stores_found"] and "Roseville" in messages[0]["stores"]
    messages, _ = await run(ActionFindStore(), tracker("store near me", "find_store"))
    assert responses(messages) == ["utter_ask_store_location"]

    messages, events = await run(
        ActionStoreHours(), tracker("Mall of America hours", "store_hours", [ent("store", "Mall of America")])
    )
    assert responses(messages) == ["utter_store_hours"]
    assert messages[0]["mon"] == "10:00–21:00" and messages[0]["sun"] == "—"
    assert slots_of(events) == {"store_id": 1000.0}
    messages, _ = await run(
        ActionStoreHours(), tracker("when do you open", "store_hours", slots={"store_id": 281.0})
    )
    assert messages[0]["store"] == "Richfield"
    messages, _ = await run(ActionStoreHours(), tracker("几点开门", "store_hours"))
    assert responses(messages) == ["utter_ask_which_store"]


async def test_store_answers_tell_stores_apart(shop):
    """Names matching several stores list them with address and city (one button each); a misspelt
    name gets the closest names; a store button's payload ("#281") names exactly one store."""
    from actions.stores import store_lines
    from order_service.schemas import StoreOut
    from tests.actions.action_harness import STORES

    messages, _ = await run(
        ActionStoreHours(), tracker("hours of the MN store", "store_hours", [ent("store", "MN")])
    )
    assert responses(messages) == ["utter_ask_which_store_of"]
    minnesota = [s for s in STORES if s.state == "MN"]
    assert len(messages[0]["stores"].splitlines()) == len(minnesota)
    assert {b["payload"] for b in messages[0]["buttons"]} == {
        f'/store_hours{{"store": "#{s.id}"}}' for s in minnesota
    }
    messages, events = await run(ActionStoreHours(), tracker("", "store_hours", [ent("store", "#281")]))
    assert responses(messages) == ["utter_store_hours"] and slots_of(events) == {"store_id": 281.0}

    messages, _ = await run(
        ActionFindStore(), tracker("stores in Rosevile", "find_store", [ent("store", "Rosevile")])
    )
    assert responses(messages) == ["utter_store_not_found_suggest"]
    assert messages[0]["stores"].splitlines()[0].startswith("Roseville")

    # kiosks sharing one address (airports) are one line with their count, not the same line repeated
    kiosk = dict(
        type="Express",
        name="LAS - Airport",
        address="5757 Wayne Newton Blvd",
        city="Las Vegas",
        state="NV",
        zip="89119",
        lat=36.0886,
        lon=-115.1504,
        hours_text="",
        pickup=False,
    )
    lines = store_lines([StoreOut(id=8000 + i, **kiosk) for i in range(3)]).splitlines()
    assert len(lines) == 1 and lines[0].endswith("×3")
