"""Cart and checkout against the real order service."""

from __future__ import annotations

import pytest

from actions.cart import (
    ActionAddToCart,
    ActionAskCheckoutConfirmed,
    ActionChangeCart,
    ActionPlaceOrder,
    ActionStopCheckout,
    ActionViewCart,
    ValidateCheckoutForm,
    checkout_key,
)
from actions.shopping_cart import store_in_text
from order_service.services.geo import haversine_km
from tests.actions.action_harness import STORES, ent, responses, run, slots_of, tracker

BY_ID = {s.id: s for s in STORES}

CHECKOUT_STARTED = {"event": "active_loop", "name": "checkout_form", "timestamp": 1_763_770_000.0}


async def test_add_by_ordinal_merge_view_change_and_remove(shop):
    shown = {"shown_skus": ["SKU-CPU", "SKU-RAM"]}
    messages, events = await run(
        ActionAddToCart(), tracker("add the second one", "add_to_cart", [ent("ordinal", "2")], shown)
    )
    assert responses(messages) == ["utter_cart_added"]
    cart = slots_of(events)["cart"]
    assert cart == [{"sku": "SKU-RAM", "qty": 1}]

    messages, events = await run(
        ActionAddToCart(),
        tracker(
            "two more of it",
            "add_to_cart",
            [ent("quantity", "2")],
            {**shown, "cart": cart, "product_sku": "SKU-RAM"},
        ),
    )
    cart = slots_of(events)["cart"]
    assert cart == [{"sku": "SKU-RAM", "qty": 3}] and messages[0]["items"] == 3

    _, events = await run(
        ActionAddToCart(),
        tracker("add the first one", "add_to_cart", [ent("ordinal", "1")], {**shown, "cart": cart}),
    )
    cart = slots_of(events)["cart"]
    messages, _ = await run(ActionViewCart(), tracker("show my cart", "view_cart", slots={"cart": cart}))
    assert responses(messages) == ["utter_cart_contents"]
    assert "3 × DDR5 32 GB kit — $268.50" in messages[0]["lines"] and messages[0]["total"] == "$568.49"

    messages, events = await run(
        ActionChangeCart(),
        tracker(
            "make the first one 2",
            "change_cart_quantity",
            [ent("ordinal", "1"), ent("quantity", "2")],
            {"cart": cart},
        ),
    )
    cart = slots_of(events)["cart"]
    assert responses(messages) == ["utter_cart_updated"] and cart[0] == {"sku": "SKU-RAM", "qty": 2}

    messages, events = await run(
        ActionChangeCart(),
        tracker("remove the cpu", "remove_from_cart", [ent("sku", "sku-cpu")], {"cart": cart}),
    )
    assert responses(messages) == ["utter_cart_removed"]
    assert slots_of(events)["cart"] == [{"sku": "SKU-RAM", "qty": 2}]


async def test_a_quantity_said_in_words_changes_the_line(shop):
    """ "make it just one": the NLU reads "one" as a position, the words still set the quantity."""
    cart = {"cart": [{"sku": "SKU-CPU", "qty": 2}]}
    for text, qty in [
        ("actually make it just one", 1),
        ("只要一个", 1),
        ("改成两个", 2),
        ("only three please", 3),
    ]:
        messages, events = await run(
            ActionChangeCart(), tracker(text, "change_cart_quantity", [ent("ordinal", "1")], cart)
        )
        assert responses(messages) == ["utter_cart_updated"] and slots_of(events)["cart"][0]["qty"] == qty, (
            text
        )
    messages, _ = await run(
        ActionChangeCart(),
        tracker("make the first one different", "change_cart_quantity", [ent("ordinal", "1")], cart),
    )
    assert responses(messages) == ["utter_ask_cart_quantity"]


async def test_cart_refusals(shop):
    messages, events = await run(ActionAddToCart(), tracker("add it to my cart", "add_to_cart"))
    assert responses(messages) == ["utter_ask_which_product"] and events == []
    messages, _ = await run(
        ActionAddToCart(),
        tracker("add 500", "add_to_cart", [ent("quantity", "500")], {"product_sku": "SKU-HP"}),
    )
    assert responses(messages) == ["utter_cart_bad_quantity"]
    two = {"cart": [{"sku": "SKU-HP", "qty": 1}, {"sku": "SKU-CPU", "qty": 1}]}
    messages, _ = await run(ActionChangeCart(), tracker("remove it", "remove_from_cart", slots=two))
    assert responses(messages) == ["utter_ask_which_cart_item"]
    messages, _ = await run(ActionViewCart(), tracker("我的购物车", "view_cart"))
    assert responses(messages) == ["utter_cart_empty"]


