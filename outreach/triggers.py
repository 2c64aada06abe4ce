"""What makes a message: order status changes (the order service's `order_events`) and stock
receipts (its `stock_movements` ledger), both append-only, read after a cursor that advances in the
same transaction as the messages it produced. The order service needs no hook: a status change
committed there is an event here, whatever process made it, and a crash of the worker repeats a
batch at worst, which the send keys make harmless."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from order_service.models import (
    WAREHOUSE_ID,
    AssistantEvent,
    CustomerIdentity,
    Location,
    Order,
    OrderEvent,
    OutreachCursor,
    Product,
    StockLevel,
    StockMovement,
    StockSubscription,
)
from outreach.outbox import enqueue

# order status → the post-sale message it causes ('completed' is delivered or picked up: ask for a rating;
# 'returned' means the return was received and refunded, the order service has no separate refund step)
POST_SALE = {
    "ready_for_pickup": "ready_for_pickup",
    "shipped": "shipped",
    "completed": "delivered",
    "returned": "return_received",
}
RESTOCK_KINDS = ("receipt", "transfer_in", "return")


@dataclass(frozen=True)
class Reach:
    channel: str
    address: str
    language: str


def _cursor(session: Session, name: str) -> OutreachCursor:
    row = session.get(OutreachCursor, name)
    if row is None:
        row = OutreachCursor(name=name, last_id=0)
        session.add(row)
    return row


def language_of(session: Session, customer_id: str, default: str = "en") -> str:
    """The language of the customer's latest assistant event."""
    lang = session.scalar(
        select(AssistantEvent.language)
        .where(AssistantEvent.customer_id == customer_id)
        .order_by(AssistantEvent.id.desc())
        .limit(1)
    )
    return lang or default


def reach(session: Session, customer_id: str, conversation_id: str | None = None) -> Reach | None:
    """The channel to message the customer on: the one the order was placed in when it is known, else
    WeChat when they follow the account, else the web widget; None when no channel knows them."""
    identities = {
        channel: external
        for channel, external in session.execute(
            select(CustomerIdentity.channel, CustomerIdentity.external_id)
            .where(CustomerIdentity.customer_id == customer_id)
            .order_by(CustomerIdentity.id)
        )
    }
    if not identities:
        return None
    preferred = "web" if conversation_id and not conversation_id.startswith("wechat-") else "wechat"
    channel = preferred if preferred in identities else next(iter(sorted(identities, reverse=True)))
    return Reach(channel, identities[channel], language_of(session, customer_id))


def scan_order_events(session: Session, now: datetime, batch: int = 500) -> int:
    """Post-sale messages for the order events after the cursor; returns the messages added."""
    cursor = _cursor(session, "order_events")
    rows = session.execute(
        select(OrderEvent.id, OrderEvent.to_status, Order.id, Order.customer_id, Order.conversation_id)
        .join(Order, Order.id == OrderEvent.order_id)
        .where(OrderEvent.id > cursor.last_id)
        .order_by(OrderEvent.id)
        .limit(batch)
    ).all()
    added = 0
    for event_id, status, order_id, customer_id, conversation_id in rows:
        cursor.last_id = event_id
        template = POST_SALE.get(status)
        if template is None or (to := reach(session, customer_id, conversation_id)) is None:
            continue
        order = session.get(Order, order_id)
        assert order is not None
        store = session.get(Location, order.location_id)
        params: dict[str, Any] = {
            "order_id": order_id,
            "store": store.name if store else "",
            "refund": f"{order.total:.2f}",
            "currency": order.currency,
        }
        added += enqueue(
            session,
            send_key=f"order:{order_id}:{status}",
            kind="post_sale",
            template=template,
            customer_id=customer_id,
            channel=to.channel,
            address=to.address,
            language=to.language,
            params=params,
            now=now,
        )
    session.commit()
    return added


def subscribe_back_in_stock(
    session: Session,
    customer_id: str,
    sku: str,
    location_id: int | None,
    now: datetime,
    language: str | None = None,
) -> StockSubscription:
    """'Tell me when it is back': one open subscription per customer, product and place."""
    existing = session.scalar(
        select(StockSubscription).where(
            StockSubscription.customer_id == customer_id,
            StockSubscription.sku == sku,
            StockSubscription.location_id.is_(None)
            if location_id is None
            else StockSubscription.location_id == location_id,
            StockSubscription.notified_at.is_(None),
        )
    )
    if existing is not None:
        return existing
    to = reach(session, customer_id)
    if to is None:
        raise LookupError(f"customer {customer_id} has no channel identity")
    row = StockSubscription(
        customer_id=customer_id,
        sku=sku,
        location_id=location_id,
        channel=to.channel,
        address=to.address,
        language=language or to.language,
        created_at=now,
    )
    session.add(row)
    session.flush()
    return row


def _available(session: Session, location_id: int, sku: str) -> int:
    level = session.get(StockLevel, (location_id, sku))
    return 0 if level is None else level.on_hand - level.reserved


def scan_stock_receipts(session: Session, now: datetime, batch: int = 1000) -> int:
    """Back-in-stock messages for the stock receipts after the cursor: a receipt at the warehouse
    answers every subscription to the product, one at a store the subscriptions to that store."""
    cursor = _cursor(session, "stock_movements")
    rows = session.execute(
        select(
            StockMovement.id,
            StockMovement.location_id,
            StockMovement.sku,
            StockMovement.kind,
            StockMovement.quantity,
        )
        .where(StockMovement.id > cursor.last_id)
        .order_by(StockMovement.id)
        .limit(batch)
    ).all()
    added = 0
    for movement_id, location_id, sku, kind, quantity in rows:
        cursor.last_id = movement_id
        if kind not in RESTOCK_KINDS or quantity <= 0 or _available(session, location_id, sku) <= 0:
            continue
        waiting = select(StockSubscription).where(
            StockSubscription.sku == sku, StockSubscription.notified_at.is_(None)
        )
        if location_id != WAREHOUSE_ID:
            waiting = waiting.where(StockSubscription.location_id == location_id)
        product = session.get(Product, sku)
        store = session.get(Location, location_id)
        for sub in session.scalars(waiting):
            where = "" if location_id == WAREHOUSE_ID or store is None else store.name
            sub.notified_at = now
            added += enqueue(
                session,
                send_key=f"stock:{sub.id}",
                kind="back_in_stock",
                template="back_in_stock",
                customer_id=sub.customer_id,
                channel=sub.channel,
                address=sub.address,
                language=sub.language,
                params={
                    "sku": sku,
                    "name": product.name if product else sku,
                    "where": (f" at {where}" if sub.language != "zh" else f"（{where}）") if where else "",
                },
                now=now,
            )
    session.commit()
    return added
