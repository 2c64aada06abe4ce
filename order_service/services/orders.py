"""Orders: creation with reservations, idempotency, the status machine and its stock effects.

Creation reserves stock (pending order, reservation expiring after settings.reservation_ttl_s);
confirmation turns the reservation into a sale in the ledger; cancellation releases the reservation or,
once sold, puts the units back through the ledger; a return is requested by the customer and
received by staff, which also goes through the ledger. Every status change is a compare-and-set on
the order row, so two concurrent transitions cannot both apply.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from order_service.models import WAREHOUSE_ID, Order, OrderEvent, OrderLine, Product, Reservation
from order_service.schemas import OrderCreate, OrderLineOut, OrderOut, StaffMe
from order_service.services import stock
from order_service.services.errors import Conflict, Forbidden, Invalid, NotFound, OutOfStock
from order_service.services.stock import Directory, utcnow

FREE_SHIPPING_FROM = Decimal("35.00")
SHIPPING_FEE = Decimal("5.99")

# status → statuses it may move to, and the timestamp column each target sets
TRANSITIONS: dict[str, set[str]] = {
    "pending": {"confirmed", "cancelled"},
    "confirmed": {"ready_for_pickup", "shipped", "cancelled"},
    "ready_for_pickup": {"completed", "cancelled"},
    "shipped": {"completed"},
    "completed": {"return_requested"},
    "return_requested": {"returned"},
}
STAMP = {
    "confirmed": "confirmed_at",
    "ready_for_pickup": "ready_at",
    "shipped": "shipped_at",
    "completed": "completed_at",
    "cancelled": "cancelled_at",
    "return_requested": "return_requested_at",
    "returned": "returned_at",
}
CUSTOMER_MAY = {"confirmed", "cancelled", "return_requested"}
# Statuses in which the order's units have left the shelf (a sale is in the ledger).
SOLD = {"confirmed", "ready_for_pickup", "shipped", "completed", "return_requested"}


def request_hash(body: OrderCreate) -> str:
    # without a conversation the hash is the one orders had before the field existed
    exclude = {"conversation_id"} if body.conversation_id is None else None
    canonical = json.dumps(
        body.model_dump(mode="json", exclude=exclude), sort_keys=True, separators=(",", ":")
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _by_key(session: Session, customer_id: str, key: str) -> Order | None:
    return session.scalar(select(Order).where(Order.customer_id == customer_id, Order.idempotency_key == key))


def _replay(order: Order, digest: str) -> tuple[Order, bool]:
    if order.request_hash != digest:
        raise Invalid("this Idempotency-Key was already used with a different request body")
    return order, False


# The order path's statements, built once (values are bound at execution).
_products = Product.__table__
_PRODUCTS = select(_products.c.sku, _products.c.name, _products.c.price).where(
    _products.c.sku.in_(bindparam("skus", expanding=True))
)
_INSERT_ORDER = insert(Order.__table__).returning(Order.__table__.c.id)
_INSERT_LINE, _INSERT_RESERVATION, _INSERT_EVENT = (
    insert(m.__table__) for m in (OrderLine, Reservation, OrderEvent)
)


def create_order(
    session: Session,
    directory: Directory,
    customer_id: str,
    body: OrderCreate,
    idempotency_key: str | None,
    reservation_ttl_s: int,
    *,
    actor: str,
) -> tuple[OrderOut, bool]:
    """Create a pending order holding its stock, or return the order an earlier identical request made.

    Returns (order, created). Raises OutOfStock (409) without keeping anything if any line cannot be held.
    The common case (a new key) costs no lookup: the unique (customer, key) constraint detects a
    repeat, and only then, or when stock is refused, is the earlier order looked up.
    """
    digest = request_hash(body)
    try:
        order = _insert_order(
            session, directory, customer_id, body, idempotency_key, digest, reservation_ttl_s, actor
        )
        session.commit()
        return order, True
    except (IntegrityError, OutOfStock):
        session.rollback()
        existing = _by_key(session, customer_id, idempotency_key) if idempotency_key is not None else None
        if existing is None:
            raise
        return OrderOut.model_validate(_replay(existing, digest)[0]), False


def _insert_order(
    session: Session,
    directory: Directory,
    customer_id: str,
    body: OrderCreate,
    idempotency_key: str | None,
    digest: str,
    reservation_ttl_s: int,
    actor: str,
) -> OrderOut:
    """Plain INSERTs (no ORM unit of work: it cost more CPU than the rest of the request) in an order
    that keeps contention short: the order and its rows first (a repeated Idempotency-Key fails
    here, before any stock is touched), the stock rows last, so their row locks are held only
    from the conditional UPDATE to the COMMIT right after it."""
    if body.fulfilment == "pickup":
        store = directory.store(body.store_id)
        if not store.pickup:
            raise Invalid(f"store {store.id} ({store.name}) does not offer pick-up")
        location_id = store.id
    else:
        location_id = WAREHOUSE_ID
    quantities = {line.sku: line.quantity for line in body.lines}
    skus = sorted(quantities)  # a fixed lock order: no deadlocks between orders
    conn = session.connection()
    products = {sku: (name, price) for sku, name, price in conn.execute(_PRODUCTS, {"skus": skus})}
    unknown = [sku for sku in skus if sku not in products]
    if unknown:
        raise Invalid(f"unknown SKU: {', '.join(unknown)}")
    now = utcnow()
    expires = now + timedelta(seconds=reservation_ttl_s)
    lines = [
        {
            "sku": sku,
            "name": products[sku][0],
            "unit_price": products[sku][1],
            "quantity": quantities[sku],
            "line_total": products[sku][1] * quantities[sku],
        }
        for sku in skus
    ]
    subtotal = sum((line["line_total"] for line in lines), Decimal("0.00"))
    shipping = (
        SHIPPING_FEE if body.fulfilment == "delivery" and subtotal < FREE_SHIPPING_FROM else Decimal("0.00")
    )
    header = {
        "customer_id": customer_id,
        "status": "pending",
        "fulfilment": body.fulfilment,
        "location_id": location_id,
        "delivery_address": body.delivery_address,
        "conversation_id": body.conversation_id,
        "subtotal": subtotal,
        "shipping": shipping,
        "total": subtotal + shipping,
        "currency": "USD",
        "created_at": now,
        "updated_at": now,
        "reserved_until": expires,
    }
    order_id = conn.execute(
        _INSERT_ORDER, {**header, "idempotency_key": idempotency_key, "request_hash": digest}
    ).scalar_one()
    conn.execute(_INSERT_LINE, [{**line, "order_id": order_id} for line in lines])
    conn.execute(
        _INSERT_RESERVATION,
        [
            {
                "order_id": order_id,
                "location_id": location_id,
                "sku": sku,
                "quantity": quantities[sku],
                "expires_at": expires,
                "status": "active",
            }
            for sku in skus
        ],
    )
    conn.execute(
        _INSERT_EVENT,
        {"order_id": order_id, "from_status": None, "to_status": "pending", "actor": actor, "at": now},
    )
    for sku in skus:
        stock.reserve(session, location_id, sku, quantities[sku])
    return OrderOut(
        id=order_id, lines=[OrderLineOut(**line) for line in lines], **header, **dict.fromkeys(STAMP.values())
    )


def get_for_customer(session: Session, customer_id: str, order_id: int) -> Order:
    """The order if it belongs to this customer; another customer's order is reported as absent."""
    order = session.get(Order, order_id)
    if order is None or order.customer_id != customer_id:
        raise NotFound(f"no order {order_id}")
    return order


