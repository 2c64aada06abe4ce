"""Answers about one product that several actions give: its details, one of its attributes, its
stock at a store. Shared so that the same question gets the same answer whether the NLU named its
intent or the understanding step recovered it (actions/understand.py): action modules do not import
each other, they import these."""

from __future__ import annotations

import asyncio
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import references, services, shopping_cart
from actions.cards import cards_payload, listing, store_label
from actions.common import entity_values, identity, language, previous_intent
from catalog.models import Product
from knowledge_graph import api
from knowledge_graph.graph import ProductGraph
from knowledge_graph.parse import find_attribute, find_category, unrecorded_attribute_name
from knowledge_graph.search import AttributeFilter, SearchQuery, query_to_dict
from knowledge_graph.vocab import attributes, format_price, part_type_name
from order_service.client import OrderServiceError

Events = list[dict[str, Any]]
# a follow-up that continues the previous question with another product ("and the 8400F?", "那7800X3D呢")
FOLLOW_UP = re.compile(r"(?i)^\s*(?:and|what about|how about|also|ok and)\b|呢\s*[？?]?\s*$|^\s*那")
THERE = re.compile(r"(?i)\bthere\b|那边|那家店|那里|那儿")
STOCK_INTENTS = ("ask_stock", "staff_stock")
RESPONSE_BY_LEVEL = {"in_stock": "utter_stock_in_stock", "low": "utter_stock_low", "out": "utter_stock_out"}


# a question about availability, whatever intent the NLU gave it ("is the NH-D9L in stock?")
STOCK_WORDS = re.compile(
    r"(?i)\b(in stock|in-stock|instock|available|availability|sold out|out of stock|on the shelf)\b"
    r"|有货|有现货|库存|缺货|卖完|能买到|有没有货|到货|还有几|还剩"
)


# "with the Node 804" right after "compare the LANCOOL 216" asked for a second product
COMPARE_FOLLOW_UP = re.compile(
    r"(?i)^\s*(?:with|and|to|vs\.?|versus|against)\b|^\s*(?:跟|和|与|同|对比|比较|比)"
)


async def product_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, graph: ProductGraph, product: Product, lang: str
) -> Events:
    """What a message naming one product asks: its stock when it asks about availability, the
    comparison it completes, else its details."""
    text = tracker.latest_message.get("text") or ""
    focus = tracker.get_slot("product_sku")
    if (
        previous_intent(tracker) == "compare_products"
        and COMPARE_FOLLOW_UP.search(text)
        and focus in graph.products
        and focus != product.sku
    ):
        return await compare_answer(dispatcher, graph, [focus, product.sku], lang)
    short = len(text.split()) <= 6 and len(text) <= 40  # "the Ryzen 5 8400F" right after "which product?"
    if (
        STOCK_WORDS.search(text)
        or (after_stock_answer(tracker) and (FOLLOW_UP.search(text) or short))
        or references.pending_intent(tracker)
        in STOCK_INTENTS  # the answer to "which one?" of a stock question
        or (THERE.search(text) and references.store_in_focus(tracker) is not None)
        or (identity(tracker).get("staff_token") and stock_scope(tracker))
    ):  # staff: "本店…", "near us"
        return await stock_answer(dispatcher, tracker, product.sku)
    return await show_details(dispatcher, graph, product, lang)


async def show_details(
    dispatcher: CollectingDispatcher, graph: ProductGraph, product: Product, lang: str
) -> Events:
    """One product: name, price, kind, brand, key specs and its card."""
    info = await asyncio.to_thread(api.details, graph, product.sku, lang)
    sep = "；" if lang == "zh" else "; "
    specs = sep.join(f"{s.name}: {s.text}" for s in info.specs[:8])
    dispatcher.utter_message(
        response="utter_product_details",
        product=info.product.name,
        price=format_price(info.product.price, lang),
        kind=info.kind,
        brand=info.product.brand or "–",
        specs=specs or "–",
        json_message=cards_payload(graph, [info.product], lang),
    )
    # the product is now in focus ("add it"); the last list stays, so "the second one" still means its second
    return [SlotSet("product_sku", info.product.sku)]


