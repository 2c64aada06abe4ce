"""Order status, cancellation and returns, for the shopper's own orders only.

The bot passes the identity the channel established (actions.customers.shopper_id); the order service
decides whether this customer may see or change the order (another customer's order is a 404) and
whether the change is allowed in its status (409)."""
from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.common import entity_values, language
from actions.customers import shopper_id
from knowledge_graph.vocab import format_price
from order_service.client import OrderServiceError
from order_service.schemas import MAX_ID, OrderOut

RECENT = 3


def order_id_in_focus(tracker: Tracker) -> int | None:
    """The order number in the latest message ("#1234", "订单1234"), else the order discussed last."""
    for value in entity_values(tracker, "order_id"):
        digits = re.sub(r"\D", "", str(value))
        if digits and 0 < int(digits) <= MAX_ID:
            return int(digits)
    current = tracker.get_slot("order_id")
    return int(current) if current else None


def order_summary(order: OrderOut, lang: str) -> str:
    """One line per order for a list: number, date, items and total (no words, so both languages)."""
    items = sum(line.quantity for line in order.lines)
    return f"#{order.id} · {order.created_at:%Y-%m-%d} · {items} × · {format_price(float(order.total), lang)}"


def order_args(order: OrderOut, lang: str) -> dict[str, Any]:
    return {"order_id": order.id, "total": format_price(float(order.total), lang),
            "items": ", ".join(f"{line.quantity} × {line.name}" for line in order.lines)}


async def show_recent_orders(dispatcher: CollectingDispatcher, tracker: Tracker, customer: str) -> None:
    """When the shopper named no order: their latest ones, so they can pick a number."""
    recent = await services.orders().list_orders(customer, limit=RECENT)
    if not recent:
        dispatcher.utter_message(response="utter_no_orders")
        return
    lang = language(tracker)
    dispatcher.utter_message(response="utter_recent_orders",
                             orders="\n".join(order_summary(o, lang) for o in recent))


class OrderAction(Action, ABC):
    """Shared shape: who is asking → which order → one call → one answer; errors in the shopper's words."""

    response_conflict = "utter_service_unavailable"

    @abstractmethod
    async def act(self, customer: str, order_id: int) -> OrderOut:
        """The one order-service call of this action."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: DomainDict) -> list[dict[str, Any]]:
        order_id = order_id_in_focus(tracker)
        try:
            customer = await shopper_id(tracker)
            if order_id is None:
                await show_recent_orders(dispatcher, tracker, customer)
                return []
            order = await self.act(customer, order_id)
        except OrderServiceError as exc:
            if exc.not_found:
                dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
                return [SlotSet("order_id", None)]
            dispatcher.utter_message(response=self.response_conflict if exc.conflict else "utter_service_unavailable",
                                     order_id=order_id)
            return [SlotSet("order_id", float(order_id))]
        dispatcher.utter_message(response=f"utter_order_status_{order.status}", **order_args(order, language(tracker)))
        return [SlotSet("order_id", float(order.id))]


class ActionOrderStatus(OrderAction):
    def name(self) -> str:
        return "action_order_status"

    async def act(self, customer: str, order_id: int) -> OrderOut:
        return await services.orders().get_order(customer, order_id)


class ActionCancelOrder(OrderAction):
    response_conflict = "utter_order_cannot_cancel"

    def name(self) -> str:
        return "action_cancel_order"

    async def act(self, customer: str, order_id: int) -> OrderOut:
        return await services.orders().cancel_order(customer, order_id)


class ActionReturnOrder(OrderAction):
    response_conflict = "utter_order_cannot_return"

    def name(self) -> str:
        return "action_return_order"

    async def act(self, customer: str, order_id: int) -> OrderOut:
        return await services.orders().request_return(customer, order_id)
