"""Store finder: the nearest stores (with the product in focus in stock, when there is one) from a ZIP
code, a city or a store name, and a store's opening hours. Distances and stock come from the order
service; this module only picks the call and formats the answer."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import answers, services
from actions.common import identity
from actions.references import (
    find_store,
    product_in_focus,
    reference_point,
    resolve_products,
    store_in_focus,
    store_mentioned,
)
from order_service.client import OrderServiceError
from order_service.schemas import StoreOut
from order_service.services.geo import haversine_km

NEAREST = 3
MATCHES = 20  # stores fetched for a name: enough to count kiosks sharing an address
ZIP = re.compile(r"\d{5}(?:-\d{4})?")
# a question for stores near a place, not for one store's stock
NEARBY = re.compile(
    r"(?i)\b(?:near|nearby|nearest|closest|around|which stores?|where)\b|附近|最近|哪家|哪些|哪里|周边"
)
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOSED = "—"


def location_query(tracker: Tracker) -> str | None:
    """The store, city or ZIP the message names: the NLU's store entity, else a store name found in
    the text (actions.references.store_mentioned)."""
    value = store_mentioned(tracker)
    return str(value).strip() if value else None


def store_line(store: StoreOut, distance_km: float | None = None) -> str:
    where = f"{store.name} — {store.address}, {store.city}, {store.state} {store.zip}"
    return where if distance_km is None else f"{where} ({distance_km:.1f} km)"


def store_lines(
    stores: list[StoreOut], reference: tuple[float, float] | None = None, limit: int = MATCHES
) -> str:
    """One line per distinct store: several kiosks at one address (airports) become one line with
    their count, and each line carries its distance (from the search, else from `reference`)."""
    groups: dict[tuple[str, str, str], list[StoreOut]] = {}
    for store in stores:
        groups.setdefault((store.name, store.address, store.city), []).append(store)
    rows = []
    for same in list(groups.values())[:limit]:
        store = same[0]
        km = store.distance_km
        if km is None and reference is not None and store.lat is not None and store.lon is not None:
            km = haversine_km(reference[0], reference[1], store.lat, store.lon)
        rows.append(store_line(store, km) + (f" ×{len(same)}" if len(same) > 1 else ""))
    return "\n".join(rows)


def distinct(stores: list[StoreOut]) -> list[StoreOut]:
    seen, out = set(), []
    for store in stores:
        if (store.name, store.address, store.city) not in seen:
            seen.add((store.name, store.address, store.city))
            out.append(store)
    return out


async def resolve_store(
    dispatcher: CollectingDispatcher, tracker: Tracker, query: str, intent: str
) -> StoreOut | None:
    """The one store a query names, or None after telling the shopper: the closest names when it
    matches nothing, the matching stores (address, distance, one button each) when several share it."""
    candidates = await find_store(query, MATCHES)
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        stores = candidates
        response = "utter_ask_which_store_of"
    else:
        stores = await services.orders().suggest_stores(query, limit=NEAREST)
        response = "utter_store_not_found_suggest" if stores else "utter_store_not_found"
    stores = stores[: NEAREST * 2]
    dispatcher.utter_message(
        response=response,
        query=query,
        buttons=store_buttons(stores, intent),
        stores=store_lines(stores, await reference_point(tracker)),
    )
    return None


def store_buttons(stores: list[StoreOut], intent: str) -> list[dict[str, str]]:
    return [
        {"title": f"{s.name}, {s.city} {s.state}"[:60], "payload": f'/{intent}{{"store": "#{s.id}"}}'}
        for s in stores
    ]


def shown(stores: list[StoreOut]) -> dict[str, Any]:
    """The stores just listed, in order, so "第一家" or "加州那家" can pick one next."""
    return SlotSet("shown_stores", [s.id for s in distinct(stores)])


def hours_args(store: StoreOut) -> dict[str, str]:
    """Opening hours per weekday ("10:00–21:00", or a dash when closed) for the response's own day names."""
    return {day: "–".join(store.hours[day]) if store.hours.get(day) else CLOSED for day in DAYS}


