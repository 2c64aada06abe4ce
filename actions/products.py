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

from actions import answers, searching, services
from actions.cards import cards_payload, listing
from actions.common import entity_values, language
from actions.references import ask_which, ordinal_positions, resolve_products, shown_skus
from catalog.models import Product
from knowledge_graph import api
from knowledge_graph.graph import ProductGraph
from knowledge_graph.parse import find_category
from knowledge_graph.search import AttributeFilter, SearchQuery, query_to_dict
from knowledge_graph.vocab import part_type_name

log = logging.getLogger(__name__)
Events = list[dict[str, Any]]


# --- shared helpers --------------------------------------------------------------------------------

async def _graph() -> ProductGraph:
    return await asyncio.to_thread(services.graph)


def _intent(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def referenced_skus(tracker: Tracker, graph: ProductGraph, limit: int = 1) -> list[str]:
    """Products the message points at (actions.references), without asking."""
    return resolve_products(tracker, graph, limit).skus


class ActionSearchProducts(Action):
    """search_products, refine_search ("cheaper", "only Corsair") and show_more_products."""

    def name(self) -> str:
        return "action_search_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        return await searching.search_answer(dispatcher, tracker, await _graph(), _intent(tracker))


# --- one product -----------------------------------------------------------------------------------

async def _focus(dispatcher: CollectingDispatcher, tracker: Tracker) -> tuple[str, ProductGraph, Product] | Events:
    """(language, graph, the product the message is about), or the events of asking which one
    (several candidates: a clarifying question with buttons; none: say so and offer a search)."""
    graph = await _graph()
    lang = language(tracker)
    found = resolve_products(tracker, graph)
    if found.ambiguous:
        return ask_which(dispatcher, graph, found.candidates, lang, _intent(tracker))
    if not found.skus:
        update, _ = searching.query_from_turn(graph, tracker)
        if update.category or update.part_type:     # "What's the cheapest NVMe SSD?": a search, not one product
            return await searching.search_answer(dispatcher, tracker, graph, "search_products")
        dispatcher.utter_message(response="utter_ask_which_product")
        return []
    return lang, graph, graph.products[found.skus[0]]


class ActionProductDetails(Action):
    def name(self) -> str:
        return "action_product_details"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        focus = await _focus(dispatcher, tracker)
        if isinstance(focus, list):
            return focus
        lang, graph, product = focus
        return await answers.product_answer(dispatcher, tracker, graph, product, lang)


class ActionProductAttribute(Action):
    """"How many cores does the Ryzen 7 9800X3D have?" / "第一个的刷新率是多少？"."""

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
        skus = referenced_skus(tracker, graph, limit=4)
        shown = shown_skus(tracker, graph)
        if len(skus) < 2 and len(shown) >= 2 and not ordinal_positions(tracker):
            skus = list(dict.fromkeys(skus + shown))[:2]
        if len(skus) < 2:
            dispatcher.utter_message(response="utter_compare_need_two")
            return []
        table = await asyncio.to_thread(api.compare, graph, skus, lang)
        lines = []
        for row in table.rows:
            cells = [f"{v}{' ✓' if row.best == i else ''}" for i, v in enumerate(row.values)]
            lines.append(f"{row.name}: " + " | ".join(cells))
        names = " | ".join(f"{i}. {p.name}" for i, p in enumerate(table.products, 1))
        dispatcher.utter_message(response="utter_comparison", products=names, table="\n".join(lines),
                                 json_message={**cards_payload(graph, table.products, lang),
                                               "comparison": {"header": [p.name for p in table.products],
                                                              "rows": [{"name": r.name, "values": list(r.values),
                                                                        "best": r.best} for r in table.rows]}})
        return [SlotSet("shown_skus", [p.sku for p in table.products])]


COMPAT_WORDS = re.compile(r"(?i)\b(fit|fits|compatible|compatibility|work with|works with|go with|support|supports|"
                          r"pair|match)\b|兼容|适配|支持|搭配|配得上|能配|能用|插得上|装得下")


class ActionCheckCompatibility(Action):
    """"Will this CPU fit the Asus PRIME B650-PLUS WIFI?" — the answer and the reason."""

    def name(self) -> str:
        return "action_check_compatibility"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
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
        response = {True: "utter_compatible_yes", False: "utter_compatible_no", None: "utter_compatible_unknown"}[result.compatible]
        dispatcher.utter_message(response=response, reasons=result.text(lang))
        return [SlotSet("product_sku", pair[0]), SlotSet("shown_skus", pair)]


class ActionWhatFits(Action):
    """"What motherboards fit the first one?" — compatible parts per related type."""

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
                other = next((graph.products[s] for s in shown_skus(tracker, graph)
                              if graph.products[s].part_type not in (None, pt)), None)
                if other is not None:
                    product, wanted = other, pt
                    break
            elif pt:
                wanted = pt
                break
        groups = await asyncio.to_thread(api.compatible_with, graph, product.sku, wanted, 3)
        groups = [g for g in groups if g.products]
        if not groups:
            dispatcher.utter_message(response="utter_nothing_fits", product=product.name)
            return [SlotSet("product_sku", product.sku)]
        shown: list[Product] = []
        for group in groups:
            dispatcher.utter_message(response="utter_fits_with", product=product.name,
                                     kind=part_type_name(group.part_type, lang), reason=group.reason(lang),
                                     total=group.total, products=listing(group.products, lang, len(shown) + 1))
            shown.extend(group.products)
        dispatcher.utter_message(json_message=cards_payload(graph, shown, lang))
        events: Events = [SlotSet("shown_skus", [p.sku for p in shown]), SlotSet("product_sku", product.sku)]
        follow_up = fits_query(product, groups[0].part_type) if len(groups) == 1 else None
        return events + [SlotSet("search_query", query_to_dict(follow_up) if follow_up else None)]


def fits_query(product: Product, part_type: str) -> SearchQuery | None:
    """The search behind a "what fits" list, where the fit is one attribute (a board or CPU by
    socket, memory by generation), so "any under 150?" refines that list and not an older search."""
    a = product.attributes
    if part_type in ("motherboard", "cpu") and product.part_type in ("cpu", "motherboard") and a.get("socket"):
        return SearchQuery(part_type=part_type, filters=(AttributeFilter("socket", "eq", a["socket"]),))
    if part_type == "memory" and a.get("memory_type"):
        return SearchQuery(part_type="memory", filters=(AttributeFilter("memory_type", "eq", a["memory_type"]),))
    return None


class ActionShowAccessories(Action):
    def name(self) -> str:
        return "action_show_accessories"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        focus = await _focus(dispatcher, tracker)
        if isinstance(focus, list):
            return focus
        lang, graph, product = focus
        groups = [g for g in await asyncio.to_thread(api.accessories, graph, product.sku, 2) if g.products]
        if not groups:
            dispatcher.utter_message(response="utter_no_accessories", product=product.name)
            return [SlotSet("product_sku", product.sku)]
        shown: list[Product] = []
        lines = []
        for group in groups:
            lines.append(f"• {group.reason(lang)}:\n" + listing(group.products, lang, len(shown) + 1))
            shown.extend(group.products)
        dispatcher.utter_message(response="utter_accessories", product=product.name, groups="\n".join(lines),
                                 json_message=cards_payload(graph, shown, lang))
        return [SlotSet("shown_skus", [p.sku for p in shown]), SlotSet("product_sku", product.sku)]
