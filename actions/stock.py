"""Stock questions: "is the first one in stock at Mall of America?". The order service decides what
this shopper may see (availability level for shoppers, exact counts for staff of that store)."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.common import entity_values, identity
from order_service.client import OrderServiceError

RESPONSE_BY_LEVEL = {"in_stock": "utter_stock_in_stock", "low": "utter_stock_low", "out": "utter_stock_out"}


def product_in_focus(tracker: Tracker) -> str | None:
    """The product the shopper points at: an ordinal into the last list shown ("the first one",
    "第二个"), else the product the conversation is about."""
    shown = tracker.get_slot("shown_skus") or []
    for value in entity_values(tracker, "ordinal"):
        try:
            position = int(value)
        except (TypeError, ValueError):
            continue
        index = position - 1 if position > 0 else position
        if -len(shown) <= index < len(shown):
            return shown[index]
    return tracker.get_slot("product_sku") or (shown[0] if len(shown) == 1 else None)


class ActionCheckStock(Action):
    def name(self) -> str:
        return "action_check_stock"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        sku = product_in_focus(tracker)
        if not sku:
            dispatcher.utter_message(response="utter_ask_which_product")
            return []
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
            elif tracker.get_slot("store_id") is not None:
                store = await client.get_store(int(tracker.get_slot("store_id")))
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
                    dispatcher.utter_message(response="utter_stock_elsewhere",
                                             stores=", ".join(n.store.name for n in nearby))
        except OrderServiceError as exc:
            if exc.not_found:
                dispatcher.utter_message(response="utter_ask_which_product")
            else:
                dispatcher.utter_message(response="utter_service_unavailable")
        return events
