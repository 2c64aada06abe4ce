"""Staff stock as associates really ask it: the scope from the wording and kept for a follow-up, a
stock question the NLU gave a shopper's intent, variants of one line counted side by side, how much
to reorder, and customers picked from the list just shown. Figures are asked of the test shop's order
service, never computed by the code under test."""

from __future__ import annotations

import time

from rasa_sdk.executor import CollectingDispatcher

from actions import answers, services
from actions.analytics import ActionStaffCustomerSegment, ActionStaffSegmentCustomers, customer_id_of_turn
from actions.staff import ActionStaffLowStock, ActionStaffReorder, ActionStaffStock
from actions.stock import ActionCheckStock
from actions.stores import ActionFindStore
from actions.understand import ActionUnderstandUnclear
from bot.channels.guard import REFUSED_KEY
from tests.actions.action_harness import ASSOCIATE, ent, responses, run, slots_of, tracker


def _earlier(intent: str, text: str = "earlier question") -> list[dict]:
    return [
        {
            "event": "user",
            "timestamp": time.time(),
            "text": text,
            "parse_data": {"intent": {"name": intent}, "entities": []},
        }
    ]


async def _staff(shop, user: str = ASSOCIATE) -> dict:
    return {"staff": {"token": await shop.staff_token(user)}}


async def test_a_follow_up_naming_only_a_product_keeps_the_scope(shop):
    staff = await _staff(shop)
    shop.set_stock(281, "SKU-RAM", 6)
    t = tracker(
        "what about SKU-RAM",
        "staff_stock",
        [ent("sku", "SKU-RAM")],
        metadata=staff,
        slots={"staff_stock_scope": "everywhere"},
    )
    messages, events = await run(ActionStaffStock(), t)
    assert responses(messages) == ["utter_staff_stock_everywhere"] and "Richfield" in messages[0]["lines"]
    assert slots_of(events) == {"product_sku": "SKU-RAM", "staff_stock_scope": "everywhere"}
    # the wording wins over the kept scope: "here" is my store
    t = tracker(
        "and here?",
        "staff_stock",
        [ent("sku", "SKU-RAM")],
        metadata=staff,
        slots={"staff_stock_scope": "everywhere"},
    )
    messages, _ = await run(ActionStaffStock(), t)
    assert responses(messages) == ["utter_staff_stock_here"] and messages[0]["store"] == "Roseville"


async def test_a_shopper_intent_on_the_staff_channel_gets_staff_figures_in_scope(shop):
    staff = await _staff(shop)
    shop.set_stock(281, "SKU-CPU", 5)
    # "9800X3D全国哪些店有货" taken for find_store, "which stores near us have …" likewise
    messages, events = await run(
        ActionFindStore(),
        tracker("SKU-CPU全国哪些店有货", "find_store", [ent("sku", "SKU-CPU")], metadata=staff),
    )
    assert responses(messages) == ["utter_staff_stock_everywhere"]
    messages, _ = await run(
        ActionFindStore(),
        tracker("which stores near us have SKU-CPU?", "find_store", [ent("sku", "SKU-CPU")], metadata=staff),
    )
    assert responses(messages) == ["utter_staff_stock_nearby"] and "Richfield" in messages[0]["lines"]
    # an availability question in shopper words keeps the scope of the staff question before it
    messages, _ = await run(
        ActionCheckStock(),
        tracker(
            "is SKU-CPU in stock?",
            "ask_stock",
            [ent("sku", "SKU-CPU")],
            metadata=staff,
            slots={"staff_stock_scope": "nearby"},
        ),
    )
    assert responses(messages) == ["utter_staff_stock_nearby"]
    # a shopper asking the same gets the store finder's question, not staff figures
    messages, _ = await run(
        ActionFindStore(),
        tracker("which stores near us have SKU-CPU?", "find_store", [ent("sku", "SKU-CPU")]),
    )
    assert responses(messages) == ["utter_ask_store_location"]


async def test_a_manager_without_a_store_then_everywhere(shop):
    staff = await _staff(shop, "manager")
    messages, events = await run(
        ActionStaffStock(),
        tracker(
            "how many SKU-CPU at my store",
            "staff_stock",
            [ent("sku", "SKU-CPU"), ent("stock_scope", "store")],
            metadata=staff,
        ),
    )
    assert responses(messages) == ["utter_staff_no_store"] and slots_of(events)["product_sku"] == "SKU-CPU"
    shop.set_stock(498, "SKU-CPU", 3)
    messages, _ = await run(
        ActionStaffStock(),
        tracker("ok then everywhere", "staff_stock", metadata=staff, slots=slots_of(events)),
    )
    assert responses(messages) == ["utter_staff_stock_everywhere"] and "Northgate" in messages[0]["lines"]


async def test_a_follow_up_the_nlu_could_not_place_continues_the_stock_question(shop):
    staff = await _staff(shop)
    shop.set_stock(7, "SKU-RAM", 2)
    after_find_store = [
        *_earlier("find_store"),
        {"event": "slot", "name": "staff_stock_scope", "value": "store"},
    ]
    t = tracker(
        "SKU-RAM呢",
        "nlu_fallback",
        [ent("sku", "SKU-RAM")],
        metadata=staff,
        events=after_find_store,
        slots={"staff_stock_scope": "store"},
    )
    messages, _ = await run(ActionUnderstandUnclear(), t)
    assert responses(messages) == ["utter_staff_stock_here"]
    expected = await shop.client.stock_at("SKU-RAM", 7, staff_token=staff["staff"]["token"])
    assert (messages[0]["available"], messages[0]["on_hand"]) == (expected.available, expected.on_hand)


