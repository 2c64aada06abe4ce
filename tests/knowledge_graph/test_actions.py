"""The product actions end to end against the real graph (no Rasa server: a Tracker built by hand)."""

from __future__ import annotations

from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import products as pa
from actions.recommend import ActionShowSimilar


def make_tracker(
    text: str, intent: str, entities: list[dict[str, Any]] | None = None, slots: dict[str, Any] | None = None
) -> Tracker:
    values = {
        "language": None,
        "shown_skus": None,
        "product_sku": None,
        "search_query": None,
        **(slots or {}),
    }
    message = {"text": text, "intent": {"name": intent}, "entities": entities or []}
    return Tracker(
        "test", values, message, [{"event": "user", "text": text}], False, None, {}, "action_listen"
    )


async def run(action, tracker) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {})
    return dispatcher.messages, {e["name"]: e["value"] for e in events if e.get("event") == "slot"}


def price_max(value: str) -> dict[str, Any]:
    return {"entity": "price", "role": "price_max", "value": value}


@pytest.mark.parametrize(
    "text,entities",
    [
        (
            "an AMD CPU under $300",
            [{"entity": "brand", "value": "AMD"}, {"entity": "category", "value": "CPU"}, price_max("300")],
        ),
        (
            "300美元以下的AMD处理器",
            [
                {"entity": "brand", "value": "AMD"},
                {"entity": "category", "value": "处理器"},
                price_max("300"),
            ],
        ),
    ],
)
async def test_search_lists_real_amd_cpus_and_remembers_them(graph, text, entities):
    messages, slots = await run(pa.ActionSearchProducts(), make_tracker(text, "search_products", entities))
    found = messages[0]
    assert found["response"] == "utter_products_found"
    skus = slots["shown_skus"]
    assert 1 <= len(skus) <= 5
    for sku in skus:
        p = graph.products[sku]
        assert p.part_type == "cpu" and p.brand == "AMD" and p.price <= 300
        assert p.name in found["products"]
    cards = found["custom"]["products"]
    assert [c["sku"] for c in cards] == skus and all(c["buttons"] for c in cards)
    assert slots["search_query"]["price_max"] == 300
    if text.startswith("300"):
        assert "美元" in found["products"] and "处理器" in found["what"]


async def test_refine_cheaper_only_brand_and_show_more(graph):
    _, slots = await run(pa.ActionSearchProducts(), make_tracker("an AMD CPU under $300", "search_products"))
    shown = [graph.products[s].price for s in slots["shown_skus"]]
    _, cheaper = await run(pa.ActionSearchProducts(), make_tracker("cheaper", "refine_search", slots=slots))
    assert all(graph.products[s].price < max(shown) for s in cheaper["shown_skus"])
    _, intel = await run(
        pa.ActionSearchProducts(),
        make_tracker("only Intel", "refine_search", [{"entity": "brand", "value": "Intel"}], slots),
    )
    assert {graph.products[s].brand for s in intel["shown_skus"]} == {"Intel"}
    _, more = await run(
        pa.ActionSearchProducts(), make_tracker("show more", "show_more_products", slots=slots)
    )
    assert more["search_query"]["page"] == 2 and not set(more["shown_skus"]) & set(slots["shown_skus"])


async def test_relaxed_search_says_so(graph):
    messages, _ = await run(pa.ActionSearchProducts(), make_tracker("AMD CPU under $20", "search_products"))
    assert messages[0]["response"] == "utter_products_relaxed" and "AMD" in messages[0]["dropped"]


async def test_empty_search_asks_what(graph):
    messages, _ = await run(pa.ActionSearchProducts(), make_tracker("hmm", "search_products"))
    assert messages[0]["response"] == "utter_ask_search_what"


async def test_attribute_question_on_the_first_result(graph):
    _, slots = await run(pa.ActionSearchProducts(), make_tracker("an AMD CPU under $300", "search_products"))
    messages, out = await run(
        pa.ActionProductAttribute(),
        make_tracker(
            "how many cores does the first one have?",
            "ask_product_attribute",
            [{"entity": "ordinal", "value": "1"}],
            slots,
        ),
    )
    first = graph.products[slots["shown_skus"][0]]
    assert messages[0]["response"] == "utter_product_attribute"
    assert messages[0]["value"] == str(first.attributes["core_count"]) and out["product_sku"] == first.sku


