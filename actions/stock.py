"""Stock questions: "is the first one in stock at Mall of America?". The order service decides what
this shopper may see (availability level for shoppers, exact counts for staff of that store)."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import references, services
from actions.common import entity_values, identity, language
from order_service.client import OrderServiceError
from order_service.schemas import StoreOut

RESPONSE_BY_LEVEL = {"in_stock": "utter_stock_in_stock", "low": "utter_stock_low", "out": "utter_stock_out"}


def store_label(store: StoreOut) -> str:
    """A store's name with its street and city: several stores share a name ("Union Square")."""
    return f"{store.name} ({store.address}, {store.city})"


class ActionCheckStock(Action):
    def name(self) -> str:
        return "action_check_stock"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        graph = services.graph()
        found = references.resolve_products(tracker, graph)
        if found.ambiguous:
            return references.ask_which(dispatcher, graph, found.candidates, language(tracker), "ask_stock")
        if not found.skus:
            dispatcher.utter_message(response="utter_ask_which_product")
            return []
        sku = found.skus[0]
        events: list[dict[str, Any]] = [SlotSet("product_sku", sku)]
        client = services.orders()
        who = identity(tracker)
        try:
            store = None
            query = next(iter(entity_values(tracker, "store")), None)
            if query:
                found = await client.find_stores(str(query), limit=1)
                if not found:
                    dispatcher.utter_message(response="utter_store_not_found", query=query)
                    return events
                store = found[0]
            elif (store_id := references.store_in_focus(tracker)) is not None:   # "there"
                store = await client.get_store(store_id)
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