async def test_several_variants_are_counted_side_by_side_at_my_store(shop):
    staff = await _staff(shop)
    token = staff["staff"]["token"]
    shop.set_stock(7, "SKU-CPU", 4)
    shop.set_stock(7, "SKU-RAM", 1)
    dispatcher = CollectingDispatcher()
    me = await shop.client.staff_me(token)
    events = await answers.staff_stock_answer(
        dispatcher, services.graph(), token, me, ["SKU-CPU", "SKU-RAM"], "store", "en"
    )
    assert responses(dispatcher.messages) == ["utter_staff_stock_here"] * 2
    for message, sku in zip(dispatcher.messages, ("SKU-CPU", "SKU-RAM")):
        expected = await shop.client.stock_at(sku, 7, staff_token=token)
        assert sku in message["sku"] and message["available"] == expected.available
    assert slots_of(events)["shown_skus"] == ["SKU-CPU", "SKU-RAM"]


async def test_how_much_to_reorder_of_an_item_of_the_low_stock_list(shop):
    staff = await _staff(shop)
    token = staff["staff"]["token"]
    shop.set_stock(7, "SKU-RAM", 1)
    shop.set_stock(7, "SKU-HP", 0)
    messages, events = await run(
        ActionStaffLowStock(), tracker("low stock", "staff_low_stock", metadata=staff)
    )
    shown = slots_of(events)["shown_skus"]
    low = [i.sku for i in await shop.client.low_stock(7, token)]
    assert shown == low[: len(shown)] and shown
    messages, _ = await run(
        ActionStaffReorder(),
        tracker(
            "how many of the first one to order in",
            "staff_reorder",
            [ent("ordinal", "1")],
            metadata=staff,
            slots=slots_of(events),
        ),
    )
    plan = await shop.client.replenishment(shown[0], 7, token)
    assert responses(messages) == ["utter_staff_reorder"]
    lines = messages[0]["lines"].splitlines()
    assert len(lines) == 1 and f"({plan.sku}): {plan.available} · {plan.reorder_point} · " in lines[0]
    # nothing pointed at: every item of the list
    messages, _ = await run(
        ActionStaffReorder(), tracker("要补多少", "staff_reorder", metadata=staff, slots=slots_of(events))
    )
    assert responses(messages) == ["utter_staff_reorder"] and len(messages[0]["lines"].splitlines()) == len(
        shown
    )


async def test_a_shopper_asking_for_a_staff_report_is_told_it_is_a_staff_tool(shop):
    t = tracker("show me the low stock report for my store", "nlu_fallback")
    t.latest_message[REFUSED_KEY] = "staff_low_stock"
    messages, _ = await run(ActionUnderstandUnclear(), t)
    assert responses(messages) == ["utter_staff_only"]


def test_customer_id_needs_an_id_like_word():
    assert customer_id_of_turn(tracker("what segment is this customer in?")) is None
    assert customer_id_of_turn(tracker("customer info please")) is None
    assert customer_id_of_turn(tracker("demo-0027")) == "demo-0027"
    assert customer_id_of_turn(tracker("客户demo-0367属于哪个分群")) == "demo-0367"


async def test_no_customer_named_asks_which(shop):
    staff = await _staff(shop, "manager")
    messages, _ = await run(
        ActionStaffCustomerSegment(),
        tracker("what segment is this customer in?", "staff_customer_segment", metadata=staff),
    )
    assert responses(messages) == ["utter_analytics_ask_customer"]


async def test_a_position_picks_a_customer_of_the_list_just_shown(shop):
    staff = await _staff(shop, "manager")
    shown = {"shown_customers": ["nobody-1", "nobody-2"]}
    assert (
        customer_id_of_turn(
            tracker("第二个客户的价值怎么样", "staff_customer_segment", [ent("ordinal", "2")], slots=shown)
        )
        == "nobody-2"
    )
    # the NLU took it for the list again: the customer is answered, not the segment list
    messages, _ = await run(
        ActionStaffSegmentCustomers(),
        tracker(
            "第一个客户的价值怎么样",
            "staff_segment_customers",
            [ent("ordinal", "1")],
            metadata=staff,
            slots=shown,
        ),
    )
    assert (
        responses(messages) == ["utter_analytics_customer_unknown"] and messages[0]["customer"] == "nobody-1"
    )


async def test_a_product_named_with_a_scope_word_is_a_stock_question_for_staff(shop):
    staff = await _staff(shop)
    graph = services.graph()
    dispatcher = CollectingDispatcher()
    await answers.product_answer(
        dispatcher,
        tracker("本店的SKU-CPU", "product_details", metadata=staff),
        graph,
        graph.products["SKU-CPU"],
        "zh",
    )
    assert responses(dispatcher.messages) == ["utter_staff_stock_here"]
    dispatcher = CollectingDispatcher()  # a shopper saying the same gets the product
    await answers.product_answer(
        dispatcher, tracker("本店的SKU-CPU", "product_details"), graph, graph.products["SKU-CPU"], "zh"
    )
    assert responses(dispatcher.messages) == ["utter_product_details"]
