"""Staff tools in the conversation: stock of a SKU at my store, nearby or everywhere; the low-stock
list, reorder quantities and transfer suggestions of a store, making a suggested transfer after a yes,
the open pick-up orders and marking one ready.

Which store: the one the message names, else the one the conversation was about, else the member's
own. An associate asking about another store's lists is told so (the service would refuse anyway); a
manager or admin has no store of their own and is asked which, except for pick-up orders, which they
see for every store.

Two locks (actions.staff_base.StaffAction): these actions answer only when the channel identified a staff member (a staff token in
the message metadata, see actions.common.identity), and every call carries that staff member's own
token, so the order service refuses anyone else and scopes the answers to what that member may see.
"""

from __future__ import annotations

import asyncio
import re
from abc import abstractmethod
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import answers, references, services
from actions.common import language
from actions.references import ordinal_positions, resolve_products
from actions.staff_base import LIST_LIMIT, StaffAction
from knowledge_graph.vocab import format_price
from order_service.client import OrderServiceClient, OrderServiceError
from order_service.schemas import MovementOut, OrderListOut, OrderOut, StaffMe, TransferIn

PICKUP_STATUSES = ("confirmed", "ready_for_pickup")  # to prepare, waiting for the shopper
STORE_SLOT = "staff_store_id"
TRANSFERS = "shown_transfers"
PENDING = "staff_pending_transfer"
ORDERS = "shown_orders"
# "order 1234", "#1234", "1234号订单": an order number said in the message
ORDER_NUMBER = re.compile(
    r"(?i)(?:#\s*|\border\s*(?:no\.?|number)?\s*#?\s*|订单\s*#?\s*)(\d{1,12})\b|(\d{1,12})\s*号"
)
# "the first order", "the second pick-up" (the shared ordinals leave "first order" alone: a shopper's
# "my first order" is not a position in a list)
ORDER_ORDINAL = re.compile(r"(?i)\b(first|second|third|last)\s+(?:order|pick-?up)")
ORDER_ORDINALS = {"first": 1, "second": 2, "third": 3, "last": -1}
QUANTITY = re.compile(
    r"(?<![\d.#-])(\d{1,4})(?![\d.])\s*(?:x\b|×|units?\b|pcs\b|of\b|个|件|台|块|只|套)", re.IGNORECASE
)


@dataclass(frozen=True)
class Store:
    id: int
    name: str


async def target_store(
    dispatcher: CollectingDispatcher, tracker: Tracker, me: StaffMe, *, everywhere_ok: bool = False
) -> tuple[Store | None, list[dict[str, Any]]] | None:
    """The store a staff list is for, and the events that keep it in focus; None when the member
    was told why there is none (an associate naming another store, a manager naming none). With
    `everywhere_ok` a manager naming no store gets (None, []): every store."""
    client = services.orders()
    query = references.store_mentioned(tracker)
    found = await references.find_store(query, limit=5, correct_typos=True) if query else []
    if found and found[0].id != me.store_id:
        named = Store(found[0].id, found[0].name)
        if me.role == "associate":
            own = await client.get_store(me.store_id) if me.store_id is not None else None
            dispatcher.utter_message(
                response="utter_staff_not_your_store", store=named.name, own=own.name if own else "-"
            )
            return None
        return named, [SlotSet(STORE_SLOT, float(named.id))]
    if me.store_id is not None:
        own = await client.get_store(me.store_id)
        return Store(own.id, own.name), [SlotSet(STORE_SLOT, None)]
    kept = tracker.get_slot(STORE_SLOT)
    if kept is not None:
        store = await client.get_store(int(kept))
        return Store(store.id, store.name), []
    if everywhere_ok:
        return None, []
    dispatcher.utter_message(response="utter_staff_ask_store")
    return None


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


