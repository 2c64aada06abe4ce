"""Product dialogue: search with refinement across turns, details and attribute questions,
comparison, compatibility and "what fits", accessories (similar products and alternatives are in
actions.recommend, which uses the recommender and falls back to the graph).

Thin async actions: read slots and entities → call the knowledge graph's typed API (in a thread, it
is CPU work) → reply with a domain response (English/Chinese variation by the `language` slot) and,
for channels that render them, a `custom` payload of product cards."""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.common import entity_values, language
from catalog.models import Product
from knowledge_graph import api
from knowledge_graph.graph import ProductGraph
from knowledge_graph.parse import (find_attribute, find_brands, find_category, find_products, parse_search,
                                   price_from_entity, refine_query)
from knowledge_graph.search import SearchQuery, SearchResult, query_from_dict, query_to_dict, search
from knowledge_graph.vocab import format_price, part_type_name

log = logging.getLogger(__name__)
Events = list[dict[str, Any]]
MAX_CARDS = 5


# --- shared helpers --------------------------------------------------------------------------------

async def _graph() -> ProductGraph:
    return await asyncio.to_thread(services.graph)


def _intent(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def _ordinal_positions(tracker: Tracker) -> list[int]:
    positions = []
    for value in entity_values(tracker, "ordinal"):
        try:
            positions.append(int(value))
        except (TypeError, ValueError):
            continue
    return positions


def referenced_skus(tracker: Tracker, graph: ProductGraph, limit: int = 1) -> list[str]:
    """Products the message points at, in order: explicit SKU entities (card buttons), ordinals into
    the last list ("the first one", "第二个"), products named in the text, then the product the
    conversation is about."""
    shown = [s for s in (tracker.get_slot("shown_skus") or []) if s in graph.products]
    skus: list[str] = [str(s).upper() for s in entity_values(tracker, "sku") if str(s).upper() in graph.products]
    for position in _ordinal_positions(tracker):
        index = position - 1 if position > 0 else position
        if -len(shown) <= index < len(shown):
            skus.append(shown[index])
    if len(skus) < limit:
        skus.extend(m.product.sku for m in find_products(graph, _text(tracker), limit=limit))
    focus = tracker.get_slot("product_sku")
    if len(dict.fromkeys(skus)) < limit and focus in graph.products:
        skus.append(focus)
    return list(dict.fromkeys(skus))[:limit]


def card(graph: ProductGraph, product: Product, lang: str) -> dict[str, Any]:
    """A product card with buttons (payloads are intents with the SKU entity)."""
    data = api.product_card(graph, product, lang)
    sku = json.dumps({"sku": product.sku})
    labels = {"en": ("Details", "Similar", "Accessories"), "zh": ("详情", "类似商品", "搭配配件")}[lang]
    data["currency"] = "USD"
    data["buttons"] = [{"title": labels[0], "payload": f"/product_details{sku}"},
                       {"title": labels[1], "payload": f"/show_similar{sku}"}]
    if product.part_type:
        data["buttons"].append({"title": labels[2], "payload": f"/show_accessories{sku}"})
    return data


def cards_payload(graph: ProductGraph, products: list[Product] | tuple[Product, ...], lang: str) -> dict[str, Any]:
    return {"type": "product_cards", "products": [card(graph, p, lang) for p in products[:MAX_CARDS]]}


def listing(products: list[Product] | tuple[Product, ...], lang: str, start: int = 1) -> str:
    """Numbered lines "1. AMD Ryzen 5 7600X — $170.49 (cores 6, boost clock 5.3 GHz)"."""
    lines = []
    for i, p in enumerate(products, start):
        specs = api.spec_line(p, lang, limit=3)
        lines.append(f"{i}. {p.name} — {format_price(p.price, lang)}" + (f"（{specs}）" if lang == "zh" and specs
                                                                       else f" ({specs})" if specs else ""))
    return "\n".join(lines)


def _show(dispatcher: CollectingDispatcher, graph: ProductGraph, response: str, products: list[Product] | tuple[Product, ...],
          lang: str, **kwargs: Any) -> Events:
    """Utter a list with cards and remember it for "the first one"."""
    dispatcher.utter_message(response=response, json_message=cards_payload(graph, products, lang),
                             products=listing(products, lang), **kwargs)
    skus = [p.sku for p in products]
    events: Events = [SlotSet("shown_skus", skus)]
    if len(skus) == 1:
        events.append(SlotSet("product_sku", skus[0]))
    return events


# --- search ----------------------------------------------------------------------------------------

def query_from_turn(graph: ProductGraph, tracker: Tracker) -> SearchQuery:
    """The message's constraints: NLU entities first (category, brand, price with roles
    price_min/price_max), completed by the parser for what entities do not carry (attribute
    filters with units, sort order, free text)."""
    text = _text(tracker)
    try:
        result = parse_search(graph, text) if text.strip() else None
    except ValueError:
        result = None
    parsed = result.query if result else SearchQuery()
    category, part_type = parsed.category, parsed.part_type
    if result and result.inferred_part_type and _intent(tracker) == "refine_search":
        part_type = None    # "only DDR5 ones" narrows the current list, it does not switch to memory
    for value in entity_values(tracker, "category"):
        cat, pt, _ = find_category(graph, str(value))
        if cat or pt:
            category, part_type = cat, pt
            break
    brands = list(parsed.brands)
    for value in entity_values(tracker, "brand"):
        found, _ = find_brands(graph, str(value))
        brands.extend(b for b in found if b not in brands)
    price_min, price_max = parsed.price_min, parsed.price_max
    lows = [price_from_entity(v) for v in entity_values(tracker, "price", "price_min")]
    highs = [price_from_entity(v) for v in entity_values(tracker, "price", "price_max")]
    if any(v is not None for v in lows):
        price_min = next(v for v in lows if v is not None)
    if any(v is not None for v in highs):
        price_max = next(v for v in highs if v is not None)
    if price_min is not None and price_max is not None and price_min > price_max:
        price_min, price_max = price_max, price_min
    return SearchQuery(category=category, part_type=part_type, brands=tuple(brands), price_min=price_min,
                       price_max=price_max, filters=parsed.filters, text=parsed.text, sort=parsed.sort)


def _is_empty(q: SearchQuery) -> bool:
    return not (q.category or q.part_type or q.brands or q.price_min is not None or q.price_max is not None
                or q.filters or q.text)


class ActionSearchProducts(Action):
    """search_products, refine_search ("cheaper", "only Corsair") and show_more_products."""

    def name(self) -> str:
        return "action_search_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        lang = language(tracker)
        graph = await _graph()
        intent = _intent(tracker)
        previous = None
        if isinstance(tracker.get_slot("search_query"), dict):
            try:
                previous = query_from_dict(tracker.get_slot("search_query"))
            except ValueError:
                previous = None
        if intent == "show_more_products" and previous is not None:
            query = replace(previous, page=previous.page + 1)
        else:
            update = query_from_turn(graph, tracker)
            if intent == "refine_search" and previous is not None:
                shown = [graph.products[s].price for s in tracker.get_slot("shown_skus") or [] if s in graph.products]
                query = refine_query(previous, update, _text(tracker), shown)
            else:
                query = update
        if _is_empty(query):
            dispatcher.utter_message(response="utter_ask_search_what")
            return []
        result: SearchResult = await asyncio.to_thread(search, graph, query)
        effective = result.query
        what = effective.describe(graph, lang) or ("商品" if lang == "zh" else "products")
        events: Events = [SlotSet("search_query", query_to_dict(effective))]
        if not result.items:
            key = "utter_no_more_products" if intent == "show_more_products" and result.total else "utter_no_products"
            dispatcher.utter_message(response=key, what=what)
            return events
        if result.relaxed:
            dropped = ("、" if lang == "zh" else ", ").join(r.text(lang) for r in result.relaxed)
            dispatcher.utter_message(response="utter_products_relaxed", dropped=dropped)
        start = (effective.page - 1) * effective.page_size + 1
        events += _show(dispatcher, graph, "utter_products_found", result.items, lang, what=what, total=result.total,
                        first=start, last=start + len(result.items) - 1)
        if result.has_more:
            dispatcher.utter_message(response="utter_products_more_available")
        return events


# --- one product -----------------------------------------------------------------------------------

async def _focus(dispatcher: CollectingDispatcher, tracker: Tracker) -> tuple[str, ProductGraph, Product] | None:
    """(language, graph, the product the message is about), or None after asking which product."""
    graph = await _graph()
    skus = referenced_skus(tracker, graph)
    if not skus:
        dispatcher.utter_message(response="utter_ask_which_product")
        return None
    return language(tracker), graph, graph.products[skus[0]]


class ActionProductDetails(Action):
    def name(self) -> str:
        return "action_product_details"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        focus = await _focus(dispatcher, tracker)
        if focus is None:
            return []
        lang, graph, product = focus
        info = await asyncio.to_thread(api.details, graph, product.sku, lang)
        sep = "；" if lang == "zh" else "; "
        specs = sep.join(f"{s.name}: {s.text}" for s in info.specs[:8])
        dispatcher.utter_message(response="utter_product_details", product=info.product.name,
                                 price=format_price(info.product.price, lang), kind=info.kind,
                                 brand=info.product.brand or "–", specs=specs or "–",
                                 json_message=cards_payload(graph, [info.product], lang))
        return [SlotSet("product_sku", info.product.sku)]


class ActionProductAttribute(Action):
    """"How many cores does the Ryzen 7 9800X3D have?" / "第一个的刷新率是多少？"."""

    def name(self) -> str:
        return "action_product_attribute"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        focus = await _focus(dispatcher, tracker)
        if focus is None:
            return []
        lang, graph, product = focus
        attribute = next((str(v) for v in entity_values(tracker, "attribute")), None)
        attribute = find_attribute(attribute or _text(tracker), product) or find_attribute(_text(tracker), product)
        if attribute is None:
            dispatcher.utter_message(response="utter_ask_which_attribute", product=product.name)
            return [SlotSet("product_sku", product.sku)]
        answer = await asyncio.to_thread(api.attribute_answer, graph, product.sku, attribute, lang)
        if answer.value is None:
            dispatcher.utter_message(response="utter_product_attribute_unknown", product=product.name,
                                     attribute=answer.name)
        else:
            dispatcher.utter_message(response="utter_product_attribute", product=product.name,
                                     attribute=answer.name, value=answer.text)
        return [SlotSet("product_sku", product.sku)]


# --- several products ------------------------------------------------------------------------------

class ActionCompareProducts(Action):
    def name(self) -> str:
        return "action_compare_products"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        lang = language(tracker)
        graph = await _graph()
        skus = referenced_skus(tracker, graph, limit=4)
        shown = [s for s in tracker.get_slot("shown_skus") or [] if s in graph.products]
        if len(skus) < 2 and len(shown) >= 2 and not _ordinal_positions(tracker):
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


class ActionCheckCompatibility(Action):
    """"Will this CPU fit the Asus PRIME B650-PLUS WIFI?" — the answer and the reason."""

    def name(self) -> str:
        return "action_check_compatibility"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        lang = language(tracker)
        graph = await _graph()
        named = [m.product.sku for m in find_products(graph, _text(tracker), limit=2)]
        skus = referenced_skus(tracker, graph, limit=2)
        # a product named in the text plus the one in focus ("will this CPU fit <board>?")
        pair = list(dict.fromkeys(named + skus))[:2]
        if len(pair) < 2:
            dispatcher.utter_message(response="utter_ask_compatibility_pair")
            return []
        result = await asyncio.to_thread(api.compatibility, graph, pair[0], pair[1])
        response = {True: "utter_compatible_yes", False: "utter_compatible_no", None: "utter_compatible_unknown"}[result.compatible]
        dispatcher.utter_message(response=response, reasons=result.text(lang))
        return [SlotSet("product_sku", pair[0])]


class ActionWhatFits(Action):
    """"What motherboards fit the first one?" — compatible parts per related type."""

    def name(self) -> str:
        return "action_what_fits"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        focus = await _focus(dispatcher, tracker)
        if focus is None:
            return []
        lang, graph, product = focus
        wanted = None
        for value in entity_values(tracker, "category") or [_text(tracker)]:
            _, pt, _ = find_category(graph, str(value))
            if pt and pt != product.part_type:
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
        return [SlotSet("shown_skus", [p.sku for p in shown]), SlotSet("product_sku", product.sku)]


class ActionShowAccessories(Action):
    def name(self) -> str:
        return "action_show_accessories"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        focus = await _focus(dispatcher, tracker)
        if focus is None:
            return []
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
