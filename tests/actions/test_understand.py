"""The understanding step for messages the NLU could not place (actions/understand.py): a product
named, a reference with an attribute word, a store named as a follow-up, or nothing to go on.
Expected products and prices come from the catalogue / the test shop, not from the code under test."""

from __future__ import annotations

import time

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.events import derive
from actions.understand import ActionCoreFallback, ActionUnderstandUnclear
from tests.actions.action_harness import ent, responses, run, slots_of, tracker


@pytest.fixture(scope="module")
def real_graph():
    from knowledge_graph.store import load_graph

    return load_graph(source="files")


@pytest.fixture
def catalogue(real_graph, monkeypatch):
    monkeypatch.setattr(services, "graph", lambda: real_graph)
    return real_graph


def _unique(graph, part_type: str):
    names: dict[str, int] = {}
    for p in graph.products.values():
        names[p.name] = names.get(p.name, 0) + 1
    return next(
        graph.products[s]
        for s in graph.columns.skus
        if graph.products[s].part_type == part_type
        and names[graph.products[s].name] == 1
        and any(c.isdigit() for c in graph.products[s].name)
    )


async def test_a_bare_product_name_shows_that_product(catalogue):
    product = _unique(catalogue, "power-supply")
    messages, events = await run(ActionUnderstandUnclear(), tracker(product.name, "nlu_fallback"))
    assert responses(messages) == ["utter_product_details"] and messages[0]["product"] == product.name
    assert slots_of(events)["product_sku"] == product.sku


async def test_a_position_and_a_price_word_answer_the_price(catalogue):
    shown = [s for s in catalogue.columns.skus if catalogue.products[s].part_type == "cpu"][:3]
    messages, _ = await run(
        ActionUnderstandUnclear(), tracker("第二款要多少钱", "nlu_fallback", slots={"shown_skus": shown})
    )
    assert responses(messages) == ["utter_product_attribute"]
    assert messages[0]["product"] == catalogue.products[shown[1]].name


async def test_nothing_to_go_on_asks_to_rephrase(catalogue):
    messages, _ = await run(ActionUnderstandUnclear(), tracker("blorp zzz", "nlu_fallback"))
    assert responses(messages) == ["utter_default"]


async def test_a_store_named_after_a_stock_question_answers_stock_there(shop):
    earlier = [
        {
            "event": "user",
            "timestamp": time.time(),
            "text": "is the ryzen in stock at Roseville?",
            "parse_data": {"intent": {"name": "ask_stock"}, "entities": []},
        }
    ]
    t = tracker(
        "what about at Richfield",
        "nlu_fallback",
        [ent("store", "Richfield")],
        slots={"product_sku": "SKU-CPU"},
        events=earlier,
    )
    messages, events = await run(ActionUnderstandUnclear(), t)
    assert responses(messages)[0] in ("utter_stock_in_stock", "utter_stock_low", "utter_stock_out")
    assert messages[0]["store"] == "Richfield" and slots_of(events)["store_id"] == 281.0


async def test_a_follow_up_to_a_stock_question_answers_stock_for_the_new_product(shop):
    from actions import answers

    earlier = [
        {
            "event": "user",
            "timestamp": time.time(),
            "text": "is the ryzen in stock at Richfield?",
            "parse_data": {"intent": {"name": "ask_stock"}, "entities": []},
        }
    ]
    t = tracker("and the corsair kit?", "product_details", slots={"store_id": 281.0}, events=earlier)
    dispatcher = CollectingDispatcher()
    graph = services.graph()
    await answers.product_answer(dispatcher, t, graph, graph.products["SKU-RAM"], "en")
    assert responses(dispatcher.messages)[0] in ("utter_stock_in_stock", "utter_stock_low", "utter_stock_out")
    assert dispatcher.messages[0]["store"] == "Richfield"
    # without the stock question before it, the same words ask for the product's details
    dispatcher = CollectingDispatcher()
    await answers.product_answer(
        dispatcher, tracker("and the corsair kit?", "product_details"), graph, graph.products["SKU-RAM"], "en"
    )
    assert responses(dispatcher.messages) == ["utter_product_details"]


async def test_a_faq_question_the_faq_does_not_know_that_points_at_a_product(catalogue):
    """ "那第二款多少钱？" taken for a FAQ: the FAQ is not sure, the position points into the last list."""
    from actions.faq_answers import product_question

    shown = [s for s in catalogue.columns.skus if catalogue.products[s].part_type == "monitor"][:3]
    dispatcher = CollectingDispatcher()
    t = tracker("那第二款多少钱？", "faq", slots={"shown_skus": shown})
    await product_question(dispatcher, t, "zh", t.latest_message["text"])
    assert responses(dispatcher.messages) == ["utter_product_attribute"]
    assert dispatcher.messages[0]["product"] == catalogue.products[shown[1]].name
    dispatcher = CollectingDispatcher()
    assert await product_question(dispatcher, tracker("运费怎么算", "faq"), "zh", "运费怎么算") is None


async def test_the_core_fallback_asks_to_rephrase_forgets_the_turn_and_is_counted():
    """Rasa's core fallback runs on the action server so that the event record sees it."""
    turn = tracker("and then the other thing", "greet")
    messages, events = await run(ActionCoreFallback(), turn)
    assert responses(messages) == ["utter_default"]
    assert [e["event"] for e in events] == ["rewind"]
    assert [e["type"] for e in derive(turn, "action_core_fallback", events, messages)] == ["fallback"]


async def test_a_core_fallback_that_answers_then_listens_and_never_answers_twice(catalogue):
    """No rule follows an answer given by the core fallback, so without listening the policies would
    run it again and again (Rasa's circuit breaker stops it after ten replies)."""
    product = _unique(catalogue, "power-supply")
    turn = tracker(product.name, "affirm")
    messages, events = await run(ActionCoreFallback(), turn)
    assert responses(messages) == ["utter_product_details"]
    assert events[-1] == {"event": "followup", "name": "action_listen", "timestamp": None}
    again = tracker(product.name, "affirm", events=[])
    again.events.append({"event": "action", "name": "action_core_fallback"})
    messages, events = await run(ActionCoreFallback(), again)
    assert messages == [] and events == [{"event": "followup", "name": "action_listen", "timestamp": None}]