async def test_required_slots_follow_the_way_of_receiving(shop):
    form, cart = ValidateCheckoutForm(), [{"sku": "SKU-CPU", "qty": 1}]
    assert await form.required_slots([], None, tracker(slots={"cart": []}), {}) == []
    assert await form.required_slots([], None, tracker(slots={"cart": cart}), {}) == [
        "checkout_fulfilment",
        "checkout_confirmed",
    ]
    assert await form.required_slots(
        [], None, tracker(slots={"cart": cart, "checkout_fulfilment": "pickup"}), {}
    ) == ["checkout_fulfilment", "checkout_store", "checkout_confirmed"]
    assert await form.required_slots(
        [], None, tracker(slots={"cart": cart, "checkout_fulfilment": "delivery"}), {}
    ) == ["checkout_fulfilment", "delivery_address", "checkout_confirmed"]


async def test_pickup_store_must_hand_out_every_item(shop):
    from rasa_sdk.executor import CollectingDispatcher

    form, cart = ValidateCheckoutForm(), [{"sku": "SKU-CPU", "qty": 2}]
    pickup = {"cart": cart, "checkout_fulfilment": "pickup"}
    for sid in BY_ID:
        shop.set_stock(sid, "SKU-CPU", 0)
    shop.set_stock(281, "SKU-CPU", 5)
    d = CollectingDispatcher()
    ok = await form.validate_checkout_store("Richfield", d, tracker("Richfield", "inform", slots=pickup), {})
    assert ok["pickup_store_id"] == 281.0 and "Richfield" in ok["checkout_store"] and d.messages == []
    assert BY_ID[281].address in ok["checkout_store"]  # the label tells stores of the same name apart
    d = CollectingDispatcher()
    out = await form.validate_checkout_store(
        "the mall one", d, tracker("Mall of America", "inform", [ent("store", "Mall of America")], pickup), {}
    )
    assert out["checkout_store"] is None
    assert responses(d.messages) == ["utter_store_cannot_supply", "utter_pickup_stores_nearby"]
    assert [b["payload"] for b in d.messages[1]["buttons"]] == ['/inform{"store": "#281"}']
    d = CollectingDispatcher()
    out = await form.validate_checkout_store(
        "MSP Airport", d, tracker("MSP Airport", "inform", slots=pickup), {}
    )
    assert out["checkout_store"] is None
    assert responses(d.messages) == ["utter_store_no_pickup", "utter_pickup_stores_nearby"]
    d = CollectingDispatcher()
    out = await form.validate_checkout_store("Atlantis", d, tracker("Atlantis", "inform", slots=pickup), {})
    assert out["checkout_store"] is None and responses(d.messages)[0] in (
        "utter_store_not_found",
        "utter_store_not_found_suggest",
    )
    # a store button's payload picks that store directly
    d = CollectingDispatcher()
    ok = await form.validate_checkout_store(
        "#281", d, tracker("", "inform", [ent("store", "#281")], pickup), {}
    )
    assert ok["pickup_store_id"] == 281.0
    # the shopper switched to delivery at the store question: no store, no complaint
    d = CollectingDispatcher()
    out = await form.validate_checkout_store(
        "deliver it instead",
        d,
        tracker(
            "deliver it instead",
            "inform",
            [ent("fulfilment", "delivery")],
            {"cart": cart, "checkout_fulfilment": "delivery"},
        ),
        {},
    )
    assert out["checkout_store"] is None and d.messages == []


