"""Product dialogue: search with refinement across turns, details and attribute questions,
comparison, compatibility and "what fits", accessories (similar products and alternatives are in
actions.recommend, which uses the recommender and falls back to the graph).

Thin async actions: read slots and entities → call the knowledge graph's typed API (in a thread, it
is CPU work) → reply with a domain response (English/Chinese variation by the `language` slot) and,
for channels that render them, a `custom` payload of product cards."""

from __future__ import annotations

import asyncio
import logging
import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers, building, searching, services, shopping_cart
from actions.common import entity_values, language
from actions.references import ask_which, ordinal_positions, resolve_products, shown_skus
from catalog.models import Product
from knowledge_graph import api
from knowledge_graph.graph import ProductGraph
from knowledge_graph.parse import category_part_type, find_category

log = logging.getLogger(__name__)
Events = list[dict[str, Any]]


# --- shared helpers --------------------------------------------------------------------------------


async def _graph() -> ProductGraph:
    return await asyncio.to_thread(services.graph)


def _intent(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


class ActionSearchProducts(Action):
    """search_products, refine_search ("cheaper", "only Corsair") and show_more_products."""

    def name(self) -> str:
        return "action_search_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        if answers.staff_stock_follow_up(tracker, await _graph()):  # staff: "那Corsair Dominator 8GB呢"
            return await answers.staff_stock_turn(dispatcher, tracker)
        return await searching.search_answer(dispatcher, tracker, await _graph(), _intent(tracker))


# --- one product -----------------------------------------------------------------------------------


async def _focus(
    dispatcher: CollectingDispatcher, tracker: Tracker
) -> tuple[str, ProductGraph, Product] | Events:
    """(language, graph, the product the message is about), or the events of asking which one
    (several candidates: a clarifying question with buttons; none: say so and offer a search)."""
    graph = await _graph()
    lang = language(tracker)
    found = resolve_products(tracker, graph)
    if (
        found.ambiguous
        and found.named
        and (
            searching.sorts(_text(tracker))
            or searching.budgeted(graph, tracker)
            or (found.line and _intent(tracker) == "product_details")
        )
    ):
        # "那4090最便宜多少钱", "有没有1000元以下的4090": everything the name covers, in price order or within the budget
        return await searching.search_answer(dispatcher, tracker, graph, "search_products")
    if found.ambiguous and (one := answers.one_in_focus(graph, found.candidates, _text(tracker))) is not None:
        return lang, graph, graph.products[one]
    if searching.refines_list(tracker, graph, found):  # "LG的有没有", "any white ones?" after a list
        return await searching.search_answer(dispatcher, tracker, graph, "refine_search")
    if found.ambiguous:
        # the name given to "which product?" after a stock question goes on asking stock
        target = "ask_stock" if answers.after_stock_answer(tracker) else _intent(tracker)
        return ask_which(dispatcher, graph, found.candidates, lang, target)
    if not found.skus:
        update, _ = searching.query_from_turn(graph, tracker)
        if update.category or update.part_type:  # "What's the cheapest NVMe SSD?": a search, not one product
            return await searching.search_answer(dispatcher, tracker, graph, "search_products")
        dispatcher.utter_message(response="utter_ask_which_product")
        return []
    if found.source == "focus" and (searching.sorts(_text(tracker)) or searching.budgeted(graph, tracker)):
        # "what about the cheapest 4tb ssd" while a CPU cooler is in focus: another kind, sorted or
        # budgeted, is a search ("what ram works with that board" stays about the board)
        update, _ = searching.query_from_turn(graph, tracker)
        kind = update.part_type or category_part_type(update.category)
        if kind and kind != graph.products[found.skus[0]].part_type:
            return await searching.search_answer(dispatcher, tracker, graph, "search_products")
    return lang, graph, graph.products[found.skus[0]]


class ActionProductDetails(Action):
    def name(self) -> str:
        return "action_product_details"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        if building.takes_over(tracker, "product_details"):  # "use the Ryzen 7 7700X" with a build shown
            return await building.build_answer(dispatcher, tracker)
        if answers.staff_stock_follow_up(tracker, await _graph()):  # staff: "ok what about the 7800x3d"
            return await answers.staff_stock_turn(dispatcher, tracker)
        focus = await _focus(dispatcher, tracker)
        if isinstance(focus, list):
            return focus
        lang, graph, product = focus
        if answers.ACCESSORY_WORDS.search(_text(tracker)):  # "I'm buying the 7800X3D, what else do I need?"
            return await answers.accessories_answer(dispatcher, tracker, graph, product, lang)
        return await answers.product_answer(dispatcher, tracker, graph, product, lang)


class ActionProductAttribute(Action):
    """ "How many cores does the Ryzen 7 9800X3D have?" / "第一个的刷新率是多少？"."""

    def name(self) -> str:
        return "action_product_attribute"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        focus = await _focus(dispatcher, tracker)
        if isinstance(focus, list):
            return focus
        lang, graph, product = focus
        return await answers.attribute_answer(dispatcher, tracker, graph, product, lang)


# --- several products ------------------------------------------------------------------------------


class ActionCompareProducts(Action):
    def name(self) -> str:
        return "action_compare_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        lang = language(tracker)
        graph = await _graph()
        found = resolve_products(tracker, graph, limit=4)
        skus = found.skus
        shown = shown_skus(tracker, graph)
        named = (found.skus or found.candidates)[:1] if found.named else []
        if named and not COMPARE_WORDS.search(_text(tracker)) and len(skus) < 2:
            # a bare product name the NLU took for a comparison ("Logitech G502 Hero"): show it
            one = skus[0] if skus else answers.one_in_focus(graph, found.candidates)
            if one is None:
                return ask_which(dispatcher, graph, found.candidates, lang, "product_details")
            return await answers.product_answer(dispatcher, tracker, graph, graph.products[one], lang)
        if len(skus) < 2 and len(shown) >= 2 and not ordinal_positions(tracker):
            skus = list(dict.fromkeys(skus + shown))[:2]
        if len(skus) < 2:
            dispatcher.utter_message(response="utter_compare_need_two")
            # the product named so far waits for the second ("with the Node 804")
            return [SlotSet("product_sku", named[0])] if named else []
        return await answers.compare_answer(dispatcher, graph, skus, lang)


COMPARE_WORDS = re.compile(
    r"(?i)\b(compare|comparison|vs\.?|versus|difference|differ|better|or)\b"
    r"|比较|对比|比一比|区别|差别|哪个好|哪个更|还是"
)


COMPAT_WORDS = re.compile(
    r"(?i)\b(fit|fits|compatible|compatibility|work with|works with|go with|support|supports|"
    r"pair|match)\b|兼容|适配|支持|搭配|配得上|能配|能用|插得上|装得下"
)


class ActionCheckCompatibility(Action):
    """ "Will this CPU fit the Asus PRIME B650-PLUS WIFI?" — the answer and the reason."""

    def name(self) -> str:
        return "action_check_compatibility"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        if shopping_cart.continues_adding(tracker):  # "and the Corsair RM650" right after an add
            return await shopping_cart.add_to_cart(dispatcher, tracker)
        if building.takes_over(tracker, "check_compatibility"):  # "would it work with Intel instead?"
            return await building.build_answer(dispatcher, tracker)
        lang = language(tracker)
        graph = await _graph()
        found = resolve_products(tracker, graph, limit=2)
        pair = found.skus
        if len(pair) < 2:
            if found.named and len(pair) == 1 and not COMPAT_WORDS.search(_text(tracker)):
                # a product named with no second part and no "fit"/"兼容": the shopper asks about it
                return await answers.product_answer(dispatcher, tracker, graph, graph.products[pair[0]], lang)
            if found.ambiguous:
                return ask_which(dispatcher, graph, found.candidates, lang, "product_details")
            dispatcher.utter_message(response="utter_ask_compatibility_pair")
            return []
        result = await asyncio.to_thread(api.compatibility, graph, pair[0], pair[1])
        response = {
            True: "utter_compatible_yes",
            False: "utter_compatible_no",
            None: "utter_compatible_unknown",
        }[result.compatible]
        dispatcher.utter_message(response=response, reasons=result.text(lang))
        return [SlotSet("product_sku", pair[0]), SlotSet("shown_skus", pair)]


class ActionWhatFits(Action):
    """ "What motherboards fit the first one?" — compatible parts per related type."""

    def name(self) -> str:
        return "action_what_fits"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        focus = await _focus(dispatcher, tracker)
        if isinstance(focus, list):
            return focus
        lang, graph, product = focus
        wanted = None
        for value in entity_values(tracker, "category") or [_text(tracker)]:
            _, pt, _ = find_category(graph, str(value))
            if pt == product.part_type:
                # "what boards would work with it?" right after a board and a CPU were checked: "it" is
                # the other part of the pair, not a board
                other = next(
                    (
                        graph.products[s]
                        for s in shown_skus(tracker, graph)
                        if graph.products[s].part_type not in (None, pt)
                    ),
                    None,
                )
                if other is not None:
                    product, wanted = other, pt
                    break
            elif pt:
                wanted = pt
                break
        return await answers.fits_answer(dispatcher, graph, product, wanted, lang)


class ActionShowAccessories(Action):
    def name(self) -> str:
        return "action_show_accessories"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        focus = await _focus(dispatcher, tracker)
        if isinstance(focus, list):
            return focus
        lang, graph, product = focus
        return await answers.accessories_answer(dispatcher, tracker, graph, product, lang)
