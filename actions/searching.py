"""Product search as a reply, shared by the search action, the product actions when a message
names no product but describes one ("What's the cheapest NVMe SSD?"), and the understanding step
for follow-ups the NLU could not place ("500以内的", "LG的有没有"): the message's constraints from
the search parser and the NLU entities, a refinement of the previous search when it only narrows
it, one product when the message picks one, the list with cards otherwise."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers, building, shopping_cart
from actions.cards import cards_payload, listing
from actions.common import entity_values, language, previous_intent
from actions.references import (
    PICK_ONE,
    Resolved,
    ordinal_positions,
    price_pick,
    resolve_products,
    shown_skus,
    spec_pick,
    store_mentioned,
)
from catalog.models import Product
from daogou.config import get_settings
from knowledge_graph.graph import ProductGraph
from knowledge_graph.linker import link
from knowledge_graph.parse import (
    CHEAPER_WORDS,
    PRICIER_WORDS,
    category_part_type,
    find_attribute,
    find_brands,
    find_budget,
    find_category,
    find_keywords,
    match_sort,
    parse_search,
    price_from_entity,
    refine_query,
)
from knowledge_graph.search import (
    AttributeFilter,
    SearchQuery,
    SearchResult,
    query_from_dict,
    query_to_dict,
    search,
)
from knowledge_graph.vocab import format_price, tokens

Events = list[dict[str, Any]]
SEARCH_INTENTS = ("search_products", "refine_search", "show_more_products")


def _intent(tracker: Tracker) -> str:
    return (tracker.latest_message.get("intent") or {}).get("name") or ""


def _text(tracker: Tracker) -> str:
    return tracker.latest_message.get("text") or ""


def show_list(
    dispatcher: CollectingDispatcher,
    graph: ProductGraph,
    response: str,
    products: list[Product] | tuple[Product, ...],
    lang: str,
    **kwargs: Any,
) -> Events:
    """Utter a list with cards and remember it for "the first one"; after a list of several, "it"
    is ambiguous until the shopper picks one."""
    dispatcher.utter_message(
        response=response,
        json_message=cards_payload(graph, products, lang),
        products=listing(products, lang),
        **kwargs,
    )
    skus = [p.sku for p in products]
    return [SlotSet("shown_skus", skus), SlotSet("product_sku", skus[0] if len(skus) == 1 else None)]


# --- search ----------------------------------------------------------------------------------------


def query_from_turn(
    graph: ProductGraph, tracker: Tracker
) -> tuple[SearchQuery, tuple[float, str, float] | None]:
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
        part_type = None  # "only DDR5 ones" narrows the current list, it does not switch to memory
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
        lows = [
            v
            for v in (price_from_entity(v) for v in entity_values(tracker, "price", "price_min"))
            if v is not None
        ]
        highs = [
            v
            for v in (price_from_entity(v) for v in entity_values(tracker, "price", "price_max"))
            if v is not None
        ]
        price_min = lows[0] if lows else None
        price_max = highs[0] if highs else None
    if price_min is not None and price_max is not None and price_min > price_max:
        price_min, price_max = price_max, price_min
    words = parsed.text
    mentions = link(graph, text, limit=1)
    # a product line named ("do you carry the 990 Pro?"): its words, not "carry"; a brand and a kind
    # the parser read whole ("logitec mouse") name no line, even when some product is called that
    covered = parsed.text is None and (category or part_type)
    if mentions and not covered:
        in_name = set(tokens(graph.products[mentions[0].sku].name)) - {t for b in brands for t in tokens(b)}
        said = [w for w in mentions[0].words if w in in_name]
        said = [
            w for w in said if not any(w != o and w in o.split("-") for o in said)
        ]  # "nh-d15", not also "nh d15"
        words = " ".join(said) or words
    filters = chosen_between(graph, tracker, text, parsed.filters, part_type or category_part_type(category))
    query = SearchQuery(
        category=category,
        part_type=part_type,
        brands=tuple(brands),
        price_min=price_min,
        price_max=price_max,
        filters=filters,
        text=words,
        sort=parsed.sort,
    )
    return query, (result.currency_note if result else None)


_CHOICE = re.compile(r"还是|或者|(?i:\bor\b)|(?i:\bvs\.?)")


def chosen_between(
    graph: ProductGraph, tracker: Tracker, text: str, filters: tuple[AttributeFilter, ...], hint: str | None
) -> tuple[AttributeFilter, ...]:
    """ "那内存要买DDR4还是DDR5的", "DDR4 or DDR5?": a choice between two values is answered by the
    products in focus (the board just checked takes DDR5); with none to go by, both are shown."""
    sides = _CHOICE.split(text)
    if len(sides) != 2:
        return filters
    left, right = (find_keywords(side, hint)[0] for side in sides)
    said: dict[str, set[Any]] = {}
    for f in left + right:
        said.setdefault(f.key, set()).add(f.value)
    asked = {k for k, values in said.items() if len(values) > 1}
    if not asked:
        return filters
    context = [
        graph.products[s]
        for s in [tracker.get_slot("product_sku"), *shown_skus(tracker, graph)]
        if s in graph.products
    ]
    kept = [f for f in filters if f.key not in asked]
    for key in asked:
        fit = next((p.attributes[key] for p in context if p.attributes.get(key) in said[key]), None)
        if fit is not None:
            kept.append(AttributeFilter(key, "eq", fit))
    return tuple(kept)


def is_empty(q: SearchQuery) -> bool:
    return not (
        q.category
        or q.part_type
        or q.brands
        or q.price_min is not None
        or q.price_max is not None
        or q.filters
        or q.text
    )


def one_product(tracker: Tracker, graph: ProductGraph, update: SearchQuery) -> str | None:
    """A search message that is really about one product: a position or "the cheapest" in the list
    just shown ("show the second one", "which is the cheapest?"), or one product named clearly
    without a budget ("show me the Noctua NH-D15")."""
    shown = shown_skus(tracker, graph)
    text = _text(tracker)
    if shown and PICK_ONE.search(text) and (pick := spec_pick(text, shown, graph)) is not None:
        return pick  # "the white one", "2T的那个" among the products just shown
    constrained = (
        update.category
        or update.part_type
        or update.brands
        or update.filters
        or update.price_min is not None
        or update.price_max is not None
    )
    if shown and not constrained:
        positions = ordinal_positions(tracker)
        if positions:
            found = resolve_products(tracker, graph)
            if found.skus:
                return found.skus[0]
        pick = price_pick(text, shown, graph)
        if pick:
            return pick
    if update.price_min is None and update.price_max is None and not kind_only(graph, text):
        found = resolve_products(tracker, graph)
        if found.source == "mention" and found.skus:
            return found.skus[0]
    return None


def asked_about_focus(tracker: Tracker, graph: ProductGraph, update: SearchQuery) -> Product | None:
    """ "价格呢", "what's the weight?" with no constraint of a search: a question about the product in
    focus (or the first of same-named ones), whatever intent it was given; "cheaper" stays a refinement."""
    text = _text(tracker)
    if not is_empty(update) or CHEAPER_WORDS.search(text) or PRICIER_WORDS.search(text):
        return None
    found = resolve_products(tracker, graph)
    sku = found.skus[0] if found.skus else answers.one_in_focus(graph, found.candidates)
    if sku is None or find_attribute(text, graph.products[sku]) is None:
        return None
    return graph.products[sku]


def kind_only(graph: ProductGraph, text: str) -> bool:
    """A message that names a kind of product and nothing of a model ("logitech wireless mice"): a
    search, even when some product's whole name is made of those words (Logitech Wireless Mouse)."""
    try:
        parsed = parse_search(graph, text).query
    except ValueError:
        return False
    return bool(parsed.category or parsed.part_type) and not parsed.text