async def test_nearest_stores_that_can_hand_out_the_whole_cart(shop):
    from rasa_sdk.executor import CollectingDispatcher

    cart = [{"sku": "SKU-CPU", "qty": 2}, {"sku": "SKU-RAM", "qty": 1}]
    stock = {1000: (1, 4), 7: (3, 1), 281: (2, 0), 8108: (9, 9), 498: (6, 6)}
    for sid, (cpu, ram) in stock.items():
        shop.set_stock(sid, "SKU-CPU", cpu)
        shop.set_stock(sid, "SKU-RAM", ram)
    able = [
        sid
        for sid, (cpu, ram) in stock.items()
        if cpu >= 2 and ram >= 1 and (await shop.client.get_store(sid)).pickup
    ]
    origin = BY_ID[1000]
    expected = sorted(
        able, key=lambda sid: haversine_km(origin.lat, origin.lon, BY_ID[sid].lat, BY_ID[sid].lon)
    )
    assert len(expected) >= 2
    d = CollectingDispatcher()
    out = await ValidateCheckoutForm().validate_checkout_store(
        "Mall of America",
        d,
        tracker(
            "Mall of America",
            "inform",
            [ent("store", "Mall of America")],
            {"cart": cart, "checkout_fulfilment": "pickup"},
        ),
        {},
    )
    assert out["pickup_store_id"] is None
    assert (
        d.messages[0]["response"] == "utter_store_cannot_supply"
        and d.messages[0]["products"] == "Ryzen 7 test CPU"
    )
    message = d.messages[1]
    assert message["response"] == "utter_pickup_stores_nearby"
    lines = message["stores"].splitlines()
    assert [b["payload"] for b in message["buttons"]] == [f'/inform{{"store": "#{sid}"}}' for sid in expected]
    for line, sid in zip(lines, expected):
        km = haversine_km(origin.lat, origin.lon, BY_ID[sid].lat, BY_ID[sid].lon)
        assert BY_ID[sid].name in line and BY_ID[sid].city in line and f"{km:.1f} km" in line


async def test_unknown_and_shared_store_names(shop):
    from rasa_sdk.executor import CollectingDispatcher

    form = ValidateCheckoutForm()
    slots = {"cart": [{"sku": "SKU-HP", "qty": 1}], "checkout_fulfilment": "pickup"}
    d = CollectingDispatcher()
    await form.validate_checkout_store("Rosevile", d, tracker("Rosevile", "inform", slots=slots), {})
    assert responses(d.messages) == ["utter_store_not_found_suggest"] and d.messages[0]["query"] == "Rosevile"
    assert d.messages[0]["buttons"][0]["payload"] == '/inform{"store": "#7"}'
    # "MN" matches every Minnesota store (as "City, MN"): the shopper picks one, told apart by
    # address and city, with the distance from the store talked about last
    d = CollectingDispatcher()
    await form.validate_checkout_store(
        "MN", d, tracker("MN", "inform", slots={**slots, "store_id": 1000.0}), {}
    )
    assert responses(d.messages) == ["utter_ask_which_store_of"]
    minnesota = [s for s in BY_ID.values() if s.state == "MN"]
    lines = d.messages[0]["stores"].splitlines()
    assert len(lines) == len(minnesota) == len({line.split(" · ")[0] for line in lines})
    origin = BY_ID[1000]
    for s in minnesota:
        km = haversine_km(origin.lat, origin.lon, s.lat, s.lon)
        assert any(s.address in line and s.city in line and f"{km:.1f} km" in line for line in lines)


def test_address_says_what_is_missing():
    from rasa_sdk.executor import CollectingDispatcher

    form, slots = ValidateCheckoutForm(), {"checkout_fulfilment": "delivery"}
    for text, missing in [
        ("Elm Street, Denver CO 80202", "utter_address_no_number"),
        ("南京路，上海", "utter_address_no_number"),
        ("4217", "utter_address_no_street"),
        ("my house", "utter_address_no_number"),
        ("asdf", "utter_address_no_number"),
        ("Main St 123号", "utter_address_no_city"),
        ("42 Elm Street", "utter_address_no_city"),
        ("北京路88号", "utter_address_no_city"),
    ]:
        d = CollectingDispatcher()
        assert form.validate_delivery_address(text, d, tracker(text, "inform", slots=slots), {}) == {
            "delivery_address": None
        }
        assert responses(d.messages) == ["utter_address_invalid", missing], text
    d = CollectingDispatcher()
    for text in [
        "1 Main Street, Springfield 62701",
        "1000 Lakeshore Dr, Chicago, IL 60611",
        "上海市北京路88号",
        "350 5th Ave New York NY 10118",
    ]:
        assert form.validate_delivery_address(f" {text} ", d, tracker(slots=slots), {}) == {
            "delivery_address": text
        }
    assert d.messages == []