class StoreStaffAction(StaffAction):
    """A staff list of one store (target_store): the member's own, or one a manager names."""

    needs_store = False
    everywhere_ok = False

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe
    ) -> list[dict[str, Any]] | None:
        target = await target_store(dispatcher, tracker, me, everywhere_ok=self.everywhere_ok)
        if target is None:
            return None
        store, events = target
        return events + (await self.for_store(dispatcher, tracker, token, me, store) or [])

    @abstractmethod
    async def for_store(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe, store: Store | None
    ) -> list[dict[str, Any]] | None:
        """The list for `store` (abstract: rasa-sdk registers every concrete Action subclass)."""


class ActionStaffLowStock(StoreStaffAction):
    def name(self) -> str:
        return "action_staff_low_stock"

    async def for_store(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe, store: Store | None
    ) -> list[dict[str, Any]] | None:
        assert store is not None
        items = await services.orders().low_stock(store.id, token, limit=LIST_LIMIT)
        utter_list(
            dispatcher,
            items,
            lambda i: f"{i.name} ({i.sku}): {i.available} / {i.on_hand}",
            "utter_staff_low_stock",
            "utter_staff_low_stock_none",
            store=store.name,
        )
        # the list "the first one" points at next ("how many of the first one should I reorder?")
        return (
            [SlotSet("shown_skus", [i.sku for i in items]), SlotSet("product_sku", None)] if items else None
        )


class ActionStaffReorder(StoreStaffAction):
    """ "How many should I reorder?", "要补多少货": reorder point and economic order quantity at the
    store, from its sales history (the order service's replenishment plan), for the product the
    message points at, else for every item of the low-stock list just shown, else of the store's."""

    def name(self) -> str:
        return "action_staff_reorder"

    async def for_store(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe, store: Store | None
    ) -> None:
        assert store is not None
        client = services.orders()
        graph = await asyncio.to_thread(services.graph)
        found = resolve_products(tracker, graph)
        skus = found.skus or found.candidates
        if not skus:
            skus = [i.sku for i in await client.low_stock(store.id, token, limit=LIST_LIMIT)]
        if not skus:
            dispatcher.utter_message(response="utter_staff_low_stock_none", store=store.name)
            return
        plans = await asyncio.gather(*(client.replenishment(s, store.id, token) for s in skus[:LIST_LIMIT]))
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
            store=store.name,
        )


@dataclass(frozen=True)
class Transfer:
    """A transfer as suggested and as confirmed (kept in the slots as a dict)."""

    sku: str
    name: str
    from_id: int
    from_name: str
    to_id: int
    to_name: str
    quantity: int
    left: int  # units the source keeps available afterwards
    km: float = 0.0  # from the source to the destination

    def facts(self) -> dict[str, Any]:
        """The placeholders the transfer responses share."""
        return dict(
            quantity=self.quantity,
            name=self.name,
            sku=self.sku,
            from_store=self.from_name,
            to_store=self.to_name,
        )


async def suggested_transfers(store: Store, token: str) -> list[Transfer]:
    """The order service's transfer suggestions into a store (nearest donor that can spare them)."""
    found = await services.orders().transfer_suggestions(store.id, token, limit=LIST_LIMIT)
    return [
        Transfer(
            t.sku,
            t.name,
            t.from_location_id,
            t.from_name,
            store.id,
            store.name,
            t.quantity,
            t.donor_available_after,
            t.distance_km,
        )
        for t in found
    ]


class ActionStaffTransfers(StoreStaffAction):
    def name(self) -> str:
        return "action_staff_transfers"

    async def for_store(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe, store: Store | None
    ) -> list[dict[str, Any]]:
        assert store is not None
        shown = await suggested_transfers(store, token)
        utter_list(
            dispatcher,
            shown,
            lambda t: f"{t.quantity} × {t.name} ({t.sku}) ← {t.from_name} ({t.km:.0f} km)",
            "utter_staff_transfers",
            "utter_staff_transfers_none",
            store=store.name,
        )
        return [SlotSet(TRANSFERS, [asdict(t) for t in shown])]