async def attribute_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, graph: ProductGraph, product: Product, lang: str
) -> Events:
    """ "How many cores…", "刷新率", "多少钱": the attribute the message asks about, or which one."""
    text = tracker.latest_message.get("text") or ""
    attribute = next((str(v) for v in entity_values(tracker, "attribute")), None)
    attribute = (
        find_attribute(attribute or text, product)
        or find_attribute(text, product)
        or attribute_of_value(graph, product, text)
    )
    if attribute is None:
        dispatcher.utter_message(response="utter_ask_which_attribute", product=product.name)
        return [SlotSet("product_sku", product.sku)]
    if (
        attribute not in ("price", "brand") and attribute not in attributes()
    ):  # "多高": the data has no height
        dispatcher.utter_message(
            response="utter_product_attribute_unknown",
            product=product.name,
            attribute=unrecorded_attribute_name(attribute, lang) or attribute,
        )
        return [SlotSet("product_sku", product.sku)]
    answer = await asyncio.to_thread(api.attribute_answer, graph, product.sku, attribute, lang)
    if answer.value is None:
        dispatcher.utter_message(
            response="utter_product_attribute_unknown", product=product.name, attribute=answer.name
        )
    else:
        dispatcher.utter_message(
            response="utter_product_attribute", product=product.name, attribute=answer.name, value=answer.text
        )
    return [SlotSet("product_sku", product.sku)]


def attribute_of_value(graph: ProductGraph, product: Product, text: str) -> str | None:
    """The attribute a yes/no question names by one of its values ("is the second one OLED?",
    "第二个是曲面的吗" → the panel type): a word of the message that is a value of that attribute
    among products of the same kind, so the answer gives the actual value."""
    words = {w.lower() for w in re.findall(r"[A-Za-z0-9][A-Za-z0-9.+-]*", text)}
    idx = graph.columns.part_type_idx.get(product.part_type) if product.part_type else None
    if not words or idx is None:
        return None
    for key, values in graph.columns.text.items():
        if key in product.attributes and words & set(values[idx].tolist()):
            return key
    return None


async def stock_answer(dispatcher: CollectingDispatcher, tracker: Tracker, sku: str) -> Events:
    """Availability of one product at the store the message names, else the store in focus
    ("there"); out of stock: the nearest stores that have it, with address and distance."""
    # "我要在Flushing自提" with a cart, read as a stock or store question
    if shopping_cart.starts_pickup(tracker):
        return [FollowupAction("checkout_form")]
    events: list[dict[str, Any]] = [SlotSet("product_sku", sku), SlotSet("staff_stock_scope", None)]
    client = services.orders()
    who = identity(tracker)
    query = references.store_mentioned(tracker)
    if (
        who.get("staff_token")
        and not query
        and (
            (stock_scope(tracker) or tracker.get_slot("staff_stock_scope")) in ("nearby", "everywhere")
            or references.store_in_focus(tracker) is None
        )
    ):  # staff: their figures, in the scope asked
        return await staff_stock_turn(dispatcher, tracker, [sku])
    if (
        not query and references.store_in_focus(tracker) is None
    ):  # a store named before "which one?" was asked
        query = references.previous_store_query(tracker)
    try:
        store = None
        if query:
            found = await references.find_store(str(query), correct_typos=True)
            if not found:
                dispatcher.utter_message(response="utter_store_not_found", query=query)
                return events
            if (
                len({(s.city, s.state) for s in found}) == 1
            ):  # one city: its big store (Union Square, not the kiosk)
                found = [next((s for s in found if s.type == "BigBox"), found[0])]
            if len(found) > 1:  # stores sharing a name (Brentwood CA, TN, MO): which one, then the stock
                lines = "\n".join(store_label(s) for s in found[:6])
                dispatcher.utter_message(
                    response="utter_ask_which_store_of",
                    query=query,
                    stores=lines,
                    buttons=[
                        {
                            "title": f"{s.name}, {s.city} {s.state}"[:60],
                            "payload": f'/ask_stock{{"store": "#{s.id}"}}',
                        }
                        for s in found[:6]
                    ],
                )
                return events + [SlotSet("shown_stores", [s.id for s in found[:6]])]
            store = found[0]
        elif (store_id := references.store_in_focus(tracker)) is not None:  # "there"
            store = await client.get_store(store_id)
        if store is None and who.get("staff_token"):  # an associate asking about their own store
            me = await client.staff_me(who["staff_token"])
            store = await client.get_store(me.store_id) if me.store_id is not None else None
        if store is None:
            dispatcher.utter_message(response="utter_ask_which_store")
            return events
        events.append(SlotSet("store_id", float(store.id)))
        stock = await client.stock_at(sku, store.id, **who)
        args = {
            "product": services.graph().product(sku).name,
            "store": store.name,
            "address": f"{store.address}, {store.city}, {store.state}",
        }
        if stock.available is not None:  # staff of this store see exact counts
            dispatcher.utter_message(
                response="utter_stock_exact", quantity=stock.on_hand, reserved=stock.reserved or 0, **args
            )
            return events
        dispatcher.utter_message(response=RESPONSE_BY_LEVEL[stock.level], **args)
        if stock.level == "out":
            nearby = await client.nearest_stores_with_stock(sku, lat=store.lat, lon=store.lon, limit=3)
            if nearby:
                sep = "；" if language(tracker) == "zh" else "; "
                dispatcher.utter_message(
                    response="utter_stock_elsewhere",
                    stores=sep.join(
                        f"{store_label(n.store)}"
                        + (f" {n.distance_km:.0f} km" if n.distance_km is not None else "")
                        for n in nearby
                    ),
                )
    except OrderServiceError as exc:
        if exc.not_found:
            dispatcher.utter_message(response="utter_ask_which_product")
        else:
            dispatcher.utter_message(response="utter_service_unavailable")
    return events