async def test_answers_the_nlu_took_for_something_else_answer_the_open_question(shop):
    """A bare store name read as a store-hours question, "my house" read as out of scope: while the
    form asks for the store or the address, they are the answer; a question never is."""
    form = ValidateCheckoutForm()
    at_store = {"requested_slot": "checkout_store", "checkout_fulfilment": "pickup"}
    assert await form.extract_checkout_store(
        None, tracker("Blossom Hill", "store_hours", slots=at_store), {}
    ) == {"checkout_store": "Blossom Hill"}
    assert await form.extract_checkout_store(
        None, tracker("SFO机场那个店", "nlu_fallback", slots=at_store), {}
    ) == {"checkout_store": "SFO"}
    for text, intent in [
        ("when does Blossom Hill open?", "store_hours"),
        ("送货要运费吗", "faq"),
        ("结账先取消掉", "stop"),
        ("Blossom Hill", "inform"),
    ]:
        assert await form.extract_checkout_store(None, tracker(text, intent, slots=at_store), {}) == {}, text
    at_address = {"requested_slot": "delivery_address", "checkout_fulfilment": "delivery"}
    assert await form.extract_delivery_address(
        None, tracker("my house", "out_of_scope", slots=at_address), {}
    ) == {"delivery_address": "my house"}
    assert (
        await form.extract_delivery_address(
            None, tracker("找个真人帮我", "request_human", slots=at_address), {}
        )
        == {}
    )


async def test_the_way_of_receiving_changes_and_a_named_store_comes_with_it(shop):
    form = ValidateCheckoutForm()
    asked = {"requested_slot": "checkout_fulfilment", "cart": [{"sku": "SKU-HP", "qty": 1}]}
    # a question about shipping is not the answer "delivery"
    for text, intent in [("wait how much do you charge for shipping?", "faq"), ("送货要运费吗", "faq")]:
        assert await form.extract_checkout_fulfilment(None, tracker(text, intent, slots=asked), {}) == {}
    assert await form.extract_checkout_fulfilment(
        None, tracker("ok delivery then", "inform", slots=asked), {}
    ) == {"checkout_fulfilment": "delivery"}
    assert await form.extract_checkout_fulfilment(
        None, tracker("结账，自提，Blossom Hill", "checkout", slots={}), {}
    ) == {"checkout_fulfilment": "pickup"}  # the message that starts the form
    assert await form.extract_checkout_fulfilment(None, tracker("is pickup free", "faq", slots={}), {}) == {}
    at_address = {**asked, "requested_slot": "delivery_address", "checkout_fulfilment": "delivery"}
    text = "hmm no, I'd rather pick it up at Mall of America"
    assert await form.extract_checkout_fulfilment(None, tracker(text, "inform", slots=at_address), {}) == {
        "checkout_fulfilment": "pickup"
    }
    assert (
        await form.extract_checkout_fulfilment(
            None, tracker("deliver to 42 Elm St, Denver 80202", "inform", slots=at_address), {}
        )
        == {}
    )
    assert store_in_text(text) == "Mall of America"
    assert (
        store_in_text("结账，自提，Blossom Hill") == "Blossom Hill"
        and store_in_text("我要在Flushing自提") == "Flushing"
    )
    assert store_in_text("结账，到店取") is None and store_in_text("pick it up in store") is None
    from rasa_sdk.executor import CollectingDispatcher

    shop.set_stock(281, "SKU-HP", 5)
    d = CollectingDispatcher()
    out = await form.validate_checkout_fulfilment(
        "pickup",
        d,
        tracker(
            "结账，自提，Richfield",
            "checkout",
            slots={"cart": [{"sku": "SKU-HP", "qty": 1}], "checkout_fulfilment": "pickup"},
        ),
        {},
    )  # rasa_sdk puts the value being validated in the tracker's slots
    store = next(s for s in STORES if s.name == "Richfield")
    assert out["checkout_fulfilment"] == "pickup" and out["pickup_store_id"] == float(store.id), d.messages
    assert out["delivery_address"] is None
    out = await form.validate_checkout_fulfilment("delivery", d, tracker("送货吧", "inform", slots={}), {})
    assert out == {"checkout_fulfilment": "delivery", "checkout_store": None, "pickup_store_id": None}


