"""Answers about one product that several actions give: its details, one of its attributes, its
stock at a store. Shared so that the same question gets the same answer whether the NLU named its
intent or the understanding step recovered it (actions/understand.py): action modules do not import
each other, they import these."""
from __future__ import annotations

import asyncio
import re
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import references, services
from actions.cards import cards_payload, store_label
from actions.common import entity_values, identity, language, previous_intent
from catalog.models import Product
from knowledge_graph import api
from knowledge_graph.graph import ProductGraph
from knowledge_graph.parse import find_attribute
from knowledge_graph.vocab import format_price
from order_service.client import OrderServiceError

Events = list[dict[str, Any]]
# a follow-up that continues the previous question with another product ("and the 8400F?", "那7800X3D呢")
FOLLOW_UP = re.compile(r"(?i)^\s*(?:and|what about|how about|also|ok and)\b|呢\s*[？?]?\s*$|^\s*那")
THERE = re.compile(r"(?i)\bthere\b|那边|那家店|那里|那儿")
STOCK_INTENTS = ("ask_stock", "staff_stock")
RESPONSE_BY_LEVEL = {"in_stock": "utter_stock_in_stock", "low": "utter_stock_low", "out": "utter_stock_out"}


# a question about availability, whatever intent the NLU gave it ("is the NH-D9L in stock?")
STOCK_WORDS = re.compile(r"(?i)\b(in stock|in-stock|instock|available|availability|sold out|out of stock|on the shelf)\b"
                         r"|有货|有现货|库存|缺货|卖完|能买到|有没有货|到货")


async def product_answer(dispatcher: CollectingDispatcher, tracker: Tracker, graph: ProductGraph, product: Product,
                         lang: str) -> Events:
    """What a message naming one product asks: its stock when it asks about availability, else
    its details."""
    text = tracker.latest_message.get("text") or ""
    short = len(text.split()) <= 6 and len(text) <= 40     # "the Ryzen 5 8400F" right after "which product?"
    if (STOCK_WORDS.search(text) or (previous_intent(tracker) in STOCK_INTENTS and (FOLLOW_UP.search(text) or short))
            or (THERE.search(text) and references.store_in_focus(tracker) is not None)):
        return await stock_answer(dispatcher, tracker, product.sku)
    return await show_details(dispatcher, graph, product, lang)


async def show_details(dispatcher: CollectingDispatcher, graph: ProductGraph, product: Product, lang: str) -> Events:
    """One product: name, price, kind, brand, key specs and its card."""
    info = await asyncio.to_thread(api.details, graph, product.sku, lang)
    sep = "；" if lang == "zh" else "; "
    specs = sep.join(f"{s.name}: {s.text}" for s in info.specs[:8])
    dispatcher.utter_message(response="utter_product_details", product=info.product.name,
                             price=format_price(info.product.price, lang), kind=info.kind,
                             brand=info.product.brand or "–", specs=specs or "–",
                             json_message=cards_payload(graph, [info.product], lang))
    # the product is now in focus ("add it"); the last list stays, so "the second one" still means its second
    return [SlotSet("product_sku", info.product.sku)]


async def attribute_answer(dispatcher: CollectingDispatcher, tracker: Tracker, graph: ProductGraph,
                           product: Product, lang: str) -> Events:
    """"How many cores…", "刷新率", "多少钱": the attribute the message asks about, or which one."""
    text = tracker.latest_message.get("text") or ""
    attribute = next((str(v) for v in entity_values(tracker, "attribute")), None)
    attribute = find_attribute(attribute or text, product) or find_attribute(text, product)
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


async def stock_answer(dispatcher: CollectingDispatcher, tracker: Tracker, sku: str) -> Events:
    """Availability of one product at the store the message names, else the store in focus
    ("there"); out of stock: the nearest stores that have it, with address and distance."""
    events: list[dict[str, Any]] = [SlotSet("product_sku", sku)]
    client = services.orders()
    who = identity(tracker)
    query = references.store_mentioned(tracker)
    if not query and references.store_in_focus(tracker) is None:    # a store named before "which one?" was asked
        query = references.previous_store_query(tracker)
    try:
        store = None
        if query:
            found = await references.find_store(str(query), correct_typos=True)
            if not found:
                dispatcher.utter_message(response="utter_store_not_found", query=query)
                return events
            if len({(s.city, s.state) for s in found}) == 1:    # one city: its big store (Union Square, not the kiosk)
                found = [next((s for s in found if s.type == "BigBox"), found[0])]
            if len(found) > 1:      # stores sharing a name (Brentwood CA, TN, MO): which one, then the stock
                lines = "\n".join(store_label(s) for s in found[:6])
                dispatcher.utter_message(response="utter_ask_which_store_of", query=query, stores=lines,
                                         buttons=[{"title": f"{s.name}, {s.city} {s.state}"[:60],
                                                   "payload": f'/ask_stock{{"store": "#{s.id}"}}'} for s in found[:6]])
                return events + [SlotSet("shown_stores", [s.id for s in found[:6]])]
            store = found[0]
        elif (store_id := references.store_in_focus(tracker)) is not None:   # "there"
            store = await client.get_store(store_id)
        if store is None and who.get("staff_token"):     # an associate asking about their own store
            me = await client.staff_me(who["staff_token"])
            store = await client.get_store(me.store_id) if me.store_id is not None else None
        if store is None:
            dispatcher.utter_message(response="utter_ask_which_store")
            return events
        events.append(SlotSet("store_id", float(store.id)))
        stock = await client.stock_at(sku, store.id, **who)
        args = {"product": services.graph().product(sku).name, "store": store.name,
                "address": f"{store.address}, {store.city}, {store.state}"}
        if stock.available is not None:  # staff of this store see exact counts
            dispatcher.utter_message(response="utter_stock_exact", quantity=stock.on_hand,
                                     reserved=stock.reserved or 0, **args)
            return events
        dispatcher.utter_message(response=RESPONSE_BY_LEVEL[stock.level], **args)
        if stock.level == "out":
            nearby = await client.nearest_stores_with_stock(sku, lat=store.lat, lon=store.lon, limit=3)
            if nearby:
                sep = "；" if language(tracker) == "zh" else "; "
                dispatcher.utter_message(response="utter_stock_elsewhere", stores=sep.join(
                    f"{store_label(n.store)}" + (f" {n.distance_km:.0f} km" if n.distance_km is not None else "")
                    for n in nearby))
    except OrderServiceError as exc:
        if exc.not_found:
            dispatcher.utter_message(response="utter_ask_which_product")
        else:
            dispatcher.utter_message(response="utter_service_unavailable")
    return events
