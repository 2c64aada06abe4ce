"""Order status, cancellation and returns, for the shopper's own orders only.

The bot passes the identity the channel established (actions.customers.shopper_id); the order service
decides whether this customer may see or change the order (another customer's order is a 404) and
whether the change is allowed in its status (409)."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.common import entity_values, language
from actions.customers import shopper_id
from actions.faq_answers import answer_faq
from knowledge_graph.vocab import format_price
from order_service.client import OrderServiceError
from order_service.schemas import MAX_ID, OrderOut

RECENT = 3
# Which order the shopper picks from the list just shown: "the most recent one", "最近那单" (the list
# is newest first), "the oldest", or a position ("第一个", "the second one": the NLU's ordinal).
NEWEST = re.compile(
    r"(?i)\b(?:most\s+recent|latest|newest|last\s+order|recent)\b|最近|最新|刚才|刚刚|上一单|最后下的"
)
OLDEST = re.compile(r"(?i)\b(?:oldest|earliest|first\s+order\s+i)\b|最早|最老")
# What the intents the NLU gives such a short reply mean when it is not a pick (action_pick_order).
OTHERWISE = {"add_to_cart": "action_add_to_cart", "chitchat": "utter_chitchat"}


def order_id_in_message(tracker: Tracker) -> int | None:
    """The order number in the latest message ("#1234", "订单1234")."""
    for value in entity_values(tracker, "order_id"):
        digits = re.sub(r"\D", "", str(value))
        if digits and 0 < int(digits) <= MAX_ID:
            return int(digits)
    return None


def order_id_in_focus(tracker: Tracker) -> int | None:
    """The order number in the latest message, else the order discussed last."""
    named = order_id_in_message(tracker)
    if named is not None:
        return named
    current = tracker.get_slot("order_id")
    return int(current) if current else None


def order_summary(order: OrderOut, lang: str) -> str:
    """One line per order for a list: number, date, items and total (no words, so both languages)."""
    items = sum(line.quantity for line in order.lines)
    return f"#{order.id} · {order.created_at:%Y-%m-%d} · {items} × · {format_price(float(order.total), lang)}"


def order_args(order: OrderOut, lang: str) -> dict[str, Any]:
    return {
        "order_id": order.id,
        "total": format_price(float(order.total), lang),
        "items": ", ".join(f"{line.quantity} × {line.name}" for line in order.lines),
    }


async def show_recent_orders(
    dispatcher: CollectingDispatcher, tracker: Tracker, customer: str, kind: str
) -> list[dict[str, Any]]:
    """When the shopper named no order: their latest ones, so they can pick one; `order_pick`
    remembers what to do with the pick (the rules send the next reply to action_pick_order)."""
    recent = await services.orders().list_orders(customer, limit=RECENT)
    if not recent:
        dispatcher.utter_message(response="utter_no_orders")
        return []
    lang = language(tracker)
    dispatcher.utter_message(
        response="utter_recent_orders", orders="\n".join(order_summary(o, lang) for o in recent)
    )
    return [SlotSet("order_pick", kind), SlotSet("shown_orders", [o.id for o in recent])]


def picked_order(tracker: Tracker, shown: list[int]) -> int | None:
    """The order of the list just shown that the latest message picks, if it picks one."""
    text = tracker.latest_message.get("text") or ""
    named = order_id_in_message(tracker)
    if named in shown:
        return named
    for value in entity_values(tracker, "ordinal"):
        digits = re.search(r"-?\d+", str(value))
        if digits and shown:
            n = int(digits.group())
            if 1 <= n <= len(shown) or -len(shown) <= n <= -1:
                return shown[n - 1 if n > 0 else n]
    if shown and OLDEST.search(text):
        return shown[-1]
    if shown and NEWEST.search(text):
        return shown[0]
    return None


def ends_turn(tracker: Tracker, intent: str, events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The events, ending the turn when the action was reached from another intent (a FAQ-looking
    "can I cancel the one that hasn't shipped?" handed on by action_answer_faq): no rule follows it."""
    if (tracker.latest_message.get("intent") or {}).get("name") == intent:
        return events
    return [*events, FollowupAction("action_listen")]


