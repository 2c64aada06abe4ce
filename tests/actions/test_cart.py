"""Cart and checkout against the real order service."""
from __future__ import annotations

from actions.cart import (ActionAddToCart, ActionAskCheckoutConfirmed, ActionChangeCart, ActionPlaceOrder,
                          ActionViewCart, ValidateCheckoutForm, checkout_key)
from tests.actions.action_harness import ent, responses, run, slots_of, tracker

CHECKOUT_STARTED = {"event": "active_loop", "name": "checkout_form", "timestamp": 1_763_770_000.0}


async def test_add_by_ordinal_merge_view_change_and_remove(shop):
    shown = {"shown_skus": ["SKU-CPU", "SKU-RAM"]}
    messages, events = await run(ActionAddToCart(), tracker("add the second one", "add_to_cart",
                                                            [ent("ordinal", "2")], shown))
    assert responses(messages) == ["utter_cart_added"]
    cart = slots_of(events)["cart"]
    assert cart == [{"sku": "SKU-RAM", "qty": 1}]

    messages, events = await run(ActionAddToCart(), tracker("two more of it", "add_to_cart", [ent("quantity", "2")],
                                                            {**shown, "cart": cart, "product_sku": "SKU-RAM"}))
    cart = slots_of(events)["cart"]
    assert cart == [{"sku": "SKU-RAM", "qty": 3}] and messages[0]["items"] == 3

    _, events = await run(ActionAddToCart(), tracker("add the first one", "add_to_cart", [ent("ordinal", "1")],
                                                     {**shown, "cart": cart}))
    cart = slots_of(events)["cart"]
    messages, _ = await run(ActionViewCart(), tracker("show my cart", "view_cart", slots={"cart": cart}))
    assert responses(messages) == ["utter_cart_contents"]
    assert "3 × DDR5 32 GB kit — $268.50" in messages[0]["lines"] and messages[0]["total"] == "$568.49"

    messages, events = await run(ActionChangeCart(), tracker("make the first one 2", "change_cart_quantity",
                                                             [ent("ordinal", "1"), ent("quantity", "2")],
                                                             {"cart": cart}))
    cart = slots_of(events)["cart"]
    assert responses(messages) == ["utter_cart_updated"] and cart[0] == {"sku": "SKU-RAM", "qty": 2}

    messages, events = await run(ActionChangeCart(), tracker("remove the cpu", "remove_from_cart",
                                                             [ent("sku", "sku-cpu")], {"cart": cart}))
    assert responses(messages) == ["utter_cart_removed"]
    assert slots_of(events)["cart"] == [{"sku": "SKU-RAM", "qty": 2}]


async def test_cart_refusals(shop):
    messages, events = await run(ActionAddToCart(), tracker("add it to my cart", "add_to_cart"))
    assert responses(messages) == ["utter_ask_which_product"] and events == []
    messages, _ = await run(ActionAddToCart(), tracker("add 500", "add_to_cart", [ent("quantity", "500")],
                                                      {"product_sku": "SKU-HP"}))
    assert responses(messages) == ["utter_cart_bad_quantity"]
    two = {"cart": [{"sku": "SKU-HP", "qty": 1}, {"sku": "SKU-CPU", "qty": 1}]}
    messages, _ = await run(ActionChangeCart(), tracker("remove it", "remove_from_cart", slots=two))
    assert responses(messages) == ["utter_ask_which_cart_item"]
    messages, _ = await run(ActionViewCart(), tracker("我的购物车", "view_cart"))
    assert responses(messages) == ["utter_cart_empty"]


async def test_required_slots_follow_the_way_of_receiving(shop):
    form, cart = ValidateCheckoutForm(), [{"sku": "SKU-CPU", "qty": 1}]
    assert await form.required_slots([], None, tracker(slots={"cart": []}), {}) == []
    assert await form.required_slots([], None, tracker(slots={"cart": cart}), {}) == \
        ["checkout_fulfilment", "checkout_confirmed"]
    assert await form.required_slots([], None, tracker(slots={"cart": cart, "checkout_fulfilment": "pickup"}), {}) == \
        ["checkout_fulfilment", "checkout_store", "checkout_confirmed"]
    assert await form.required_slots([], None, tracker(slots={"cart": cart, "checkout_fulfilment": "delivery"}), {}) \
        == ["checkout_fulfilment", "delivery_address", "checkout_confirmed"]


