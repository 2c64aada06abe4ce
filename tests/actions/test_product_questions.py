"""Product questions as shoppers ask them (actions/products.py, actions/searching.py, actions/answers.py):
a bare name taken for a comparison, a comparison completed in a second message, a question about
same-named products in focus, "the cheapest of a model line", a brand and a kind in the plural, an
attribute the catalogue lacks. Expected products and prices come from the real catalogue."""

from __future__ import annotations

import re
import time
from collections import Counter

from rasa_sdk.executor import CollectingDispatcher

from actions.products import ActionCompareProducts, ActionProductAttribute, ActionProductDetails
from actions.searching import search_answer
from tests.actions.action_harness import responses, run, slots_of, tracker
from tests.actions.test_understand import catalogue, real_graph  # noqa: F401  (the real catalogue, shared fixtures)


def _names(graph) -> Counter:
    return Counter(p.name for p in graph.products.values())


def _unique(graph, part_type: str, skip: int = 0):
    names = _names(graph)
    found = [
        graph.products[s]
        for s in graph.columns.skus
        if graph.products[s].part_type == part_type
        and names[graph.products[s].name] == 1
        and any(c.isdigit() for c in graph.products[s].name)
        and len(graph.products[s].name.split()) >= 3
    ]
    return found[skip]


def _said_before(intent: str, text: str) -> list[dict]:
    return [
        {
            "event": "user",
            "timestamp": time.time(),
            "text": text,
            "parse_data": {"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": []},
        }
    ]


async def test_a_bare_name_taken_for_a_comparison_shows_the_product(catalogue):
    product = _unique(catalogue, "mouse")
    messages, events = await run(ActionCompareProducts(), tracker(product.name, "compare_products"))
    assert responses(messages) == ["utter_product_details"] and messages[0]["product"] == product.name


async def test_a_comparison_is_completed_by_the_next_message(catalogue):
    first, second = _unique(catalogue, "case"), _unique(catalogue, "case", skip=1)
    messages, events = await run(
        ActionCompareProducts(), tracker(f"compare the {first.name}", "compare_products")
    )
    assert responses(messages) == ["utter_compare_need_two"]
    focus = slots_of(events)["product_sku"]
    messages, events = await run(
        ActionProductDetails(),
        tracker(
            f"with the {second.name}",
            "product_details",
            slots={"product_sku": focus},
            events=_said_before("compare_products", f"compare the {first.name}"),
        ),
    )
    assert responses(messages) == ["utter_comparison"]
    assert set(slots_of(events)["shown_skus"]) == {first.sku, second.sku}


async def test_a_question_about_same_named_products_answers_for_the_first(catalogue):
    """Same-named mice (colours, sellers) that share the value asked about are answered for the
    first; when their values differ (a wired and a wireless "G Pro"), the shopper is asked which."""
    groups: dict[str, list[str]] = {}
    for p in catalogue.products.values():
        if p.part_type == "mouse" and "max_dpi" in p.attributes:
            groups.setdefault(p.name, []).append(p.sku)
    shared = differing = None
    for skus in groups.values():
        if len(skus) >= 2:
            values = {catalogue.products[s].attributes["max_dpi"] for s in skus}
            if len(values) == 1 and shared is None:
                shared = skus
            elif len(values) > 1 and differing is None:
                differing = skus
    assert shared and differing
    messages, _ = await run(
        ActionProductAttribute(),
        tracker("最高dpi多少", "ask_product_attribute", slots={"shown_skus": shared}),
    )
    assert responses(messages) == ["utter_product_attribute"]
    assert messages[0]["product"] == catalogue.products[shared[0]].name
    messages, _ = await run(
        ActionProductAttribute(),
        tracker("最高dpi多少", "ask_product_attribute", slots={"shown_skus": differing}),
    )
    assert responses(messages) == ["utter_ask_which_of"]


async def test_the_cheapest_of_a_model_line_lists_it_in_price_order(catalogue):
    line = [
        p for p in catalogue.products.values() if re.search(r"\bRTX 4090\b", str(p.attributes.get("chipset")))
    ]
    assert len(line) >= 2
    messages, _ = await run(ActionProductAttribute(), tracker("那4090最便宜多少钱", "ask_product_attribute"))
    cards = next(m["custom"]["products"] for m in messages if m.get("custom"))
    prices = [catalogue.products[c["sku"]].price for c in cards]
    assert prices == sorted(prices) and prices[0] == min(p.price for p in line)