async def test_stop_keeps_the_cart_and_forgets_the_answers(shop):
    cart = [{"sku": "SKU-HP", "qty": 2}, {"sku": "SKU-CPU", "qty": 1}]
    messages, events = await run(
        ActionStopCheckout(),
        tracker(
            "不买了",
            "stop",
            slots={
                "cart": cart,
                "checkout_fulfilment": "pickup",
                "checkout_store": "Richfield",
                "pickup_store_id": 281.0,
            },
        ),
    )
    assert responses(messages) == ["utter_checkout_stopped"] and messages[0]["items"] == 3
    after = slots_of(events)
    assert "cart" not in after and after["checkout_fulfilment"] is None and after["pickup_store_id"] is None
    messages, _ = await run(ActionStopCheckout(), tracker("stop", "stop"))
    assert responses(messages) == ["utter_checkout_stopped_empty"]


async def test_add_it_after_a_list_asks_which(shop):
    shown = {"shown_skus": ["SKU-CPU", "SKU-RAM", "SKU-HP"]}
    messages, events = await run(ActionAddToCart(), tracker("add it to my cart", "add_to_cart", slots=shown))
    assert "cart" not in slots_of(events)
    assert [b["payload"] for b in messages[0]["buttons"]] == [
        f'/add_to_cart{{"sku": "{sku}"}}' for sku in shown["shown_skus"]
    ]
    # the button's payload then adds that one
    messages, events = await run(
        ActionAddToCart(), tracker("", "add_to_cart", [ent("sku", "SKU-RAM")], shown)
    )
    assert responses(messages) == ["utter_cart_added"] and slots_of(events)["cart"] == [
        {"sku": "SKU-RAM", "qty": 1}
    ]


async def test_summary_then_pickup_order_placed_once_even_when_retried(shop):
    shop.set_stock(281, "SKU-CPU", 5)
    slots = {
        "cart": [{"sku": "SKU-CPU", "qty": 2}],
        "checkout_fulfilment": "pickup",
        "checkout_store": "Richfield",
        "pickup_store_id": 281.0,
    }
    messages, _ = await run(
        ActionAskCheckoutConfirmed(), tracker("店里自提", "inform", slots=slots, events=[CHECKOUT_STARTED])
    )
    assert responses(messages) == ["utter_checkout_summary_pickup"]
    assert messages[0]["total"] == "599.98美元" and messages[0]["store"] == "Richfield"

    confirmed = tracker(
        "yes",
        "affirm",
        slots={**slots, "checkout_confirmed": True},
        sender_id="web-retry",
        events=[CHECKOUT_STARTED],
    )
    first_messages, first_events = await run(ActionPlaceOrder(), confirmed)
    second_messages, _ = await run(ActionPlaceOrder(), confirmed)  # Rasa retrying the same call
    assert responses(first_messages) == ["utter_order_placed_pickup", "utter_ask_feedback"]
    assert first_messages[0]["order_id"] == second_messages[0]["order_id"]
    customer = await shop.client.resolve_customer("web", "web-retry")
    orders = await shop.client.list_orders(customer)
    assert len(orders) == 1 and orders[0].status == "confirmed" and orders[0].location_id == 281
    after = slots_of(first_events)
    assert (
        after["cart"] == []
        and after["checkout_fulfilment"] is None
        and after["order_id"] == float(orders[0].id)
    )

    # the next checkout of the same conversation is a different order
    later = dict(CHECKOUT_STARTED, timestamp=CHECKOUT_STARTED["timestamp"] + 60)
    assert checkout_key(confirmed) != checkout_key(
        tracker(
            "yes",
            "affirm",
            slots={**slots, "checkout_confirmed": True},
            sender_id="web-retry",
            events=[later],
        )
    )


