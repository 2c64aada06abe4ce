"""Typed ORM of the order/inventory database.

Stock is held twice on purpose: `stock_levels` is the fast, lockable current state and
`stock_movements` the append-only ledger it must always equal (audited by `services.stock.audit`).
Check constraints are the last line of defence against oversell: the database itself refuses a
level below zero or more reserved than on hand.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, get_args

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from order_service.schemas import EventType

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
BigId = BigInteger().with_variant(Integer(), "sqlite")
Money = Numeric(12, 2)

WAREHOUSE_ID = 0
ORDER_STATUSES = (
    "pending",
    "confirmed",
    "ready_for_pickup",
    "shipped",
    "completed",
    "cancelled",
    "return_requested",
    "returned",
)
MOVEMENT_KINDS = ("receipt", "sale", "return", "cancellation", "transfer_out", "transfer_in", "adjustment")
STAFF_ROLES = ("associate", "manager", "admin")
CHANNELS = ("web", "wechat")
# What the assistant did (actions/events.py writes them, order_service.effectiveness reads them).
EVENT_TYPES = get_args(EventType)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps are UTC everywhere; SQLite forgets the zone, so it is stripped on write and restored on read."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


def _in(column: str, values: tuple[str, ...]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Location(Base):
    """The online warehouse (id 0) or a store (its chain store id)."""

    __tablename__ = "locations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(16))
    store_type: Mapped[str | None] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200))
    address: Mapped[str] = mapped_column(String(300), default="")
    city: Mapped[str] = mapped_column(String(100), default="", index=True)
    state: Mapped[str] = mapped_column(String(8), default="")
    zip: Mapped[str] = mapped_column(String(10), default="", index=True)
    lat: Mapped[float | None]
    lon: Mapped[float | None]
    hours_text: Mapped[str] = mapped_column(Text, default="")
    hours: Mapped[dict[str, Any]] = mapped_column(default=dict)
    services: Mapped[list[Any]] = mapped_column(default=list)
    pickup: Mapped[bool] = mapped_column(default=False)

    __table_args__ = (CheckConstraint("kind IN ('warehouse', 'store')", name="location_kind"),)


class Product(Base):
    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(400))
    brand: Mapped[str] = mapped_column(String(120), default="")
    price: Mapped[Decimal] = mapped_column(Money)
    category_id: Mapped[str | None] = mapped_column(String(40))
    part_type: Mapped[str | None] = mapped_column(String(40), index=True)

    __table_args__ = (CheckConstraint("price >= 0", name="product_price"),)


class StockLevel(Base):
    """Current stock of one SKU at one location; rows are only changed by conditional UPDATEs."""

    __tablename__ = "stock_levels"

    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), primary_key=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), primary_key=True, index=True)
    on_hand: Mapped[int] = mapped_column(default=0)
    reserved: Mapped[int] = mapped_column(default=0)

    __table_args__ = (
        CheckConstraint("on_hand >= 0", name="stock_on_hand"),
        CheckConstraint("reserved >= 0 AND reserved <= on_hand", name="stock_reserved"),
    )


class StockMovement(Base):
    """Append-only ledger: the sum of `quantity` per (location, sku) is the on-hand level."""

    __tablename__ = "stock_movements"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    quantity: Mapped[int]
    kind: Mapped[str] = mapped_column(String(16))
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id"))
    transfer_ref: Mapped[str | None] = mapped_column(String(40))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff_users.id"))
    note: Mapped[str] = mapped_column(String(300), default="")

    __table_args__ = (
        CheckConstraint(_in("kind", MOVEMENT_KINDS), name="movement_kind"),
        CheckConstraint("quantity <> 0", name="movement_nonzero"),
        Index("ix_movements_location_sku_time", "location_id", "sku", "created_at"),
    )


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Set while this customer is linked into another one (services/links.py): calls acting for it act
    # for that customer, so a channel that still holds the old id reaches the merged history.
    merged_into: Mapped[str | None] = mapped_column(ForeignKey("customers.id"), index=True, default=None)


class CustomerIdentity(Base):
    """A channel's identity (web session id, WeChat openid) mapped to one customer."""

    __tablename__ = "customer_identities"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)

    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_identity_channel_external"),
        CheckConstraint(_in("channel", CHANNELS), name="identity_channel"),
    )


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True, autoincrement=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    active: Mapped[bool] = mapped_column(default=True)

    __table_args__ = (
        CheckConstraint(_in("role", STAFF_ROLES), name="staff_role"),
        CheckConstraint("role <> 'associate' OR store_id IS NOT NULL", name="associate_has_store"),
    )