async def test_a_price_question_about_the_product_in_focus_is_answered_whatever_its_intent(catalogue):
    product = _unique(catalogue, "cpu-cooler")
    dispatcher = CollectingDispatcher()
    await search_answer(
        dispatcher,
        tracker("价格呢", "refine_search", slots={"product_sku": product.sku}),
        catalogue,
        "refine_search",
    )
    assert responses(dispatcher.messages) == ["utter_product_attribute"]
    assert dispatcher.messages[0]["product"] == product.name


async def test_a_brand_and_a_kind_in_the_plural_is_a_search(catalogue):
    dispatcher = CollectingDispatcher()
    await search_answer(
        dispatcher, tracker("logitech wireless mice", "search_products"), catalogue, "search_products"
    )
    cards = next(m["custom"]["products"] for m in dispatcher.messages if m.get("custom"))
    assert len(cards) >= 2
    assert all(
        catalogue.products[c["sku"]].brand == "Logitech" and catalogue.products[c["sku"]].part_type == "mouse"
        for c in cards
    )


async def test_an_attribute_the_catalogue_lacks_is_said_to_be_unknown(catalogue):
    cooler = _unique(catalogue, "cpu-cooler")
    messages, _ = await run(
        ActionProductAttribute(), tracker(f"{cooler.name} 多高？", "ask_product_attribute")
    )
    assert (
        responses(messages) == ["utter_product_attribute_unknown"] and messages[0]["product"] == cooler.name
    )


async def test_a_choice_between_two_values_is_answered_by_the_product_in_focus(catalogue):
    board = next(
        p
        for p in catalogue.products.values()
        if p.part_type == "motherboard" and p.attributes.get("memory_type") == "DDR5"
    )
    dispatcher = CollectingDispatcher()
    await search_answer(
        dispatcher,
        tracker("那内存要买DDR4还是DDR5的", "refine_search", slots={"product_sku": board.sku}),
        catalogue,
        "refine_search",
    )
    cards = next(m["custom"]["products"] for m in dispatcher.messages if m.get("custom"))
    assert cards and all(
        catalogue.products[c["sku"]].attributes.get("memory_type") == board.attributes["memory_type"]
        for c in cards
    )


async def test_the_same_kind_with_one_more_constraint_keeps_the_budget(catalogue):
    from knowledge_graph.search import SearchQuery, query_to_dict

    previous = SearchQuery(part_type="video-card", price_max=300.0)
    dispatcher = CollectingDispatcher()
    await search_answer(
        dispatcher,
        tracker("要A卡", "search_products", slots={"search_query": query_to_dict(previous)}),
        catalogue,
        "search_products",
    )
    cards = [
        catalogue.products[c["sku"]]
        for c in next(m["custom"]["products"] for m in dispatcher.messages if m.get("custom"))
    ]
    assert cards and all(
        p.price <= previous.price_max and p.attributes.get("gpu_maker") == "AMD" for p in cards
    )


async def test_a_model_line_with_a_budget_is_a_search_not_a_question_which(catalogue):
    messages, _ = await run(ActionProductAttribute(), tracker("有没有1000元以下的4090", "product_details"))
    assert "utter_ask_which_of" not in responses(messages)


async def test_an_unclear_model_line_with_a_budget_is_searched(catalogue):
    from actions.understand import ActionUnderstandUnclear

    messages, _ = await run(ActionUnderstandUnclear(), tracker("有没有1000元以下的4090", "nlu_fallback"))
    assert "utter_ask_which_of" not in responses(messages)
    assert {"utter_no_products", "utter_products_relaxed"} & set(responses(messages))


async def test_another_kind_of_product_asked_with_one_in_focus_is_a_search(catalogue):
    """ "what about the cheapest 4tb ssd" after a question about a cooler: not the cooler again."""
    cooler = _unique(catalogue, "cpu-cooler")
    messages, _ = await run(
        ActionProductDetails(),
        tracker("what about the cheapest ssd", "product_details", slots={"product_sku": cooler.sku}),
    )
    cards = next(m["custom"]["products"] for m in messages if m.get("custom"))
    assert cards and all(catalogue.products[c["sku"]].part_type == "internal-hard-drive" for c in cards)
    assert all(m.get("product") != cooler.name for m in messages)
