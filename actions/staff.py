"""Staff tools in the conversation: stock of a SKU at my store, nearby or everywhere; the low-stock
list, transfer suggestions and the open pick-up orders of my store.

Two locks (actions.staff_base.StaffAction): these actions answer only when the channel identified a staff member (a staff token in
the message metadata, see actions.common.identity), and every call carries that staff member's own
token, so the order service refuses anyone else and scopes the answers to what that member may see.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import answers, services
from actions.common import language
from actions.references import resolve_products
from actions.staff_base import LIST_LIMIT, StaffAction
from knowledge_graph.vocab import format_price
from order_service.client import OrderServiceClient
from order_service.schemas import OrderListOut, OrderOut, StaffMe

PICKUP_STATUSES = ("confirmed", "ready_for_pickup")  # to prepare, waiting for the shopper


async def pickup_orders(
    client: OrderServiceClient, staff_token: str, store_id: int | None, status: str
) -> list[OrderOut]:
    """GET /staff/orders (the client has no public method for it yet; the service scopes an associate
    to their own store)."""
    out = await client._get(
        "/staff/orders",
        OrderListOut,
        staff_token=staff_token,
        params={"location_id": store_id, "status": status, "limit": 50},
    )
    return [o for o in out.orders if o.fulfilment == "pickup"]


def utter_list(
    dispatcher: CollectingDispatcher,
    items: list[Any],
    line: Callable[[Any], str],
    response: str,
    empty_response: str,
    **kwargs: Any,
) -> None:
    """One response with the items as bullet lines, or the empty response."""
    if not items:
        dispatcher.utter_message(response=empty_response, **kwargs)
        return
    dispatcher.utter_message(response=response, lines="\n".join(f"• {line(i)}" for i in items), **kwargs)


class ActionStaffStock(Action):
    """Stock of a product named by SKU, by name ("how many RM850x do we have?") or by reference, at
    my store, nearby or across the chain (actions.answers.staff_stock_turn, shared with the stock
    questions the NLU gave a shopper's intent)."""

    def name(self) -> str:
        return "action_staff_stock"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        return await answers.staff_stock_turn(dispatcher, tracker)


class ActionStaffLowStock(StaffAction):
    def name(self) -> str:
        return "action_staff_low_stock"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe
    ) -> list[dict[str, Any]] | None:
        items = await services.orders().low_stock(me.store_id, token, limit=LIST_LIMIT)
        utter_list(
            dispatcher,
            items,
            lambda i: f"{i.name} ({i.sku}): {i.available} / {i.on_hand}",
            "utter_staff_low_stock",
            "utter_staff_low_stock_none",
        )
        # the list "the first one" points at next ("how many of the first one should I reorder?")
        return (
            [SlotSet("shown_skus", [i.sku for i in items]), SlotSet("product_sku", None)] if items else None
        )


class ActionStaffReorder(StaffAction):
    """ "How many should I reorder?", "要补多少货": reorder point and economic order quantity at my
    store, from its sales history (the order service's replenishment plan), for the product the
    message points at, else for every item of the low-stock list just shown, else of my store's."""

    def name(self) -> str:
        return "action_staff_reorder"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe
    ) -> None:
        client = services.orders()
        graph = await asyncio.to_thread(services.graph)
        found = resolve_products(tracker, graph)
        skus = found.skus or found.candidates
        if not skus:
            skus = [i.sku for i in await client.low_stock(me.store_id, token, limit=LIST_LIMIT)]
        if not skus:
            dispatcher.utter_message(response="utter_staff_low_stock_none")
            return
        plans = await asyncio.gather(
            *(client.replenishment(s, me.store_id, token) for s in skus[:LIST_LIMIT])
        )
        utter_list(
            dispatcher,
            plans,
            lambda p: (
                f"{graph.products[p.sku].name if p.sku in graph.products else p.sku} "
                f"({p.sku}): {p.available} · {p.reorder_point} · {p.eoq if p.should_reorder else 0} "
                f"({p.units_sold} / {p.history_days} d)"
            ),
            "utter_staff_reorder",
            "utter_staff_low_stock_none",
        )


class ActionStaffTransfers(StaffAction):
    def name(self) -> str:
        return "action_staff_transfers"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe
    ) -> None:
        items = await services.orders().transfer_suggestions(me.store_id, token, limit=LIST_LIMIT)
        utter_list(
            dispatcher,
            items,
            lambda t: f"{t.quantity} × {t.name} ({t.sku}) ← {t.from_name} ({t.distance_km:.0f} km)",
            "utter_staff_transfers",
            "utter_staff_transfers_none",
        )


class ActionStaffPickupOrders(StaffAction):
    def name(self) -> str:
        return "action_staff_pickup_orders"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe
    ) -> None:
        client = services.orders()
        found = await asyncio.gather(*(pickup_orders(client, token, me.store_id, s) for s in PICKUP_STATUSES))
        lang = language(tracker)
        for status, orders in zip(PICKUP_STATUSES, found):
            if not orders:
                continue
            lines = "\n".join(
                f"• #{o.id} · {o.created_at:%Y-%m-%d %H:%M} · "
                + ", ".join(f"{line.quantity} × {line.name}" for line in o.lines)
                + f" · {format_price(float(o.total), lang)}"
                for o in orders
            )
            dispatcher.utter_message(response=f"utter_staff_pickups_{status}", lines=lines)
        if not any(found):
            dispatcher.utter_message(response="utter_staff_pickups_none")