async def test_delivery_order_for_the_channel_customer_and_no_order_without_yes(shop):
    shop.set_stock(0, "SKU-HP", 10)
    slots = {
        "cart": [{"sku": "SKU-HP", "qty": 1}],
        "checkout_fulfilment": "delivery",
        "delivery_address": "1 Main Street, Springfield 62701",
    }
    no = tracker(
        "no",
        "deny",
        slots={**slots, "checkout_confirmed": False},
        metadata={"customer_id": "cust-alice"},
        events=[CHECKOUT_STARTED],
    )
    messages, events = await run(ActionPlaceOrder(), no)
    assert responses(messages) == ["utter_checkout_cancelled"] and "cart" not in slots_of(events)
    assert await shop.client.list_orders("cust-alice") == []

    yes = tracker(
        "yes",
        "affirm",
        slots={**slots, "checkout_confirmed": True},
        metadata={"customer_id": "cust-alice"},
        events=[CHECKOUT_STARTED],
    )
    messages, _ = await run(ActionPlaceOrder(), yes)
    assert responses(messages)[0] == "utter_order_placed_delivery"
    orders = await shop.client.list_orders("cust-alice")
    assert [o.id for o in orders] == [messages[0]["order_id"]] and orders[0].fulfilment == "delivery"


async def test_out_of_stock_at_checkout_keeps_the_cart(shop):
    shop.set_stock(0, "SKU-RAM", 1)
    slots = {
        "cart": [{"sku": "SKU-RAM", "qty": 3}],
        "checkout_fulfilment": "delivery",
        "delivery_address": "1 Main Street, Springfield 62701",
        "checkout_confirmed": True,
    }
    messages, events = await run(
        ActionPlaceOrder(), tracker("yes", "affirm", slots=slots, events=[CHECKOUT_STARTED])
    )
    assert responses(messages) == ["utter_order_out_of_stock"] and "cart" not in slots_of(events)


@pytest.mark.parametrize(
    "text,way",
    [
        ("pickup in store", "pickup"),
        ("ok delivery then", "delivery"),
        ("那就自提吧", "pickup"),
        ("寄到家里", "delivery"),
        ("hmm not sure", None),
    ],
)
async def test_fulfilment_read_from_the_words_when_no_entity_was_tagged(text, way):
    from rasa_sdk.executor import CollectingDispatcher

    from actions.cart import ValidateCheckoutForm

    t = tracker(text, "inform", slots={"requested_slot": "checkout_fulfilment"})
    found = await ValidateCheckoutForm().extract_checkout_fulfilment(CollectingDispatcher(), t, {})
    assert found == ({"checkout_fulfilment": way} if way else {})


LEAVING = [
    "forget it, I'll order another time",
    "nah not now",
    "先不结了",
    "算了不买了",
    "never mind, maybe later",
]


@pytest.mark.parametrize("text", LEAVING)
async def test_leaving_the_checkout_in_any_words_ends_it_and_adds_nothing(shop, text):
    """A way out the NLU read as something else (add_to_cart, an answer) ends the form: it asks for
    nothing more, so action_place_order says nothing was ordered; the cart is unchanged."""
    from actions.shopping_cart import leaves_checkout

    cart = {"cart": [{"sku": "SKU-CPU", "qty": 1}], "product_sku": "SKU-CPU"}
    inside = tracker(text, "add_to_cart", slots=cart, active_loop="checkout_form")
    assert leaves_checkout(inside)
    assert await ValidateCheckoutForm().required_slots([], None, inside, {}) == []
    messages, events = await run(ActionAddToCart(), inside)
    assert messages == [] and events == []
    assert not leaves_checkout(tracker(text, "add_to_cart", slots=cart))  # no checkout to leave


@pytest.mark.parametrize(
    "text", ["算了，还是自提吧", "no, stop by the store instead", "Yes, place the order"]
)
async def test_a_change_of_mind_or_a_yes_is_not_leaving(shop, text):
    from actions.shopping_cart import leaves_checkout

    inside = tracker(
        text, "inform", slots={"cart": [{"sku": "SKU-CPU", "qty": 1}]}, active_loop="checkout_form"
    )
    assert not leaves_checkout(inside)


@pytest.mark.parametrize(
    "text,unclear",
    [
        ("I'll grab it at the shop", False),
        ("我自己去店里拿", False),
        ("purple monkey", True),
        ("forget it", False),
    ],
)
async def test_an_unplaced_message_in_the_checkout_is_unclear_only_when_it_answers_nothing(
    shop, text, unclear
):
    from actions.cart import ActionCheckoutUnclear

    t = tracker(
        text,
        "nlu_fallback",
        slots={"cart": [{"sku": "SKU-CPU", "qty": 1}], "requested_slot": "checkout_fulfilment"},
        active_loop="checkout_form",
    )
    messages, _ = await run(ActionCheckoutUnclear(), t)
    assert responses(messages) == (["utter_checkout_unclear"] if unclear else [])