async def test_compatibility_of_focus_product_and_named_board(graph, by_name):
    cpu = by_name["Intel Core i9-14900K"]
    messages, _ = await run(
        pa.ActionCheckCompatibility(),
        make_tracker(
            "will this CPU fit the Asus PRIME B650-PLUS WIFI?",
            "check_compatibility",
            slots={"product_sku": cpu.sku},
        ),
    )
    assert messages[0]["response"] == "utter_compatible_no" and "LGA1700" in messages[0]["reasons"]


async def test_compare_details_fits_accessories_similar(graph):
    _, slots = await run(pa.ActionSearchProducts(), make_tracker("an AMD CPU under $300", "search_products"))
    ordinals = [{"entity": "ordinal", "value": "1"}, {"entity": "ordinal", "value": "2"}]
    messages, _ = await run(
        pa.ActionCompareProducts(),
        make_tracker("compare the first and second", "compare_products", ordinals, slots),
    )
    assert messages[0]["response"] == "utter_comparison" and "cores" in messages[0]["table"]
    first = [{"entity": "ordinal", "value": "1"}]
    messages, _ = await run(
        pa.ActionProductDetails(), make_tracker("第一个的详细参数", "product_details", first, slots)
    )
    assert messages[0]["response"] == "utter_product_details" and "核心数" in messages[0]["specs"]
    messages, out = await run(
        pa.ActionWhatFits(),
        make_tracker(
            "what motherboards fit the first one?",
            "ask_what_fits",
            first + [{"entity": "category", "value": "motherboards"}],
            slots,
        ),
    )
    socket = graph.products[slots["shown_skus"][0]].attributes["socket"]
    assert all(graph.products[s].attributes["socket"] == socket for s in out["shown_skus"])
    messages, _ = await run(
        pa.ActionShowAccessories(),
        make_tracker("accessories for the first", "show_accessories", first, slots),
    )
    assert messages[0]["response"] == "utter_accessories"
    messages, out = await run(
        ActionShowSimilar(),
        make_tracker("anything cheaper than the first one?", "show_similar", first, slots),
    )
    assert messages[0]["response"] == "utter_cheaper_alternatives"
    assert all(
        graph.products[s].price < graph.products[slots["shown_skus"][0]].price for s in out["shown_skus"]
    )
    assert f"less than {graph.products[slots['shown_skus'][0]].name}" in messages[0]["items"]
    messages, out = await run(
        ActionShowSimilar(), make_tracker("better ones than the first?", "show_similar", first, slots)
    )
    base = graph.products[slots["shown_skus"][0]]
    assert messages[0]["response"] == "utter_better_alternatives" and out["shown_skus"]
    assert all(base.price <= graph.products[s].price <= 1.5 * base.price for s in out["shown_skus"])
    assert all(
        c["reason"].endswith("more") and f"on {base.name}" in c["reason"]
        for c in messages[0]["custom"]["products"]
    )


async def test_no_product_in_focus_asks_which(graph):
    for action in (
        pa.ActionProductDetails(),
        pa.ActionProductAttribute(),
        ActionShowSimilar(),
        pa.ActionShowAccessories(),
    ):
        messages, _ = await run(action, make_tracker("tell me more", "product_details"))
        assert messages[0]["response"] == "utter_ask_which_product"


async def test_refining_with_a_value_keeps_the_category(graph):
    _, slots = await run(pa.ActionSearchProducts(), make_tracker("AMD motherboard", "search_products"))
    _, ddr5 = await run(
        pa.ActionSearchProducts(), make_tracker("only DDR5 ones", "refine_search", slots=slots)
    )
    assert ddr5["search_query"]["part_type"] == "motherboard"
    assert all(graph.products[s].attributes["memory_type"] == "DDR5" for s in ddr5["shown_skus"])
