"""Product dialogue: search with refinement across turns, details and attribute questions,
comparison, compatibility and "what fits", accessories (similar products and alternatives are in
actions.recommend, which uses the recommender and falls back to the graph).

Thin async actions: read slots and entities → call the knowledge graph's typed API (in a thread, it
is CPU work) → reply with a domain response (English/Chinese variation by the `language` slot) and,
for channels that render them, a `custom` payload of product cards."""
from __future__ import annotations

import asyncio
import re
import logging
from dataclasses import replace
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers, services
from actions.cards import cards_payload, listing
from actions.common import entity_values, language
from actions.references import ask_which, ordinal_positions, price_pick, resolve_products, shown_skus
from catalog.models import Product
from daogou.config import get_settings
from knowledge_graph import api
from knowledge_graph.graph import ProductGraph
from knowledge_graph.parse import (find_brands, find_category, parse_search,
                                   price_from_entity, refine_query)
from knowledge_graph.search import AttributeFilter, SearchQuery, SearchResult, query_from_dict, query_to_dict, search
from knowledge_graph.linker import link
from knowledge_graph.vocab import format_price, part_type_name, tokens

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


def _show(dispatcher: CollectingDispatcher, graph: ProductGraph, response: str, products: list[Product] | tuple[Product, ...],
          lang: str, **kwargs: Any) -> Events:
    """Utter a list with cards and remember it for "the first one"; after a list of several, "it"
    is ambiguous until the shopper picks one."""
    dispatcher.utter_message(response=response, json_message=cards_payload(graph, products, lang),
                             products=listing(products, lang), **kwargs)
    skus = [p.sku for p in products]
    return [SlotSet("shown_skus", skus), SlotSet("product_sku", skus[0] if len(skus) == 1 else None)]


# --- search ----------------------------------------------------------------------------------------

def query_from_turn(graph: ProductGraph, tracker: Tracker) -> tuple[SearchQuery, tuple[float, str, float] | None]:
    """The message's constraints and, when a budget was given in yuan, its conversion (amount,
    currency, USD). The parser reads the whole message (typos, "gaming PC", "about $1500",
    "3000元左右", currencies); the NLU entities fill in only what it did not find, since an entity
    value carries neither the currency nor "about"."""
    text = _text(tracker)
    try:
        result = parse_search(graph, text) if text.strip() else None
    except ValueError:
        result = None
    parsed = result.query if result else SearchQuery()
    category, part_type = parsed.category, parsed.part_type
    if result and result.inferred_part_type and _intent(tracker) == "refine_search":
        part_type = None    # "only DDR5 ones" narrows the current list, it does not switch to memory
    if not (category or part_type):
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
    if price_min is None and price_max is None:
        lows = [v for v in (price_from_entity(v) for v in entity_values(tracker, "price", "price_min")) if v is not None]
        highs = [v for v in (price_from_entity(v) for v in entity_values(tracker, "price", "price_max")) if v is not None]
        price_min = lows[0] if lows else None
        price_max = highs[0] if highs else None
    if price_min is not None and price_max is not None and price_min > price_max:
        price_min, price_max = price_max, price_min
    words = parsed.text
    mentions = link(graph, text, limit=1)
    if mentions:    # a product line named ("do you carry the 990 Pro?"): its words, not "carry"
        in_name = set(tokens(graph.products[mentions[0].sku].name))
        said = [w for w in mentions[0].words if w in in_name]
        said = [w for w in said if not any(w != o and w in o.split("-") for o in said)]   # "nh-d15", not also "nh d15"
        words = " ".join(said) or words
    query = SearchQuery(category=category, part_type=part_type, brands=tuple(brands), price_min=price_min,
                        price_max=price_max, filters=parsed.filters, text=words, sort=parsed.sort)
    return query, (result.currency_note if result else None)


def _is_empty(q: SearchQuery) -> bool:
    return not (q.category or q.part_type or q.brands or q.price_min is not None or q.price_max is not None
                or q.filters or q.text)


def _one_product(tracker: Tracker, graph: ProductGraph, update: SearchQuery) -> str | None:
    """A search message that is really about one product: a position or "the cheapest" in the list
    just shown ("show the second one", "which is the cheapest?"), or one product named clearly
    without a budget ("show me the Noctua NH-D15")."""
    shown = shown_skus(tracker, graph)
    text = _text(tracker)
    constrained = update.category or update.part_type or update.brands or update.filters or \
        update.price_min is not None or update.price_max is not None
    if shown and not constrained:
        positions = ordinal_positions(tracker)
        if positions:
            found = resolve_products(tracker, graph)
            if found.skus:
                return found.skus[0]
        pick = price_pick(text, shown, graph)
        if pick:
            return pick
    if update.price_min is None and update.price_max is None:
        found = resolve_products(tracker, graph)
        if found.source == "mention" and found.skus:
            return found.skus[0]
    return None


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
        note = None
        if intent == "show_more_products" and previous is not None:
            query = replace(previous, page=previous.page + 1)
        else:
            update, note = query_from_turn(graph, tracker)
            one = _one_product(tracker, graph, update)
            if one is not None:
                return await answers.product_answer(dispatcher, tracker, graph, graph.products[one], lang)
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
        if not result.items and effective.category and not graph.by_category.get(effective.category):
            # "a gaming PC": the shop sells the parts, not assembled computers
            dispatcher.utter_message(response="utter_category_not_sold", what=what)
            return events
        if not result.items:
            key = "utter_no_more_products" if intent == "show_more_products" and result.total else "utter_no_products"
            dispatcher.utter_message(response=key, what=what)
            return events
        if note is not None:
            amount, currency, usd = note
            dispatcher.utter_message(response="utter_budget_converted", amount=f"{amount:,.0f}", currency=currency,
                                     usd=format_price(usd, lang), rate=get_settings().kg_cny_per_usd)
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

async def _focus(dispatcher: CollectingDispatcher, tracker: Tracker) -> tuple[str, ProductGraph, Product] | Events:
    """(language, graph, the product the message is about), or the events of asking which one
    (several candidates: a clarifying question with buttons; none: say so and offer a search)."""
    graph = await _graph()
    lang = language(tracker)
    found = resolve_products(tracker, graph)
    if found.ambiguous:
        return ask_which(dispatcher, graph, found.candidates, lang, _intent(tracker))
    if not found.skus:
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
        return [SlotSet("product_sku", pair[0])]


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