def staff_may_see(staff: StaffMe, order: Order) -> bool:
    return staff.role != "associate" or order.location_id == staff.store_id


def get_for_staff(session: Session, staff: StaffMe, order_id: int) -> Order:
    order = session.get(Order, order_id)
    if order is None:
        raise NotFound(f"no order {order_id}")
    if not staff_may_see(staff, order):
        raise Forbidden(f"order {order_id} is not handled by your store")
    return order


def list_orders(
    session: Session,
    *,
    customer_id: str | None = None,
    location_id: int | None = None,
    status: str | None = None,
    limit: int = 20,
    offset: int = 0,
) -> tuple[list[Order], int]:
    stmt = select(Order)
    if customer_id is not None:
        stmt = stmt.where(Order.customer_id == customer_id)
    if location_id is not None:
        stmt = stmt.where(Order.location_id == location_id)
    if status is not None:
        stmt = stmt.where(Order.status == status)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(Order.id.desc()).limit(limit).offset(offset))
    return list(rows), total


def transition(
    session: Session,
    order: Order,
    target: str,
    *,
    actor: str,
    staff_id: int | None = None,
    now: datetime | None = None,
) -> Order:
    """Move an order to `target`, applying the stock effect in the same transaction."""
    now = now or utcnow()
    current = order.status
    if current == target:  # a retried request: the change already happened
        return order
    if target not in TRANSITIONS.get(current, set()):
        raise Conflict(f"order {order.id} is {current}: it cannot become {target}")
    if target == "ready_for_pickup" and order.fulfilment != "pickup":
        raise Conflict(f"order {order.id} is for delivery: it is shipped, not made ready for pick-up")
    if target == "shipped" and order.fulfilment != "delivery":
        raise Conflict(f"order {order.id} is for pick-up at a store: it is made ready, not shipped")
    if target == "confirmed" and order.reserved_until is not None and order.reserved_until < now:
        _expire(session, order, now)
        session.commit()
        raise Conflict(
            f"order {order.id} was not confirmed in time: its reservation expired and it is cancelled"
        )
    changed = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == current)
        .values(
            status=target,
            updated_at=now,
            **{STAMP[target]: now},
            **({"reserved_until": None} if current == "pending" else {}),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        session.rollback()
        raise Conflict(f"order {order.id} changed while this request ran; read it again")
    _stock_effect(session, order, current, target, staff_id, now)
    session.add(OrderEvent(order_id=order.id, from_status=current, to_status=target, actor=actor, at=now))
    session.commit()
    session.refresh(order)
    return order


def _stock_effect(
    session: Session, order: Order, current: str, target: str, staff_id: int | None, now: datetime
) -> None:
    if current == "pending" and target in ("confirmed", "cancelled"):
        held = list(
            session.scalars(
                select(Reservation)
                .where(Reservation.order_id == order.id, Reservation.status == "active")
                .order_by(Reservation.sku)
            )
        )
        for res in held:
            if target == "confirmed":
                stock.move(
                    session,
                    location_id=res.location_id,
                    sku=res.sku,
                    quantity=-res.quantity,
                    kind="sale",
                    release_reserved=res.quantity,
                    order_id=order.id,
                    at=now,
                )
            else:
                stock.release(session, res.location_id, res.sku, res.quantity)
            res.status = "consumed" if target == "confirmed" else "released"
    elif target == "cancelled" and current in SOLD:
        for line in sorted(order.lines, key=lambda line: line.sku):
            stock.move(
                session,
                location_id=order.location_id,
                sku=line.sku,
                quantity=line.quantity,
                kind="cancellation",
                order_id=order.id,
                staff_id=staff_id,
                at=now,
                note=f"order {order.id} cancelled",
            )
    elif target == "returned":
        for line in sorted(order.lines, key=lambda line: line.sku):
            stock.move(
                session,
                location_id=order.location_id,
                sku=line.sku,
                quantity=line.quantity,
                kind="return",
                order_id=order.id,
                staff_id=staff_id,
                at=now,
                note=f"order {order.id} returned",
            )


def _expire(session: Session, order: Order, now: datetime) -> bool:
    changed = session.execute(
        update(Order)
        .where(Order.id == order.id, Order.status == "pending")
        .values(status="cancelled", cancelled_at=now, updated_at=now, reserved_until=None)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed != 1:
        return False
    _stock_effect(session, order, "pending", "cancelled", None, now)
    session.add(
        OrderEvent(
            order_id=order.id,
            from_status="pending",
            to_status="cancelled",
            actor="system:reservation-expired",
            at=now,
        )
    )
    return True


def expire_pending(session: Session, now: datetime | None = None, batch: int = 200) -> int:
    """Cancel pending orders whose reservation has lapsed, releasing their stock. Safe to run in
    several processes at once (each order is claimed with a compare-and-set)."""
    now = now or utcnow()
    expired = 0
    while True:
        ids = list(
            session.scalars(
                select(Order.id)
                .where(Order.status == "pending", Order.reserved_until < now)
                .order_by(Order.id)
                .limit(batch)
            )
        )
        session.commit()
        if not ids:
            return expired
        for order_id in ids:
            order = session.get(Order, order_id)
            if order is not None and _expire(session, order, now):
                expired += 1
            session.commit()