class StaffToken(Base):
    """Issued staff tokens, stored as SHA-256 so a database leak does not leak live tokens."""

    __tablename__ = "staff_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Order(Base):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    fulfilment: Mapped[str] = mapped_column(String(10))
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"), index=True)
    delivery_address: Mapped[str | None] = mapped_column(String(500))
    subtotal: Mapped[Decimal] = mapped_column(Money)
    shipping: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    currency: Mapped[str] = mapped_column(String(3), default="USD")
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    # the assistant conversation the order was placed in (revenue attribution); None for other channels
    conversation_id: Mapped[str | None] = mapped_column(String(128), index=True)
    request_hash: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reserved_until: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ready_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shipped_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    return_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    lines: Mapped[list[OrderLine]] = relationship(
        back_populates="order", order_by="OrderLine.id", cascade="all, delete-orphan", lazy="selectin"
    )
    # filled when the order is created, read through queries (never loaded with the order)
    reservations: Mapped[list[Reservation]] = relationship(lazy="raise", cascade="save-update")
    events: Mapped[list[OrderEvent]] = relationship(lazy="raise", cascade="save-update")

    __table_args__ = (
        UniqueConstraint("customer_id", "idempotency_key", name="uq_order_idempotency"),
        CheckConstraint(_in("status", ORDER_STATUSES), name="order_status"),
        CheckConstraint("fulfilment IN ('delivery', 'pickup')", name="order_fulfilment"),
    )


class OrderLine(Base):
    __tablename__ = "order_lines"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    name: Mapped[str] = mapped_column(String(400))
    unit_price: Mapped[Decimal] = mapped_column(Money)
    quantity: Mapped[int]
    line_total: Mapped[Decimal] = mapped_column(Money)

    order: Mapped[Order] = relationship(back_populates="lines")

    __table_args__ = (CheckConstraint("quantity > 0", name="line_quantity"),)


class Reservation(Base):
    """Stock held for a pending order until `expires_at`; then consumed (sale) or released."""

    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    location_id: Mapped[int] = mapped_column(ForeignKey("locations.id"))
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"))
    quantity: Mapped[int]
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(10), default="active")

    __table_args__ = (
        CheckConstraint("quantity > 0", name="reservation_quantity"),
        CheckConstraint("status IN ('active', 'consumed', 'released')", name="reservation_status"),
        Index("ix_reservations_active_expiry", "status", "expires_at"),
    )


class OrderEvent(Base):
    """Status history: who moved an order from which status to which, and when."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    actor: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime())


class AssistantEvent(Base):
    """Append-only record of the assistant's work, one row per event (an impression is one product
    shown). `sku`, `model`, `variant` and `value` (a rating, an order total) are columns because the
    report groups by them; everything else an event carries is in `payload`."""

    __tablename__ = "assistant_events"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    conversation_id: Mapped[str] = mapped_column(String(128), index=True)
    customer_id: Mapped[str | None] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(32))
    language: Mapped[str] = mapped_column(String(8))
    type: Mapped[str] = mapped_column(String(20))
    sku: Mapped[str | None] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(40))
    variant: Mapped[str | None] = mapped_column(String(16))
    value: Mapped[Decimal | None] = mapped_column(Money)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)

    __table_args__ = (CheckConstraint(_in("type", EVENT_TYPES), name="assistant_event_type"),)


# --- outreach (outreach/, docs/outreach.md): consent, the send outbox, stock alerts, campaigns ----------
OUTREACH_KINDS = ("post_sale", "back_in_stock", "campaign")
OUTREACH_STATUSES = ("queued", "sending", "sent", "delivered", "skipped", "dead", "unknown")
CAMPAIGN_STATUSES = ("draft", "scheduled", "running", "done")


class OutreachConsent(Base):
    """A shopper's opt-in (or opt-out) to messages they did not ask for, per channel."""

    __tablename__ = "outreach_consents"

    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    opted_in: Mapped[bool]
    source: Mapped[str] = mapped_column(String(40), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint(_in("channel", CHANNELS), name="consent_channel"),)