def picked(items: list[Any], positions: list[int]) -> Any | None:
    """The item at the first position named (1-based, -1 = last), if the list has it."""
    for position in positions:
        index = position - 1 if position > 0 else position
        if -len(items) <= index < len(items):
            return items[index]
    return None


class ActionStaffCreateTransfer(StoreStaffAction):
    """ "Set up the first one", "第二条调过来": the transfer suggested at that place (the suggestions
    shown last, else the store's suggestions now), or one said in full ("move 3 Samsung 860 Pro from
    Eagan": that store is the source, the member's store the destination), put to the member for a
    yes or no before anything moves."""

    def name(self) -> str:
        return "action_staff_create_transfer"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe
    ) -> list[dict[str, Any]] | None:
        shown = [Transfer(**t) for t in tracker.get_slot(TRANSFERS) or [] if isinstance(t, dict)]
        chosen = picked(shown, ordinal_positions(tracker))
        if chosen is not None:
            return self.ask(dispatcher, chosen)
        said = await self.said_in_full(tracker, token, me)
        if said is not None:
            return self.ask(dispatcher, said)
        return await super().answer(dispatcher, tracker, token, me)

    @staticmethod
    async def said_in_full(tracker: Tracker, token: str, me: StaffMe) -> Transfer | None:
        query = references.store_mentioned(tracker)
        if me.store_id is None or not query:
            return None
        graph = await asyncio.to_thread(services.graph)
        found = resolve_products(tracker, graph)
        stores = await references.find_store(query, limit=5, correct_typos=True)
        if not found.skus or not stores or stores[0].id == me.store_id:
            return None
        client = services.orders()
        text = tracker.latest_message.get("text") or ""
        quantity = next((int(m.group(1)) for m in QUANTITY.finditer(text)), 1)
        own = await client.get_store(me.store_id)
        source = await client.stock_at(found.skus[0], stores[0].id, staff_token=token)
        sku = found.skus[0]
        return Transfer(
            sku,
            graph.products[sku].name,
            stores[0].id,
            stores[0].name,
            own.id,
            own.name,
            quantity,
            source.available - quantity,
        )

    async def for_store(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe, store: Store | None
    ) -> list[dict[str, Any]] | None:
        assert store is not None
        shown = await suggested_transfers(store, token)
        positions = ordinal_positions(tracker) or ([1] if len(shown) == 1 else [])
        chosen = picked(shown, positions)
        if chosen is not None:
            return [SlotSet(TRANSFERS, [asdict(t) for t in shown]), *self.ask(dispatcher, chosen)]
        if not shown:
            dispatcher.utter_message(response="utter_staff_transfers_none", store=store.name)
            return None
        dispatcher.utter_message(response="utter_staff_transfer_ask_which")
        return [SlotSet(TRANSFERS, [asdict(t) for t in shown])]

    @staticmethod
    def ask(dispatcher: CollectingDispatcher, t: Transfer) -> list[dict[str, Any]]:
        dispatcher.utter_message(response="utter_staff_transfer_confirm", left=max(t.left, 0), **t.facts())
        return [SlotSet(PENDING, asdict(t))]