# --- what goes with a product ------------------------------------------------------------------------


def asked_part_type(tracker: Tracker, graph: ProductGraph, product: Product) -> str | None:
    """The kind of part the message asks for besides the product itself ("and a cooler for it?",
    "what cooler goes well with it", "配什么主板"), from the category entity or the wording."""
    for value in [*map(str, entity_values(tracker, "category")), tracker.latest_message.get("text") or ""]:
        _, part_type, _ = find_category(graph, value)
        if part_type and part_type != product.part_type:
            return part_type
    return None


async def fits_answer(
    dispatcher: CollectingDispatcher, graph: ProductGraph, product: Product, wanted: str | None, lang: str
) -> Events:
    """The parts that fit a product (of the `wanted` type, else of every related type), each group
    with its reason; a one-attribute fit becomes the search in progress, so "any under 150?" refines it."""
    groups = [
        g for g in await asyncio.to_thread(api.compatible_with, graph, product.sku, wanted, 3) if g.products
    ]
    if not groups:
        dispatcher.utter_message(response="utter_nothing_fits", product=product.name)
        return [SlotSet("product_sku", product.sku)]
    shown: list[Product] = []
    for group in groups:
        dispatcher.utter_message(
            response="utter_fits_with",
            product=product.name,
            kind=part_type_name(group.part_type, lang),
            reason=group.reason(lang),
            total=group.total,
            products=listing(group.products, lang, len(shown) + 1),
        )
        shown.extend(group.products)
    dispatcher.utter_message(json_message=cards_payload(graph, shown, lang))
    events: Events = [SlotSet("shown_skus", [p.sku for p in shown]), SlotSet("product_sku", product.sku)]
    follow_up = fits_query(product, groups[0].part_type) if len(groups) == 1 else None
    return events + [SlotSet("search_query", query_to_dict(follow_up) if follow_up else None)]


def fits_query(product: Product, part_type: str) -> SearchQuery | None:
    """The search behind a "what fits" list, where the fit is one attribute (a board or CPU by
    socket, memory by generation), so "any under 150?" refines that list and not an older search."""
    a = product.attributes
    if (
        part_type in ("motherboard", "cpu")
        and product.part_type in ("cpu", "motherboard")
        and a.get("socket")
    ):
        return SearchQuery(part_type=part_type, filters=(AttributeFilter("socket", "eq", a["socket"]),))
    if part_type == "memory" and a.get("memory_type"):
        return SearchQuery(
            part_type="memory", filters=(AttributeFilter("memory_type", "eq", a["memory_type"]),)
        )
    return None


# what else a product needs or goes with: its accessories, not its details
ACCESSORY_WORDS = re.compile(
    r"(?i)\bwhat else (?:do|would|will|should) (?:i|we) need\b|\bwhat else (?:goes|go) with\b"
    r"|\b(?:need|buy|get) (?:to go )?with (?:it|this|that)\b|\bgoes? (?:well )?with (?:it|this|that)\b"
    r"|还(?:需要|要|得)(?:买|配|搭配)?(?:些|点)?什么|(?:要|需要|该)配(?:些|点)?什么|搭配什么|配套(?:的)?什么"
)