async def test_pickup_store_must_hand_out_every_item(shop):
    from rasa_sdk.executor import CollectingDispatcher

    form, cart = ValidateCheckoutForm(), [{"sku": "SKU-CPU", "qty": 2}]
    shop.set_stock(281, "SKU-CPU", 5)
    shop.set_stock(1000, "SKU-CPU", 0)
    d = CollectingDispatcher()
    ok = await form.validate_checkout_store("Richfield", d, tracker("Richfield", "inform", slots={"cart": cart}), {})
    assert ok == {"checkout_store": "Richfield", "pickup_store_id": 281.0} and d.messages == []
    d = CollectingDispatcher()
    out = await form.validate_checkout_store("the mall one", d, tracker(
        "Mall of America", "inform", [ent("store", "Mall of America")], {"cart": cart}), {})
    assert out["checkout_store"] is None and responses(d.messages) == ["utter_store_cannot_supply"]
    d = CollectingDispatcher()
    out = await form.validate_checkout_store("MSP Airport", d, tracker("MSP Airport", "inform", slots={"cart": cart}), {})
    assert out["checkout_store"] is None and responses(d.messages) == ["utter_store_no_pickup"]
    d = CollectingDispatcher()
    out = await form.validate_checkout_store("Atlantis", d, tracker("Atlantis", "inform", slots={"cart": cart}), {})
    assert out["checkout_store"] is None and responses(d.messages) == ["utter_store_not_found"]
    d = CollectingDispatcher()
    assert form.validate_delivery_address("home", d, tracker(), {}) == {"delivery_address": None}
    assert form.validate_delivery_address(" 1 Main  Street, Springfield 62701 ", d, tracker(), {}) == \
        {"delivery_address": "1 Main Street, Springfield 62701"}


async def test_summary_then_pickup_order_placed_once_even_when_retried(shop):
    shop.set_stock(281, "SKU-CPU", 5)
    slots = {"cart": [{"sku": "SKU-CPU", "qty": 2}], "checkout_fulfilment": "pickup", "checkout_store": "Richfield",
             "pickup_store_id": 281.0}
    messages, _ = await run(ActionAskCheckoutConfirmed(), tracker("店里自提", "inform", slots=slots,
                                                                  events=[CHECKOUT_STARTED]))
    assert responses(messages) == ["utter_checkout_summary_pickup"]
    assert messages[0]["total"] == "599.98美元" and messages[0]["store"] == "Richfield"

    confirmed = tracker("yes", "affirm", slots={**slots, "checkout_confirmed": True}, sender_id="web-retry",
                        events=[CHECKOUT_STARTED])
    first_messages, first_events = await run(ActionPlaceOrder(), confirmed)
    second_messages, _ = await run(ActionPlaceOrder(), confirmed)  # Rasa retrying the same call
    assert responses(first_messages) == ["utter_order_placed_pickup", "utter_ask_feedback"]
    assert first_messages[0]["order_id"] == second_messages[0]["order_id"]
    customer = await shop.client.resolve_customer("web", "web-retry")
    orders = await shop.client.list_orders(customer)
    assert len(orders) == 1 and orders[0].status == "confirmed" and orders[0].location_id == 281
    after = slots_of(first_events)
    assert after["cart"] == [] and after["checkout_fulfilment"] is None and after["order_id"] == float(orders[0].id)

    # the next checkout of the same conversation is a different order
    later = dict(CHECKOUT_STARTED, timestamp=CHECKOUT_STARTED["timestamp"] + 60)
    assert checkout_key(confirmed) != checkout_key(tracker("yes", "affirm", slots={**slots, "checkout_confirmed": True},
                                                           sender_id="web-retry", events=[later]))


async def test_delivery_order_for_the_channel_customer_and_no_order_without_yes(shop):
    shop.set_stock(0, "SKU-HP", 10)
    slots = {"cart": [{"sku": "SKU-HP", "qty": 1}], "checkout_fulfilment": "delivery",
             "delivery_address": "1 Main Street, Springfield 62701"}
    no = tracker("no", "deny", slots={**slots, "checkout_confirmed": False}, metadata={"customer_id": "cust-alice"},
                 events=[CHECKOUT_STARTED])
    messages, events = await run(ActionPlaceOrder(), no)
    assert responses(messages) == ["utter_checkout_cancelled"] and "cart" not in slots_of(events)
    assert await shop.client.list_orders("cust-alice") == []

    yes = tracker("yes", "affirm", slots={**slots, "checkout_confirmed": True}, metadata={"customer_id": "cust-alice"},
                  events=[CHECKOUT_STARTED])
    messages, _ = await run(ActionPlaceOrder(), yes)
    assert responses(messages)[0] == "utter_order_placed_delivery"
    orders = await shop.client.list_orders("cust-alice")
    assert [o.id for o in orders] == [messages[0]["order_id"]] and orders[0].fulfilment == "delivery"


async def test_out_of_stock_at_checkout_keeps_the_cart(shop):
    shop.set_stock(0, "SKU-RAM", 1)
    slots = {"cart": [{"sku": "SKU-RAM", "qty": 3}], "checkout_fulfilment": "delivery",
             "delivery_address": "1 Main Street, Springfield 62701", "checkout_confirmed": True}
    messages, events = await run(ActionPlaceOrder(), tracker("yes", "affirm", slots=slots, events=[CHECKOUT_STARTED]))
    assert responses(messages) == ["utter_order_out_of_stock"] and "cart" not in slots_of(events)