class ActionStaffTransferDecision(StaffAction):
    """The yes or no to the transfer just put to the member: a yes makes it (both ledger rows, in one
    transaction of the order service, which also audits it), anything else drops it."""

    needs_store = False

    def name(self) -> str:
        return "action_staff_transfer_decision"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe
    ) -> list[dict[str, Any]]:
        pending = tracker.get_slot(PENDING)
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        if not isinstance(pending, dict) or intent != "affirm":
            dispatcher.utter_message(response="utter_staff_transfer_cancelled")
            return [SlotSet(PENDING, None)]
        t = Transfer(**pending)
        client = services.orders()
        body = TransferIn(
            sku=t.sku,
            from_location_id=t.from_id,
            to_location_id=t.to_id,
            quantity=t.quantity,
            note=f"chat: {me.username}",
        )
        try:
            rows = await client._post(  # the client has no public method for it yet
                "/staff/transfers", list[MovementOut], body=body, retry=False, staff_token=token
            )
        except OrderServiceError as exc:
            if exc.status_code != 409:
                raise
            dispatcher.utter_message(
                response="utter_staff_transfer_failed", from_store=t.from_name, quantity=t.quantity, sku=t.sku
            )
            return [SlotSet(PENDING, None)]
        after = await client.stock_at(t.sku, t.to_id, staff_token=token)
        dispatcher.utter_message(
            response="utter_staff_transfer_done",
            **t.facts(),
            ref=rows[0].transfer_ref if rows and rows[0].transfer_ref else "-",
            available=after.available,
        )
        return [SlotSet(PENDING, None), SlotSet(TRANSFERS, None)]


class ActionStaffPickupOrders(StoreStaffAction):
    everywhere_ok = True  # a manager naming no store: every store's pick-up orders

    def name(self) -> str:
        return "action_staff_pickup_orders"

    async def for_store(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe, store: Store | None
    ) -> list[dict[str, Any]]:
        client = services.orders()
        store_id = store.id if store else None
        found = await asyncio.gather(*(pickup_orders(client, token, store_id, s) for s in PICKUP_STATUSES))
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
        # "mark the first one ready": the orders to prepare, in the order listed
        return [SlotSet(ORDERS, [o.id for o in found[0]])]


def order_number(tracker: Tracker) -> int | None:
    text = tracker.latest_message.get("text") or ""
    m = ORDER_NUMBER.search(text)
    return int(m.group(1) or m.group(2)) if m else None


def order_positions(tracker: Tracker) -> list[int]:
    text = tracker.latest_message.get("text") or ""
    said = [ORDER_ORDINALS[m.group(1).lower()] for m in ORDER_ORDINAL.finditer(text)]
    return said + ordinal_positions(tracker)


class ActionStaffMarkReady(StoreStaffAction):
    """ "Mark the first one ready", "#2045备好了": a pick-up order to prepare becomes ready for
    pick-up (the order service records who did it, and the status change is what tells the shopper)."""

    everywhere_ok = True

    def name(self) -> str:
        return "action_staff_mark_ready"

    async def for_store(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe, store: Store | None
    ) -> list[dict[str, Any]] | None:
        client = services.orders()
        order_id = order_number(tracker)
        if order_id is None:
            shown = [int(i) for i in tracker.get_slot(ORDERS) or []]
            if not shown:
                shown = [
                    o.id for o in await pickup_orders(client, token, store.id if store else None, "confirmed")
                ]
                if not shown:
                    dispatcher.utter_message(response="utter_staff_pickups_none")
                    return None
            positions = order_positions(tracker) or ([1] if len(shown) == 1 else [])
            order_id = picked(shown, positions)
            if order_id is None:
                dispatcher.utter_message(response="utter_staff_pickup_ask_which")
                return [SlotSet(ORDERS, shown)]
        try:
            order = await client.set_order_status(order_id, "ready_for_pickup", token)
        except OrderServiceError as exc:
            if exc.status_code != 409:
                raise
            current = await client._get(f"/staff/orders/{order_id}", OrderOut, staff_token=token)
            dispatcher.utter_message(
                response="utter_staff_pickup_not_open",
                order=order_id,
                status=current.status.replace("_", " "),
            )
            return None
        where = await client.get_store(order.location_id) if order.location_id else None
        dispatcher.utter_message(
            response="utter_staff_pickup_marked_ready", order=order.id, store=where.name if where else "-"
        )
        remaining = [i for i in tracker.get_slot(ORDERS) or [] if int(i) != order.id]
        return [SlotSet(ORDERS, remaining)]