async def accessories_answer(
    dispatcher: CollectingDispatcher, tracker: Tracker, graph: ProductGraph, product: Product, lang: str
) -> Events:
    """What to buy with a product. A message naming a kind ("and a cooler for it?") gets the parts
    of that kind that fit, when the compatibility rules link the two kinds; otherwise the accessory
    groups (only that kind's, when it is one of them)."""
    wanted = asked_part_type(tracker, graph, product)
    if wanted and await asyncio.to_thread(
        lambda: any(g.products for g in api.compatible_with(graph, product.sku, wanted, 1))
    ):
        return await fits_answer(dispatcher, graph, product, wanted, lang)
    groups = [g for g in await asyncio.to_thread(api.accessories, graph, product.sku, 2) if g.products]
    if wanted and any(g.part_type == wanted for g in groups):
        groups = [
            g
            for g in await asyncio.to_thread(api.accessories, graph, product.sku, 5)
            if g.products and g.part_type == wanted
        ]
    if not groups:
        dispatcher.utter_message(response="utter_no_accessories", product=product.name)
        return [SlotSet("product_sku", product.sku)]
    shown: list[Product] = []
    lines = []
    for group in groups:
        lines.append(f"• {group.reason(lang)}:\n" + listing(group.products, lang, len(shown) + 1))
        shown.extend(group.products)
    dispatcher.utter_message(
        response="utter_accessories",
        product=product.name,
        groups="\n".join(lines),
        json_message=cards_payload(graph, shown, lang),
    )
    return [SlotSet("shown_skus", [p.sku for p in shown]), SlotSet("product_sku", product.sku)]


async def compare_answer(
    dispatcher: CollectingDispatcher, graph: ProductGraph, skus: list[str], lang: str
) -> Events:
    """The comparison table of these products, with their cards; they become the list shown."""
    table = await asyncio.to_thread(api.compare, graph, skus, lang)
    lines = []
    for row in table.rows:
        cells = [f"{v}{' ✓' if row.best == i else ''}" for i, v in enumerate(row.values)]
        lines.append(f"{row.name}: " + " | ".join(cells))
    names = " | ".join(f"{i}. {p.name}" for i, p in enumerate(table.products, 1))
    payload = cards_payload(graph, table.products, lang)
    payload["comparison"] = {
        "header": [p.name for p in table.products],
        "rows": [{"name": r.name, "values": list(r.values), "best": r.best} for r in table.rows],
    }
    dispatcher.utter_message(
        response="utter_comparison", products=names, table="\n".join(lines), json_message=payload
    )
    return [SlotSet("shown_skus", [p.sku for p in table.products])]


def one_in_focus(graph: ProductGraph, candidates: list[str], text: str = "") -> str | None:
    """The first of several candidates that are one product under one name and one set of specs
    (sellers of the same model): a question about "it" is answered for the first listed rather than
    asked back."""
    # the same name and the same specs: the 1, 2 and 4 TB "Samsung 990 Pro" are three products to ask about,
    # unless the question is about what they share (the DPI of three colours of one mouse)
    same = [graph.products[s] for s in candidates if s in graph.products]
    asked = find_attribute(text, same[0]) if text and same else None
    if (
        asked not in (None, "price")
        and len({p.name for p in same}) == 1
        and len({str(p.attributes.get(asked)) for p in same}) == 1
    ):
        return candidates[0]
    looks = {
        (graph.products[s].name, api.spec_line(graph.products[s], "en", limit=6))
        for s in candidates
        if s in graph.products
    }
    return candidates[0] if len(looks) == 1 and candidates[0] in graph.products else None


# --- stock for staff: at my store, nearby or across the chain ------------------------------------------