class ActionFindStore(Action):
    def name(self) -> str:
        return "action_find_store"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        query = location_query(tracker)
        if (
            not query
            and identity(tracker).get("staff_token")
            and answers.stock_scope(tracker) in ("nearby", "everywhere")
        ):
            return await answers.staff_stock_turn(
                dispatcher, tracker
            )  # staff: "which stores near us have the 9800X3D?"
        client = services.orders()
        named = resolve_products(tracker, services.graph())
        named = named.skus[0] if named.source == "mention" and named.skus else None
        if (
            named
            and query
            and not ZIP.fullmatch(query)
            and not NEARBY.search(tracker.latest_message.get("text") or "")
        ):
            return await answers.stock_answer(
                dispatcher, tracker, named
            )  # "Flushing店有9800X3D吗": its stock there
        sku = named or product_in_focus(tracker)
        here = store_in_focus(tracker)
        if not query and not (sku and here is not None):  # "where else nearby?" needs a store to start from
            dispatcher.utter_message(response="utter_ask_store_location")
            return []
        try:
            if sku is None:
                stores = await find_store(query, MATCHES)
                if not stores:
                    suggestions = await client.suggest_stores(query, limit=NEAREST)
                    dispatcher.utter_message(
                        response="utter_store_not_found_suggest" if suggestions else "utter_store_not_found",
                        query=query,
                        stores=store_lines(suggestions),
                        buttons=store_buttons(suggestions, "find_store"),
                    )
                    return [shown(suggestions)]
                stores = stores[: NEAREST if ZIP.fullmatch(query) else MATCHES]
                dispatcher.utter_message(
                    response="utter_stores_found", stores=store_lines(stores, await reference_point(tracker))
                )
                return [SlotSet("store_id", float(stores[0].id)), shown(stores)]
            if not query:  # the store talked about did not have it: the nearest that do
                anchor = await client.get_store(here)
                nearest = [
                    n
                    for n in await client.nearest_stores_with_stock(
                        sku, lat=anchor.lat, lon=anchor.lon, limit=NEAREST + 1
                    )
                    if n.store.id != here
                ][:NEAREST]
                query = anchor.name
            elif ZIP.fullmatch(query):
                nearest = await client.nearest_stores_with_stock(sku, zip=query[:5], limit=NEAREST)
            else:
                anchor = await resolve_store(dispatcher, tracker, query, "find_store")
                if anchor is None:
                    return []
                nearest = await client.nearest_stores_with_stock(
                    sku, lat=anchor.lat, lon=anchor.lon, limit=NEAREST
                )
        except OrderServiceError as exc:
            dispatcher.utter_message(
                response="utter_store_not_found"
                if exc.status_code in (404, 422)
                else "utter_service_unavailable",
                query=query,
            )
            return []
        product = services.graph().product(sku).name
        if not nearest:
            dispatcher.utter_message(response="utter_no_store_with_item", product=product, query=query)
            return [SlotSet("product_sku", sku)]
        stores = [n.store.model_copy(update={"distance_km": n.distance_km}) for n in nearest]
        dispatcher.utter_message(
            response="utter_stores_with_item", product=product, stores=store_lines(stores)
        )
        return [SlotSet("product_sku", sku), SlotSet("store_id", float(nearest[0].store.id)), shown(stores)]


class ActionStoreHours(Action):
    def name(self) -> str:
        return "action_store_hours"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        query = location_query(tracker)
        client = services.orders()
        try:
            if query:
                store = await resolve_store(dispatcher, tracker, query, "store_hours")
                if store is None:
                    return []
            elif store_in_focus(tracker) is not None:
                store = await client.get_store(store_in_focus(tracker))
            else:
                dispatcher.utter_message(response="utter_ask_which_store")
                return []
        except OrderServiceError:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        dispatcher.utter_message(
            response="utter_store_hours", store=store.name, address=store_line(store), **hours_args(store)
        )
        return [SlotSet("store_id", float(store.id))]
