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

from actions import services
from actions.common import entity_values
from actions.stock import product_in_focus
from order_service.client import OrderServiceError
from order_service.schemas import StoreOut

NEAREST = 3
ZIP = re.compile(r"\d{5}(?:-\d{4})?")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
CLOSED = "—"


def location_query(tracker: Tracker) -> str | None:
    value = next(iter(entity_values(tracker, "store")), None)
    return str(value).strip() if value else None


def store_line(store: StoreOut, distance_km: float | None = None) -> str:
    where = f"{store.name} — {store.address}, {store.city}, {store.state} {store.zip}"
    return where if distance_km is None else f"{where} ({distance_km:.1f} km)"


def hours_args(store: StoreOut) -> dict[str, str]:
    """Opening hours per weekday ("10:00–21:00", or a dash when closed) for the response's own day names."""
    return {day: "–".join(store.hours[day]) if store.hours.get(day) else CLOSED for day in DAYS}


class ActionFindStore(Action):
    def name(self) -> str:
        return "action_find_store"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        query = location_query(tracker)
        if not query:
            dispatcher.utter_message(response="utter_ask_store_location")
            return []
        client = services.orders()
        sku = product_in_focus(tracker)
        try:
            if sku is None:
                stores = await client.find_stores(query, limit=NEAREST)
                if not stores:
                    dispatcher.utter_message(response="utter_store_not_found", query=query)
                    return []
                dispatcher.utter_message(response="utter_stores_found",
                                         stores="\n".join(store_line(s, s.distance_km) for s in stores))
                return [SlotSet("store_id", float(stores[0].id))]
            if ZIP.fullmatch(query):
                nearest = await client.nearest_stores_with_stock(sku, zip=query[:5], limit=NEAREST)
            else:
                anchor = await client.find_stores(query, limit=1)
                if not anchor:
                    dispatcher.utter_message(response="utter_store_not_found", query=query)
                    return []
                nearest = await client.nearest_stores_with_stock(sku, lat=anchor[0].lat, lon=anchor[0].lon,
                                                                 limit=NEAREST)
        except OrderServiceError as exc:
            dispatcher.utter_message(response="utter_store_not_found" if exc.status_code in (404, 422)
                                     else "utter_service_unavailable", query=query)
            return []
        product = services.graph().product(sku).name
        if not nearest:
            dispatcher.utter_message(response="utter_no_store_with_item", product=product, query=query)
            return [SlotSet("product_sku", sku)]
        dispatcher.utter_message(response="utter_stores_with_item", product=product,
                                 stores="\n".join(store_line(n.store, n.distance_km) for n in nearest))
        return [SlotSet("product_sku", sku), SlotSet("store_id", float(nearest[0].store.id))]


class ActionStoreHours(Action):
    def name(self) -> str:
        return "action_store_hours"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        query = location_query(tracker)
        client = services.orders()
        try:
            if query:
                found = await client.find_stores(query, limit=1)
                if not found:
                    dispatcher.utter_message(response="utter_store_not_found", query=query)
                    return []
                store = found[0]
            elif tracker.get_slot("store_id") is not None:
                store = await client.get_store(int(tracker.get_slot("store_id")))
            else:
                dispatcher.utter_message(response="utter_ask_which_store")
                return []
        except OrderServiceError:
            dispatcher.utter_message(response="utter_service_unavailable")
            return []
        dispatcher.utter_message(response="utter_store_hours", store=store.name, address=store_line(store),
                                 **hours_args(store))
        return [SlotSet("store_id", float(store.id))]