STAFF_LIST_LIMIT = 10
_SCOPE_WORDS = (
    (
        "everywhere",
        re.compile(
            r"(?i)\b(everywhere|anywhere|(?:across|in|on)\s+the\s+(?:whole\s+|entire\s+)?chain|chain[- ]?wide"
            r"|all (?:the |our )?(?:stores|locations|branches)|every (?:store|location|branch)|any store"
            r"|nationwide|company[- ]wide|other (?:stores|locations|branches))\b"
            r"|全国|所有门店|所有店|各店|各门店|哪些店|哪些门店|别的店|其他门店|其他店"
        ),
    ),
    (
        "nearby",
        re.compile(
            r"(?i)\b(near(?:by)?|close by|close to (?:us|here)|around (?:here|us)|in the area|near us|near me)\b"
            r"|附近|周边|邻近|周围|旁边的店"
        ),
    ),
    (
        "store",
        re.compile(
            r"(?i)\b(here|ours|my store|our (?:own )?(?:store|shop|branch|place)|this store|(?:our|this) location)\b"
            r"|本店|我们店|我店|店里|这家店|咱店|咱们店|我们这"
        ),
    ),
)


def stock_scope(tracker: Tracker) -> str | None:
    """ "store" (my store), "nearby" or "everywhere" as this message says it: the NLU's stock_scope,
    else the wording ("across the chain", "附近", "全国哪些店"); None when it names no scope."""
    value = next(iter(entity_values(tracker, "stock_scope")), None)
    if value in ("store", "nearby", "everywhere"):
        return str(value)
    text = tracker.latest_message.get("text") or ""
    return next((scope for scope, words in _SCOPE_WORDS if words.search(text)), None)


def after_stock_answer(tracker: Tracker) -> bool:
    """Whether the bot's last turn answered a stock question (whatever intent the NLU gave it: "9800X3D
    全国哪些店有货" may come as find_store), so that "猫头鹰NH-D15呢" continues it."""
    if previous_intent(tracker) in STOCK_INTENTS:
        return True
    users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users += 1
            if users == 2:
                return False
        elif users == 1 and event.get("event") == "slot" and event.get("name") == "staff_stock_scope":
            return True
    return False


async def staff_stock_turn(
    dispatcher: CollectingDispatcher, tracker: Tracker, skus: list[str] | None = None
) -> Events:
    """A staff member's stock question, however the NLU classified it: staff figures for the product(s)
    the message points at, in the scope the message names, else the scope of the previous stock
    question ("what about the 7800X3D" after "… across the chain"), else my store."""
    token = identity(tracker).get("staff_token")
    if not token:
        dispatcher.utter_message(response="utter_staff_only")
        return []
    graph = await asyncio.to_thread(services.graph)
    found = references.Resolved(skus, source="sku") if skus else references.resolve_products(tracker, graph)
    scope = stock_scope(tracker) or tracker.get_slot("staff_stock_scope") or "store"
    try:
        me = await services.orders().staff_me(token)
        if (
            found.ambiguous
            and not (found.named and scope == "store" and me.store_id is not None)
            and not variants_of_one(graph, tracker, found)
        ):
            return references.ask_which(dispatcher, graph, found.candidates, language(tracker), "staff_stock")
        skus = found.skus or found.candidates
        if not skus:  # nothing named, nothing in focus
            unknown = bool(entity_values(tracker, "sku"))  # a SKU typed that the catalogue does not have
            dispatcher.utter_message(response="utter_staff_unknown_sku" if unknown else "utter_staff_ask_sku")
            return []
        if stock_scope(tracker) is None and references.store_mentioned(tracker):  # "and at Maple Grove?"
            return await stock_answer(dispatcher, tracker, skus[0])
        return await staff_stock_answer(dispatcher, graph, token, me, skus, scope, language(tracker))
    except OrderServiceError as exc:
        staff_error_reply(dispatcher, exc)
    return []


def staff_stock_follow_up(tracker: Tracker, graph: ProductGraph) -> bool:
    """A staff member naming another product right after a stock answer ("那Corsair Dominator 8GB呢",
    "and the RM850x?"), whatever intent the NLU gave it: its stock, in the scope kept."""
    if not identity(tracker).get("staff_token") or not after_stock_answer(tracker):
        return False
    found = references.resolve_products(tracker, graph)
    return found.source == "mention" or (found.ambiguous and found.named)


def variants_of_one(graph: ProductGraph, tracker: Tracker, found: references.Resolved) -> bool:
    """Whether several candidates are to be counted side by side rather than asked about: variants
    under one catalogue name ("Crucial T710" in three capacities), or the variants the previous staff
    stock answer listed, which a follow-up ("附近的店有没有", "and across the chain?") goes on with."""
    names = {graph.products[s].name for s in found.candidates if s in graph.products}
    return len(names) == 1 or (not found.named and after_stock_answer(tracker))