def budgeted(graph: ProductGraph, tracker: Tracker) -> bool:
    """Whether the message gives a budget ("1000元以下")."""
    update, _ = query_from_turn(graph, tracker)
    return update.price_min is not None or update.price_max is not None


def sorts(text: str) -> bool:
    """Whether the message asks for an order ("最便宜", "the cheapest")."""
    return match_sort(text)[0] != "relevance"


def same_kind_more(previous: SearchQuery, update: SearchQuery) -> bool:
    """ "要A卡", "N卡有吗" after "300刀以内的显卡": the same kind with one more constraint and no budget of
    its own narrows the current search (its budget stays) rather than starting anew."""
    return (
        (update.part_type, update.category) == (previous.part_type, previous.category)
        and not update.text
        and update.price_min is None
        and update.price_max is None
        and bool(update.filters or update.brands)
    )


def previous_query(tracker: Tracker) -> SearchQuery | None:
    value = tracker.get_slot("search_query")
    if not isinstance(value, dict):
        return None
    try:
        return query_from_dict(value)
    except ValueError:
        return None


# a place alone after a store question continues it: the store's hours, the stores there
STORE_INTENTS = {"store_hours": "action_store_hours", "find_store": "action_find_store"}


def store_follow_up(tracker: Tracker) -> str | None:
    """The store action a message continues when it only names a place right after a store question
    ("加州的", "the one in Ohio", "那旧金山呢"), whatever intent the NLU gave it."""
    before = previous_intent(tracker)
    return STORE_INTENTS[before] if before in STORE_INTENTS and store_mentioned(tracker) else None


