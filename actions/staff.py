"""Staff tools in the conversation: stock of a SKU at my store, nearby or everywhere; the low-stock
list, transfer suggestions and the open pick-up orders of my store.

Two locks: these actions answer only when the channel identified a staff member (a staff token in
the message metadata, see actions.common.identity), and every call carries that staff member's own
token, so the order service refuses anyone else and scopes the answers to what that member may see.
"""
from __future__ import annotations

import asyncio
import re
from abc import ABC, abstractmethod
from typing import Any, Callable

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.common import entity_values, identity, language
from actions.references import ask_which, resolve_products
from knowledge_graph.vocab import format_price
from order_service.client import OrderServiceClient, OrderServiceError
from order_service.schemas import OrderListOut, OrderOut, StaffMe

LIST_LIMIT = 10
PICKUP_STATUSES = ("confirmed", "ready_for_pickup")  # to prepare, waiting for the shopper


async def pickup_orders(client: OrderServiceClient, staff_token: str, store_id: int | None,
                        status: str) -> list[OrderOut]:
    """GET /staff/orders (the client has no public method for it yet; the service scopes an associate
    to their own store)."""
    out = await client._get("/staff/orders", OrderListOut, staff_token=staff_token,
                            params={"location_id": store_id, "status": status, "limit": 50})
    return [o for o in out.orders if o.fulfilment == "pickup"]


def utter_list(dispatcher: CollectingDispatcher, items: list[Any], line: Callable[[Any], str], response: str,
               empty_response: str, **kwargs: Any) -> None:
    """One response with the items as bullet lines, or the empty response."""
    if not items:
        dispatcher.utter_message(response=empty_response, **kwargs)
        return
    dispatcher.utter_message(response=response, lines="\n".join(f"• {line(i)}" for i in items), **kwargs)


class StaffAction(Action, ABC):
    """Refuses shoppers, resolves the staff member, runs one query, maps service errors to answers."""

    needs_store = True

    @abstractmethod
    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str,
                     me: StaffMe) -> list[dict[str, Any]] | None:
        """Query the service as this staff member and utter the answer (events, if any)."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        token = identity(tracker).get("staff_token")
        if not token:
            dispatcher.utter_message(response="utter_staff_only")
            return []
        try:
            me = await services.orders().staff_me(token)
            if self.needs_store and me.store_id is None:
                dispatcher.utter_message(response="utter_staff_no_store")
                return []
            return await self.answer(dispatcher, tracker, token, me) or []
        except OrderServiceError as exc:
            if exc.status_code in (401, 403):
                dispatcher.utter_message(response="utter_staff_only")
            elif exc.not_found:
                dispatcher.utter_message(response="utter_staff_unknown_sku")
            else:
                dispatcher.utter_message(response="utter_service_unavailable")
        return []


_SCOPE_WORDS = (("everywhere", re.compile(r"(?i)\b(everywhere|across the chain|chain[- ]wide|all (?:the )?stores|any store|"
                                          r"nationwide|other stores)\b|全国|所有门店|所有店|各店|哪些店|别的店|其他门店")),
                ("nearby", re.compile(r"(?i)\b(near(?:by)?|close by|around here|near us|near me)\b|附近|周边|邻近")))


def scope_entity(tracker: Tracker) -> str:
    """"store" (my store), "nearby" or "everywhere": the NLU's stock_scope, else the wording ("across
    the chain", "附近"); my store unless the staff member said otherwise."""
    value = next(iter(entity_values(tracker, "stock_scope")), None)
    if value in ("store", "nearby", "everywhere"):
        return str(value)
    text = tracker.latest_message.get("text") or ""
    return next((scope for scope, words in _SCOPE_WORDS if words.search(text)), "store")


class ActionStaffStock(StaffAction):
    needs_store = False     # "everywhere" needs none; my store and nearby are checked in answer()

    def name(self) -> str:
        return "action_staff_stock"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str,
                     me: StaffMe) -> list[dict[str, Any]] | None:
        """Stock of a product named by SKU, by name ("how many RM850x do we have?") or by reference."""
        graph = await asyncio.to_thread(services.graph)
        found = resolve_products(tracker, graph)
        if found.ambiguous:
            return ask_which(dispatcher, graph, found.candidates, language(tracker), "staff_stock")
        if not found.skus:
            unknown = bool(entity_values(tracker, "sku"))     # a SKU typed that the catalogue does not have
            dispatcher.utter_message(response="utter_staff_unknown_sku" if unknown else "utter_staff_ask_sku")
            return None
        sku = found.skus[0]
        label = f"{graph.products[sku].name} ({sku})"
        client = services.orders()
        scope = scope_entity(tracker)
        if scope != "everywhere" and me.store_id is None:
            dispatcher.utter_message(response="utter_staff_no_store")
            return None
        if scope == "store":
            stock = await client.stock_at(sku, me.store_id, staff_token=token)
            dispatcher.utter_message(response="utter_staff_stock_here", sku=label, store=stock.location_name,
                                     available=stock.available, on_hand=stock.on_hand, reserved=stock.reserved)
            return [SlotSet("product_sku", sku)]
        rows = await client.staff_stock(sku, token, near_store_id=me.store_id if scope == "nearby" else None,
                                        in_stock_only=True, limit=LIST_LIMIT)
        utter_list(dispatcher, rows, lambda r: f"{r.location_name}: {r.available if r.available is not None else r.level}"
                   + (f" ({r.distance_km:.0f} km)" if r.distance_km is not None else ""),
                   f"utter_staff_stock_{scope}", "utter_staff_stock_none", sku=label)
        return [SlotSet("product_sku", sku)]


class ActionStaffLowStock(StaffAction):
    def name(self) -> str:
        return "action_staff_low_stock"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe) -> None:
        items = await services.orders().low_stock(me.store_id, token, limit=LIST_LIMIT)
        utter_list(dispatcher, items, lambda i: f"{i.name} ({i.sku}): {i.available} / {i.on_hand}",
                   "utter_staff_low_stock", "utter_staff_low_stock_none")


class ActionStaffTransfers(StaffAction):
    def name(self) -> str:
        return "action_staff_transfers"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe) -> None:
        items = await services.orders().transfer_suggestions(me.store_id, token, limit=LIST_LIMIT)
        utter_list(dispatcher, items, lambda t: f"{t.quantity} × {t.name} ({t.sku}) ← {t.from_name} ({t.distance_km:.0f} km)",
                   "utter_staff_transfers", "utter_staff_transfers_none")


class ActionStaffPickupOrders(StaffAction):
    def name(self) -> str:
        return "action_staff_pickup_orders"

    async def answer(self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe) -> None:
        client = services.orders()
        found = await asyncio.gather(*(pickup_orders(client, token, me.store_id, s) for s in PICKUP_STATUSES))
        lang = language(tracker)
        for status, orders in zip(PICKUP_STATUSES, found):
            if not orders:
                continue
            lines = "\n".join(f"• #{o.id} · {o.created_at:%Y-%m-%d %H:%M} · "
                              + ", ".join(f"{line.quantity} × {line.name}" for line in o.lines)
                              + f" · {format_price(float(o.total), lang)}" for o in orders)
            dispatcher.utter_message(response=f"utter_staff_pickups_{status}", lines=lines)
        if not any(found):
            dispatcher.utter_message(response="utter_staff_pickups_none")