class OrderAction(Action, ABC):
    """Shared shape: who is asking → which order → one call → one answer; errors in the shopper's words."""

    response_conflict = "utter_service_unavailable"
    kind = "status"  # what action_pick_order does with an order picked from the list this action shows

    @abstractmethod
    async def act(self, customer: str, order_id: int) -> OrderOut:
        """The one order-service call of this action."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        return await self.handle(dispatcher, tracker, order_id_in_focus(tracker))

    async def handle(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, order_id: int | None
    ) -> list[dict[str, Any]]:
        try:
            customer = await shopper_id(tracker)
            if order_id is None:
                return await show_recent_orders(dispatcher, tracker, customer, self.kind)
            order = await self.act(customer, order_id)
        except OrderServiceError as exc:
            if exc.not_found:
                dispatcher.utter_message(response="utter_order_not_found", order_id=order_id)
                return [SlotSet("order_id", None)]
            dispatcher.utter_message(
                response=self.response_conflict if exc.conflict else "utter_service_unavailable",
                order_id=order_id,
            )
            return [SlotSet("order_id", float(order_id))]
        dispatcher.utter_message(
            response=f"utter_order_status_{order.status}", **order_args(order, language(tracker))
        )
        return [SlotSet("order_id", float(order.id))]


class ActionOrderStatus(OrderAction):
    def name(self) -> str:
        return "action_order_status"

    async def act(self, customer: str, order_id: int) -> OrderOut:
        return await services.orders().get_order(customer, order_id)


# "the one that hasn't shipped", "the pending one", "还没发货的那单": an order picked by where it is, not by number
NOT_SENT_YET = re.compile(
    r"(?i)(?:has\s*n'?t|have\s*n'?t|not|never|is\s*n'?t|was\s*n'?t)\s+(?:been\s+|yet\s+|even\s+)?"
    r"(?:shipped|sent|gone\s+out|left|dispatched|mailed)|(?:unshipped|pending|still\s+processing)"
    r"|还没发|没发货|未发货|还没寄|没寄出"
)
BEFORE_SHIPPING = ("pending", "confirmed", "ready_for_pickup")


class ActionCancelOrder(OrderAction):
    response_conflict = "utter_order_cannot_cancel"
    kind = "cancel"

    def name(self) -> str:
        return "action_cancel_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if order_id_in_focus(tracker) is None and NOT_SENT_YET.search(
            tracker.latest_message.get("text") or ""
        ):
            try:
                recent = await services.orders().list_orders(await shopper_id(tracker), limit=RECENT)
            except OrderServiceError:
                recent = []
            shown = {int(i) for i in tracker.get_slot("shown_orders") or []}
            open_orders = [o for o in recent if o.status in BEFORE_SHIPPING and (not shown or o.id in shown)]
            if len(open_orders) == 1:  # the one order not yet sent: that one; several: the list asks
                return ends_turn(
                    tracker, "cancel_order", await self.handle(dispatcher, tracker, open_orders[0].id)
                )
        return ends_turn(tracker, "cancel_order", await super().run(dispatcher, tracker, domain))

    async def act(self, customer: str, order_id: int) -> OrderOut:
        return await services.orders().cancel_order(customer, order_id)


# A question about returns in general ("你们退货怎么退", "拆封了也能退吗", "how do returns work?"), not a
# request to return one of the shopper's orders ("I want to return my last order", "退掉订单1234").
POLICY_QUESTION = re.compile(
    r"(?i)^\s*(?:how|what|can|do|does|is|are|if)\b|\?\s*$|怎么|如何|吗\s*[?？]?\s*$|？\s*$|政策|规定|规则"
)
MY_ORDER = re.compile(
    r"(?i)\bmy\s+(?:\w+\s+)?(?:order|purchase)s?\b|我的订单|这个订单|那个订单|这单|那单|上次买|订单\s*#?\d"
)


class ActionReturnOrder(OrderAction):
    response_conflict = "utter_order_cannot_return"
    kind = "return"

    def name(self) -> str:
        return "action_return_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        if (
            order_id_in_message(tracker) is None
            and POLICY_QUESTION.search(text)
            and not MY_ORDER.search(text)
        ):  # answered, or the FAQ's closest questions offered, rather than the shopper's orders
            return await answer_faq(dispatcher, tracker, domain)
        return ends_turn(tracker, "return_order", await super().run(dispatcher, tracker, domain))

    async def act(self, customer: str, order_id: int) -> OrderOut:
        return await services.orders().request_return(customer, order_id)


class ActionPickOrder(Action):
    """The reply to a list of orders ("which one?"): "the most recent one", "第一个", "最近那单" pick an
    order and the action that showed the list goes on with it. A reply that picks none is what the
    NLU took it for, and is served as such."""

    ACTIONS = {a.kind: a for a in (ActionOrderStatus(), ActionCancelOrder(), ActionReturnOrder())}

    def name(self) -> str:
        return "action_pick_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        done = [SlotSet("order_pick", None), SlotSet("shown_orders", None)]
        action = self.ACTIONS.get(tracker.get_slot("order_pick") or "")
        order_id = picked_order(tracker, [int(i) for i in tracker.get_slot("shown_orders") or []])
        if action is None or order_id is None:
            intent = (tracker.latest_message.get("intent") or {}).get("name")
            return [*done, FollowupAction(OTHERWISE.get(intent, "action_understand_unclear"))]
        # the turn ends here: the rule that ran this action no longer matches once order_pick is reset,
        # and without a rule to end the turn an unclear reply ("the most recent one") would also get
        # the fallback's "sorry, I didn't get that"
        return [*done, *await action.handle(dispatcher, tracker, order_id), FollowupAction("action_listen")]