class OutreachMessage(Base):
    """One message to one shopper. `send_key` names what it is about (an order's status, a stock alert, a
    campaign's member) and is unique, so whatever crashes and retries, one fact is messaged once."""

    __tablename__ = "outreach_messages"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    send_key: Mapped[str] = mapped_column(String(160), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    template: Mapped[str] = mapped_column(String(40))
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8))
    params: Mapped[dict[str, Any]] = mapped_column(default=dict)
    campaign_id: Mapped[int | None] = mapped_column(ForeignKey("campaigns.id"), index=True)
    status: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_error: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(_in("kind", OUTREACH_KINDS), name="outreach_kind"),
        CheckConstraint(_in("status", OUTREACH_STATUSES), name="outreach_status"),
        CheckConstraint(_in("channel", CHANNELS), name="outreach_channel"),
        Index("ix_outreach_due", "status", "next_attempt_at"),
        Index("ix_outreach_customer_sent", "customer_id", "sent_at"),
    )


class OutreachCursor(Base):
    """How far outreach has read an append-only table (order_events, stock_movements)."""

    __tablename__ = "outreach_cursors"

    name: Mapped[str] = mapped_column(String(40), primary_key=True)
    last_id: Mapped[int] = mapped_column(BigInteger, default=0)


class StockSubscription(Base):
    """'Tell me when it is back': one shopper, one product, optionally one store."""

    __tablename__ = "stock_subscriptions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    sku: Mapped[str] = mapped_column(ForeignKey("products.sku"), index=True)
    location_id: Mapped[int | None] = mapped_column(ForeignKey("locations.id"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(128))
    language: Mapped[str] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint(_in("channel", CHANNELS), name="subscription_channel"),)


class Campaign(Base):
    """A manager's campaign: whom (`target`), what (`offer`), where (`channel`), when, and how many are held out."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120))
    target: Mapped[dict[str, Any]] = mapped_column(default=dict)
    offer: Mapped[dict[str, Any]] = mapped_column(default=dict)
    channel: Mapped[str] = mapped_column(String(16))
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime())
    holdout_share: Mapped[float] = mapped_column(default=0.1)
    max_per_week: Mapped[int] = mapped_column(default=1)
    seed: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(10), default="scheduled")
    created_by: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    __table_args__ = (
        CheckConstraint(_in("status", CAMPAIGN_STATUSES), name="campaign_status"),
        CheckConstraint(_in("channel", CHANNELS), name="campaign_channel"),
        CheckConstraint("holdout_share >= 0 AND holdout_share < 1", name="campaign_holdout"),
    )


class CampaignMember(Base):
    """A targeted customer and their arm: 'treated' (messaged) or 'holdout' (left alone, for comparison)."""

    __tablename__ = "campaign_members"

    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaigns.id"), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), primary_key=True)
    arm: Mapped[str] = mapped_column(String(8))
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (CheckConstraint("arm IN ('treated', 'holdout')", name="member_arm"),)


class StaffAction(Base):
    """The audit of staff actions: who (staff member, role, store) did what to which object, and when.
    Written by the order service for what it does itself (sign-in, an order made ready, a transfer)
    and for the staff console's handoff actions (POST /staff/actions)."""

    __tablename__ = "staff_actions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id"), index=True)
    username: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(16))
    store_id: Mapped[int | None] = mapped_column(Integer, index=True)
    action: Mapped[str] = mapped_column(String(32))
    object: Mapped[str] = mapped_column(String(200))
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ConsoleSession(Base):
    """A staff console session (staff_console/sessions.py), keyed by a digest of the cookie's session id,
    so sessions survive a restart of the web server and are shared by several web processes."""

    __tablename__ = "console_sessions"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    token: Mapped[str] = mapped_column(String(128))
    staff: Mapped[dict[str, Any]] = mapped_column(default=dict)
    csrf: Mapped[str] = mapped_column(String(64))
    token_expires: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float, index=True)


class LinkCode(Base):
    """A one-time code that proves the shopper holds the account that asked for it (services/links.py).
    Only a digest is kept; a code is used once and expires."""

    __tablename__ = "link_codes"

    digest: Mapped[str] = mapped_column(String(64), primary_key=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)


class LinkAttempt(Base):
    """A code entered that matched no live code: counted per customer to stop guessing."""

    __tablename__ = "link_attempts"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_link_attempts_customer_at", "customer_id", "at"),)


class CustomerLink(Base):
    """One customer merged into another with proof, and what the merge moved (channel identities,
    orders, assistant events), so that unlinking gives exactly that back."""

    __tablename__ = "customer_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    customer_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    into_id: Mapped[str] = mapped_column(ForeignKey("customers.id"), index=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
    unlinked_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), default=None)
    moved: Mapped[dict[str, Any]] = mapped_column(default=dict)