async def test_a_line_named_by_its_kind_is_removed_not_the_product_last_talked_about(shop):
    """ "remove the headphones" right after adding the CPU removes the headphones."""
    cart = [{"sku": "SKU-HP", "qty": 1}, {"sku": "SKU-CPU", "qty": 1}]
    for text in ["remove the headphones", "耳机不要了"]:
        messages, events = await run(
            ActionChangeCart(),
            tracker(text, "remove_from_cart", slots={"cart": cart, "product_sku": "SKU-CPU"}),
        )
        assert responses(messages) == ["utter_cart_removed"], text
        assert slots_of(events)["cart"] == [{"sku": "SKU-CPU", "qty": 1}], text


async def test_a_product_named_as_a_replacement_swaps_the_line(shop):
    """ "换成<another product>" after adding one: the line just added gives way, its quantity kept;
    "also add …" keeps both."""
    cart = {
        "cart": [{"sku": "SKU-CPU", "qty": 2}],
        "product_sku": "SKU-CPU",
        "shown_skus": ["SKU-CPU", "SKU-RAM"],
    }
    messages, events = await run(
        ActionAddToCart(), tracker("算了换成第二款吧", "add_to_cart", [ent("ordinal", "2")], cart)
    )
    assert responses(messages) == ["utter_cart_removed", "utter_cart_added"]
    assert slots_of(events)["cart"] == [{"sku": "SKU-RAM", "qty": 2}]
    _, events = await run(
        ActionAddToCart(), tracker("also add the second one", "add_to_cart", [ent("ordinal", "2")], cart)
    )
    assert slots_of(events)["cart"] == [{"sku": "SKU-CPU", "qty": 2}, {"sku": "SKU-RAM", "qty": 1}]


def test_a_store_called_exactly_so_wins_over_stores_in_the_town_of_that_name():
    from actions.cart import best_matches
    from order_service.schemas import StoreOut

    base = {"type": "BigBox", "address": "1 Main St", "state": "NY", "zip": "11581", "pickup": True}
    base.update(lat=None, lon=None, hours_text="")
    named = StoreOut(id=1, name="Valley Stream", city="Valley Stream", **base)
    mall = StoreOut(id=2, name="Green Acres Mall", city="Valley Stream", **{**base, "address": "2034 Mall"})
    assert best_matches("valley stream", [mall, named]) == [named]
    assert best_matches("Valley Stream, NY", [mall, named]) == [mall, named]


def _after(intent: str) -> list[dict]:
    return [{"event": "user", "text": "…", "parse_data": {"intent": {"name": intent}, "entities": []}}]


async def test_one_more_product_right_after_an_add_is_added(shop):
    """ "and the Ryzen 7 test CPU" after adding the CPU is another add, whatever intent the NLU gave it;
    the same words after a search, or asked as a question, are not."""
    from actions.shopping_cart import continues_adding

    cart = {"cart": [{"sku": "SKU-HP", "qty": 1}], "product_sku": "SKU-HP"}
    for text in ["and the Ryzen 7 test CPU", "还有Ryzen 7 test CPU", "the Ryzen 7 test CPU too"]:
        assert continues_adding(
            tracker(text, "check_compatibility", slots=cart, events=_after("add_to_cart"))
        ), text
    assert not continues_adding(tracker("and the Ryzen 7 test CPU", "check_compatibility", slots=cart))
    assert not continues_adding(
        tracker("and the Ryzen 7 test CPU?", "check_compatibility", slots=cart, events=_after("add_to_cart"))
    )


async def test_a_quantity_in_words_after_a_cart_turn_changes_it(shop):
    from actions.shopping_cart import changes_quantity

    cart = {"cart": [{"sku": "SKU-CPU", "qty": 2}]}
    assert changes_quantity(
        tracker("hmm make it just one", "nlu_fallback", slots=cart, events=_after("add_to_cart"))
    )
    assert not changes_quantity(
        tracker("hmm make it just one", "nlu_fallback", slots=cart, events=_after("faq"))
    )
    assert not changes_quantity(tracker("hmm make it just one", "nlu_fallback", events=_after("add_to_cart")))
