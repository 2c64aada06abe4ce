"""Stores as shoppers point at them: one of several listed ("第一家", "加州那家", "14街那家"), a store
sharing a name with others, a misspelt name in a stock question, "where else nearby" after a store
without the product. Expected stores come from the stores data by their fields, not typed-in ids."""

from __future__ import annotations

import pytest

from actions import references
from actions.stores import ActionFindStore
from catalog import load_stores
from catalog.reference import load_yaml
from tests.actions.action_harness import STORES, ent, responses, run, slots_of, tracker


def stores_listed(utter_action: str = "utter_stores_found") -> list[dict]:
    return [{"event": "bot", "text": "…", "metadata": {"utter_action": utter_action}, "data": {}}]


@pytest.fixture(scope="module")
def shared() -> list:
    """Stores of one name in several states, each state once (e.g. Brentwood CA, MO, TN)."""
    by_name: dict[str, list] = {}
    for s in load_stores():
        by_name.setdefault(s.name, []).append(s)
    return next(g for g in by_name.values() if len(g) >= 3 and len({s.state for s in g}) == len(g))


def test_a_state_picks_one_of_the_stores_listed(shared):
    zh = load_yaml("places_zh.yaml")["states"]
    for store in shared:
        t = tracker(
            f"{zh[store.state][0]}那家",
            "inform",
            slots={"shown_stores": [s.id for s in shared]},
            events=stores_listed(),
        )
        assert references.store_picked(t) == store.id
        assert references.store_mentioned(t) == f"#{store.id}"


def test_a_state_picks_among_the_stores_the_previous_message_named(shared):
    store = shared[-1]
    before = {"event": "user", "text": f"{store.name}店有货吗", "parse_data": {"entities": []}}
    t = tracker(f"the one in {store.state}", "inform", events=[before])
    assert references.store_picked(t) == store.id


def test_a_position_means_a_store_only_after_a_store_list(shared):
    ids = [s.id for s in shared]
    assert (
        references.store_picked(
            tracker("第二家几点开门", "store_hours", slots={"shown_stores": ids}, events=stores_listed())
        )
        == ids[1]
    )
    cards = [{"event": "bot", "text": "…", "metadata": {}, "data": {"custom": {"products": []}}}]
    assert (
        references.store_picked(
            tracker("the second one", "inform", slots={"shown_stores": ids}, events=stores_listed() + cards)
        )
        is None
    )


def test_the_pending_question_is_the_intent_its_buttons_repeat():
    asked = {
        "event": "bot",
        "text": "Which one?",
        "data": {"buttons": [{"title": "1", "payload": '/ask_stock{"sku": "X"}'}]},
    }
    earlier = {"event": "user", "text": "is it in stock", "parse_data": {}}
    assert references.pending_intent(tracker("the 2TB one", "inform", events=[earlier, asked])) == "ask_stock"
    later = {"event": "user", "text": "hi", "parse_data": {}}
    assert references.pending_intent(tracker("the 2TB one", "inform", events=[earlier, asked, later])) is None


async def test_a_store_named_like_the_query_comes_before_stores_in_a_city_of_that_name(shop):
    named = next(s for s in STORES if s.name == s.city)
    found = await references.find_store(named.name)
    assert [s.id for s in found] == [named.id]


async def test_a_misspelt_store_name_is_corrected_only_where_one_store_is_needed(shop):
    store = next(s for s in STORES if s.name == "Richfield")
    typo = store.name[:3] + store.name[4:]  # one letter dropped
    assert [s.id for s in await references.find_store(typo, correct_typos=True)] == [store.id]
    assert await references.find_store(typo) == []


async def test_where_else_nearby_lists_the_nearest_stores_that_have_it(shop):
    here, there = (
        STORES[0],
        next(s for s in STORES if s.state == STORES[0].state and s.type == "BigBox" and s != STORES[0]),
    )
    shop.set_stock(here.id, "SKU-CPU", 0)
    shop.set_stock(there.id, "SKU-CPU", 5)
    messages, events = await run(
        ActionFindStore(),
        tracker(
            "where else nearby?", "find_store", slots={"product_sku": "SKU-CPU", "store_id": float(here.id)}
        ),
    )
    assert responses(messages) == ["utter_stores_with_item"]
    assert there.name in messages[0]["stores"] and here.name not in messages[0]["stores"]
    assert there.id in slots_of(events)["shown_stores"]


async def test_a_zip_said_as_a_place_lists_the_stores_there(shop):
    store = STORES[0]
    messages, events = await run(ActionFindStore(), tracker(f"我在{store.zip}", "find_store"))
    assert responses(messages) == ["utter_stores_found"] and store.name in messages[0]["stores"]
    assert slots_of(events)["shown_stores"][0] == store.id


async def test_a_store_named_before_which_one_was_asked_is_where_the_stock_is_told(shop):
    from rasa_sdk.executor import CollectingDispatcher

    from actions import answers

    store = next(s for s in STORES if s.name == "Richfield")
    before = {
        "event": "user",
        "text": f"is the ryzen in stock at {store.name}?",
        "parse_data": {"entities": [{"entity": "store", "value": store.name}]},
    }
    dispatcher = CollectingDispatcher()
    events = await answers.stock_answer(
        dispatcher, tracker("the 8 core one", "inform", events=[before]), "SKU-CPU"
    )
    assert responses(dispatcher.messages)[0] in ("utter_stock_in_stock", "utter_stock_low", "utter_stock_out")
    assert dispatcher.messages[0]["store"] == store.name and slots_of(events)["store_id"] == float(store.id)


async def test_a_store_and_a_product_named_in_a_store_question_answer_its_stock_there(shop):
    store = next(s for s in STORES if s.name == "Richfield")
    messages, events = await run(
        ActionFindStore(),
        tracker(f"{store.name}店有Ryzen 7 test CPU吗", "find_store", [ent("store", store.name)]),
    )
    assert responses(messages)[0] in ("utter_stock_in_stock", "utter_stock_low", "utter_stock_out")
    assert messages[0]["store"] == store.name and slots_of(events)["product_sku"] == "SKU-CPU"
    # "which stores near …" with a product lists the nearest stores that have it
    shop.set_stock(store.id, "SKU-CPU", 3)
    messages, _ = await run(
        ActionFindStore(),
        tracker(f"{store.zip}附近哪家店有Ryzen 7 test CPU", "find_store", [ent("store", store.zip)]),
    )
    assert responses(messages) == ["utter_stores_with_item"] and store.name in messages[0]["stores"]


def test_a_store_named_without_its_corner_is_found_in_the_text():
    full = next(s.name for s in load_stores() if s.name.endswith(")") and " (" in s.name)
    short = full.split(" (")[0]
    t = tracker(f"{short}那家几点关门", "store_hours")
    assert references.store_mentioned(t) == short