def refines_list(tracker: Tracker, graph: ProductGraph, found: Resolved) -> bool:
    """A message that points at nothing and only narrows the list just shown ("LG的有没有", "any
    white ones?"), whatever intent it was given: a refinement of that search, not "which one?"."""
    if found.named or found.source != "list" or previous_query(tracker) is None:
        return False
    return narrows_only(query_from_turn(graph, tracker)[0])


def narrows_only(update: SearchQuery) -> bool:
    """A message that adds a budget, a brand, a filter or an order but names no kind of product:
    a follow-up to the current list ("under $400", "LG的有没有"), whatever intent it was given."""
    return not (update.category or update.part_type or update.text) and not is_empty(update)


def sets_cart_quantity(tracker: Tracker) -> bool:
    """A quantity said right after a cart turn ("only 2 of those") rather than a narrower search: no
    amount of money in it ("only up to 200" narrows)."""
    budget = find_budget(_text(tracker))
    return budget.low is None and budget.high is None and shopping_cart.changes_quantity(tracker)


async def search_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, graph: ProductGraph, intent: str
) -> Events:
    """search_products, refine_search ("cheaper", "only Corsair") and show_more_products."""
    if building.takes_over(tracker, intent):  # "cheaper" after a PC build, "gaming" when asked what for
        return await building.build_answer(dispatcher, tracker)
    if intent == "refine_search" and sets_cart_quantity(tracker):  # "actually only 2 of those" after an add
        return await shopping_cart.change_cart(dispatcher, tracker)
    lang = language(tracker)
    previous = previous_query(tracker)
    note = None
    if intent == "show_more_products" and previous is not None:
        query = replace(previous, page=previous.page + 1)
    else:
        update, note = query_from_turn(graph, tracker)
        one = one_product(tracker, graph, update)
        if one is not None:
            return await answers.product_answer(dispatcher, tracker, graph, graph.products[one], lang)
        if (asked := asked_about_focus(tracker, graph, update)) is not None:
            return await answers.attribute_answer(dispatcher, tracker, graph, asked, lang)
        if previous is not None and (
            intent == "refine_search" or narrows_only(update) or same_kind_more(previous, update)
        ):
            shown = [
                graph.products[s].price for s in tracker.get_slot("shown_skus") or [] if s in graph.products
            ]
            query = refine_query(previous, update, _text(tracker), shown)
        else:
            query = update
    if is_empty(query) and (follow_up := store_follow_up(tracker)) is not None:
        return [FollowupAction(follow_up)]
    if is_empty(query):
        dispatcher.utter_message(response="utter_ask_search_what")
        return []
    result: SearchResult = await asyncio.to_thread(search, graph, query)
    effective = result.query
    what = effective.describe(graph, lang) or ("商品" if lang == "zh" else "products")
    events: Events = [SlotSet("search_query", query_to_dict(effective))]
    if not result.items and effective.category and not graph.by_category.get(effective.category):
        # "a gaming PC": the shop sells the parts, not assembled computers; a computer is planned from them
        if (
            effective.category in building.COMPUTER_CATEGORIES
            or effective.part_type in building.COMPUTER_CATEGORIES
        ):
            return await building.build_answer(dispatcher, tracker, fresh=True)
        dispatcher.utter_message(response="utter_category_not_sold", what=what)
        return events
    if not result.items:
        key = (
            "utter_no_more_products"
            if intent == "show_more_products" and result.total
            else "utter_no_products"
        )
        dispatcher.utter_message(response=key, what=what)
        return events
    if note is not None:
        amount, currency, usd = note
        dispatcher.utter_message(
            response="utter_budget_converted",
            amount=f"{amount:,.0f}",
            currency=currency,
            usd=format_price(usd, lang),
            rate=get_settings().kg_cny_per_usd,
        )
    if result.relaxed:
        dropped = ("、" if lang == "zh" else ", ").join(r.text(lang) for r in result.relaxed)
        dispatcher.utter_message(response="utter_products_relaxed", dropped=dropped)
    start = (effective.page - 1) * effective.page_size + 1
    events += show_list(
        dispatcher,
        graph,
        "utter_products_found",
        result.items,
        lang,
        what=what,
        total=result.total,
        first=start,
        last=start + len(result.items) - 1,
    )
    if result.has_more:
        dispatcher.utter_message(response="utter_products_more_available")
    return events