STAFF_VARIANTS = 3  # variants counted side by side nearby or across the chain


def variant_label(graph: ProductGraph, sku: str, lang: str, several: bool) -> str:
    """ "Name (SKU)", with two specifications when variants are listed side by side."""
    spec = api.spec_line(graph.products[sku], lang, limit=2) if several else ""
    return f"{graph.products[sku].name} ({sku}{'; ' + spec if spec else ''})"


def staff_error_reply(dispatcher: CollectingDispatcher, exc: OrderServiceError) -> None:
    """What a staff member hears when the order service refuses or fails: not allowed, no such SKU,
    or the service is down (StaffAction and the staff stock turn share it)."""
    if exc.status_code in (401, 403):
        dispatcher.utter_message(response="utter_staff_only")
    elif exc.not_found:
        dispatcher.utter_message(response="utter_staff_unknown_sku")
    else:
        dispatcher.utter_message(response="utter_service_unavailable")


async def staff_stock_answer(
    dispatcher: CollectingDispatcher,
    graph: ProductGraph,
    token: str,
    me: Any,
    skus: list[str],
    scope: str,
    lang: str,
) -> Events:
    """Exact figures for staff. Several products (a line named without its variant: "海韵 FOCUS GX")
    are counted side by side at my store, the first STAFF_VARIANTS nearby and across the chain. The
    product and the scope stay in focus for the next question, even when the member has no store."""
    events: Events = [SlotSet("product_sku", skus[0]), SlotSet("staff_stock_scope", scope)]
    client = services.orders()
    if scope != "everywhere" and me.store_id is None:
        dispatcher.utter_message(response="utter_staff_no_store")
        return events
    if scope == "store":
        several = skus[:STAFF_LIST_LIMIT]
        rows = await asyncio.gather(*(client.stock_at(s, me.store_id, staff_token=token) for s in several))
        for sku, stock in zip(several, rows):
            dispatcher.utter_message(
                response="utter_staff_stock_here",
                store=stock.location_name,
                sku=variant_label(graph, sku, lang, len(several) > 1),
                available=stock.available,
                on_hand=stock.on_hand,
                reserved=stock.reserved,
            )
        if len(several) > 1:  # the variants become the list "the second one" points at
            return [
                SlotSet("shown_skus", several),
                SlotSet("product_sku", None),
                SlotSet("staff_stock_scope", scope),
            ]
        return events
    several = skus[:STAFF_VARIANTS]
    found = await asyncio.gather(
        *(
            client.staff_stock(
                sku,
                token,
                near_store_id=me.store_id if scope == "nearby" else None,
                in_stock_only=True,
                limit=STAFF_LIST_LIMIT,
            )
            for sku in several
        )
    )
    for sku, rows in zip(several, found):
        label = variant_label(graph, sku, lang, len(several) > 1)
        if not rows:
            dispatcher.utter_message(response="utter_staff_stock_none", sku=label)
            continue
        lines = "\n".join(
            f"• {r.location_name}: {r.available if r.available is not None else r.level}"
            + (f" ({r.distance_km:.0f} km)" if r.distance_km is not None else "")
            for r in rows
        )
        dispatcher.utter_message(response=f"utter_staff_stock_{scope}", sku=label, lines=lines)
    if len(several) > 1:  # the variants stay the list "the second one" points at
        return [
            SlotSet("shown_skus", several),
            SlotSet("product_sku", None),
            SlotSet("staff_stock_scope", scope),
        ]
    return events


def faq_text(entry: Any, lang: str) -> str:
    """A FAQ entry's answer, followed by its links (if any), one per line."""
    lines = [entry.answers[lang]] + [f"{link.title}: {link.url}" for link in entry.links]
    return "\n".join(lines)


async def faq_answer(dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> bool:
    """A policy question the NLU took for something else ("运费怎么算的" as out_of_scope) is answered
    when the FAQ retriever is confident about it (it declines other shops' policies and small talk)."""
    from faq.retriever import get_retriever

    text = (tracker.latest_message.get("text") or "").strip()
    if not text or text.startswith("/"):
        return False
    retriever = await asyncio.to_thread(get_retriever)
    result = await asyncio.to_thread(retriever.search, text, lang, 1)
    if not result.confident:
        return False
    dispatcher.utter_message(text=faq_text(result.best.entry, lang))
    return True
