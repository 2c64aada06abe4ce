"""The product-card payloads the actions send keep the contract the channels read (daogou.cards):
plain lists, comparisons and recommendations, in both languages, built from a real product graph."""

from __future__ import annotations

from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.answers import compare_answer
from actions.cards import cards_payload
from actions.recommend import Alternative, alternative_reason, present
from daogou.cards import payload_problems


async def test_every_card_payload_the_actions_send_keeps_the_contract(shop):
    graph = services.graph()
    products = [graph.products[sku] for sku in graph.columns.skus]
    with_part = [p for p in products if p.part_type][:2]
    assert len(with_part) == 2
    for lang in ("en", "zh"):
        dispatcher = CollectingDispatcher()
        await compare_answer(dispatcher, graph, [p.sku for p in with_part], lang)
        present(
            dispatcher,
            graph,
            "utter_recommendations",
            [Alternative(p.sku, alternative_reason(products[0], p, "similar")) for p in products[1:4]],
            lang,
        )
        payloads = [cards_payload(graph, products, lang), *(m["custom"] for m in dispatcher.messages)]
        assert len(payloads) == 3 and payloads[1].get("comparison") and payloads[2].get("kind")
        assert all(card.get("reason") for card in payloads[2]["products"])
        for payload in payloads:
            assert payload_problems(payload) == []
