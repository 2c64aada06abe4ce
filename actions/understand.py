"""The last chance before "sorry, I didn't get that": a message the NLU could not place
(nlu_fallback) or took for something the shop does not do (out_of_scope) is read against the
catalogue and the conversation.

Short follow-ups and bare product names are where intent classification is weakest ("Corsair
RM850x", "what about at Mall of America?", "and the second one?", "第二款要多少钱"), yet they are
clear in context. The rule for nlu_fallback runs this action: a store named (or a stock question
just asked) with a product to point at → its stock there; a reference with an attribute word → that
attribute; a product named → its details, or which one when several match; a budget, brand or
filter alone after a search → that search narrowed; a kind of product → a search; anything else →
the usual request to rephrase. It answers through actions.answers, exactly as the actions of those
intents do."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import answers, building, references, searching, services, shopping_cart
from actions.common import identity, language, previous_intent
from bot.channels.guard import REFUSED_KEY
from knowledge_graph.parse import find_attribute

Events = list[dict[str, Any]]
STOCK_INTENTS = ("ask_stock",)
PRODUCT_INTENTS = (
    "product_details",
    "ask_product_attribute",
    "search_products",
    "refine_search",
    "compare_products",
)


async def read_in_context(dispatcher: CollectingDispatcher, tracker: Tracker) -> Events | None:
    """The answer to a message read against the catalogue and the conversation, or None when it says
    nothing that can be acted on (the caller asks to rephrase)."""
    if building.takes_over(tracker, "nlu_fallback"):  # "gaming, about 1500" when a build asked for it
        return await building.build_answer(dispatcher, tracker)
    if shopping_cart.changes_quantity(tracker):  # "actually make it just one" right after a cart turn
        return await shopping_cart.change_cart(dispatcher, tracker)
    if shopping_cart.continues_adding(tracker):  # "and the Corsair RM650" right after an add
        return await shopping_cart.add_to_cart(dispatcher, tracker)
    graph = await asyncio.to_thread(services.graph)
    lang = language(tracker)
    text = tracker.latest_message.get("text") or ""
    found = await asyncio.to_thread(references.resolve_products, tracker, graph)
    before = previous_intent(tracker)
    pointed = found.source in ("sku", "ordinal", "superlative", "mention")
    store_named = references.store_mentioned(tracker) is not None
    follow_up = searching.store_follow_up(tracker)
    if follow_up is not None and not pointed:  # "加州那家", "那旧金山呢", "14街那家"
        return [FollowupAction(follow_up)]
    asked_stock = (
        before in STOCK_INTENTS
        or references.pending_intent(tracker) in STOCK_INTENTS
        or answers.after_stock_answer(tracker)
    )
    if asked_stock and pointed and not store_named and identity(tracker).get("staff_token"):
        return await answers.staff_stock_turn(dispatcher, tracker)  # staff figures, in the scope kept
    if (store_named and (found.skus or found.ambiguous)) or (asked_stock and pointed):
        one = found.skus[0] if found.skus else answers.one_in_focus(graph, found.candidates)
        if one is None:
            return references.ask_which(dispatcher, graph, found.candidates, lang, "ask_stock")
        return await answers.stock_answer(dispatcher, tracker, one)
    if found.skus and pointed and before == "compare_products":  # "9800X3D 和 i9-13900KF" to "which two?"
        pair = references.resolve_products(tracker, graph, limit=2)
        if len(pair.skus) == 2:
            return await answers.compare_answer(dispatcher, graph, pair.skus, lang)
    if found.skus and pointed:
        product = graph.products[found.skus[0]]
        if answers.ACCESSORY_WORDS.search(text):  # "I'm buying the 7800X3D, what else do I need with it"
            return await answers.accessories_answer(dispatcher, tracker, graph, product, lang)
        if find_attribute(text, product) is not None:
            return await answers.attribute_answer(dispatcher, tracker, graph, product, lang)
        if found.source == "mention" or before in PRODUCT_INTENTS:
            return await answers.product_answer(dispatcher, tracker, graph, product, lang)
    if found.source == "focus" and find_attribute(text, graph.products[found.skus[0]]) is not None:
        # "hows much is it" after a stock answer: the product talked about
        return await answers.attribute_answer(dispatcher, tracker, graph, graph.products[found.skus[0]], lang)
    update, _ = await asyncio.to_thread(searching.query_from_turn, graph, tracker)
    # after a stock question the buttons go on asking stock; a model line with its kind or a budget
    # ("有没有 4060 显卡", "1000元以下的4090") is a search
    searched = (
        update.category or update.part_type or update.price_min is not None or update.price_max is not None
    )
    if found.ambiguous and found.named and (asked_stock or not (searched or found.line)):
        return references.ask_which(
            dispatcher, graph, found.candidates, lang, "ask_stock" if asked_stock else "product_details"
        )
    if tracker.latest_message.get(REFUSED_KEY):  # a shopper asking for a staff tool ("low stock report")
        dispatcher.utter_message(response="utter_staff_only")
        return []
    if searching.narrows_only(update) and searching.previous_query(tracker) is not None:
        return await searching.search_answer(dispatcher, tracker, graph, "refine_search")  # "500以内的"
    if update.category or update.part_type or (found.ambiguous and found.named and (searched or found.line)):
        return await searching.search_answer(dispatcher, tracker, graph, "search_products")
    if await answers.faq_answer(dispatcher, tracker, lang):  # "运费怎么算的" taken for out_of_scope
        return []
    return None


class ActionUnderstandUnclear(Action):
    def name(self) -> str:
        return "action_understand_unclear"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        events = await read_in_context(dispatcher, tracker)
        if events is not None:
            return events
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        dispatcher.utter_message(
            response="utter_out_of_scope" if intent == "out_of_scope" else "utter_default"
        )
        return []


class ActionCoreFallback(Action):
    """Rasa's core fallback (no rule or story knows the next step), run here rather than as the built-in
    action_default_fallback so that the event record counts it as a fallback (actions/events.py reads
    utter_default): the same reply, and the turn is forgotten as the built-in does. Before that, the
    message is read in context like an unclear one: an intent no rule expects here ("why that one?"
    read as affirm after a build) may still point at what the conversation shows."""

    def name(self) -> str:
        return "action_core_fallback"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        # No rule knows what follows an answer given here either, so the policies would predict this
        # action again (ten times, until Rasa's circuit breaker): the answer ends with listening, and a
        # second call in one turn (after an action the answer handed over to) only listens.
        if ran_this_turn(tracker, self.name()):
            return [FollowupAction("action_listen")]
        events = await read_in_context(dispatcher, tracker)
        if events is not None:
            if any(e.get("event") == "followup" for e in events):
                return events
            return [*events, FollowupAction("action_listen")]
        dispatcher.utter_message(response="utter_default")
        return [UserUtteranceReverted()]


def ran_this_turn(tracker: Tracker, action: str) -> bool:
    """Whether `action` already ran since the shopper's latest message."""
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            return False
        if event.get("event") == "action" and event.get("name") == action:
            return True
    return False
