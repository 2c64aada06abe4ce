"""Request and response bodies (pydantic only: the HTTP client imports this module, not SQLAlchemy).

Every string that reaches the database refuses control characters (PostgreSQL rejects NUL bytes and
would answer 500) and every integer is bounded to a 32-bit column, so bad input is a clear 422.
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    StringConstraints,
    field_validator,
    model_validator,
)

NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
SKU_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"
CUSTOMER_ID_PATTERN = r"^[A-Za-z0-9_-]{1,64}$"
MAX_ID = 2**31 - 1

Sku = Annotated[str, StringConstraints(pattern=SKU_PATTERN)]
CleanText = Annotated[str, StringConstraints(pattern=NO_CONTROL, strip_whitespace=True)]
Money = Annotated[Decimal, PlainSerializer(float, return_type=float, when_used="json")]
LocationId = Annotated[int, Field(ge=0, le=MAX_ID)]
ConversationId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
Level = Literal["in_stock", "low", "out"]
OrderStatus = Literal[
    "pending",
    "confirmed",
    "ready_for_pickup",
    "shipped",
    "completed",
    "cancelled",
    "return_requested",
    "returned",
]


class Model(BaseModel):
    model_config = ConfigDict(from_attributes=True, extra="forbid")


class HealthOut(Model):
    status: Literal["ok", "unavailable"]
    database: str
    schema_revision: str | None = None


# --- stores and stock ------------------------------------------------------------------------------
class StoreOut(Model):
    id: int
    type: str | None = Field(None, description="BigBox, Express or Mobile; null for the online warehouse.")
    name: str
    address: str
    city: str
    state: str
    zip: str
    lat: float | None
    lon: float | None
    hours_text: str
    hours: dict[str, list[str] | None] = Field(
        default_factory=dict, description="Day → [open, close] or null when closed."
    )
    services: list[str] = Field(default_factory=list)
    pickup: bool = Field(description="Whether the store hands out pick-up orders.")
    distance_km: float | None = None


class StockOut(Model):
    """Stock of one SKU at one location. Shoppers get `level` and `pickup_available`; the exact
    quantities are filled only for staff allowed to see that location."""

    sku: str
    location_id: int
    location_name: str
    level: Level
    pickup_available: bool
    available: int | None = None
    on_hand: int | None = None
    reserved: int | None = None


class StoreStockOut(Model):
    store: StoreOut
    level: Level
    pickup_available: bool
    distance_km: float | None
    available: int | None = None


class LocatedOut(Model):
    """Where a ZIP or coordinates were placed, and how (so callers can tell an approximation)."""

    lat: float
    lon: float
    method: Literal["coordinates", "store_zip", "nearest_zip", "zip_prefix"]
    matched_zip: str | None = None


class NearestStockOut(Model):
    origin: LocatedOut
    stores: list[StoreStockOut]


# --- customers -----------------------------------------------------------------------------------------
class ResolveIn(Model):
    channel: Literal["web", "wechat"]
    external_id: Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[\x21-\x7e]+$")]
    display_name: Annotated[str, StringConstraints(max_length=120, pattern=NO_CONTROL)] = ""


class ResolveOut(Model):
    customer_id: str
    created: bool


class CustomerOut(Model):
    id: str
    display_name: str
    created_at: datetime


class LinkCodeOut(Model):
    """A one-time code that links another channel into this account (shown as XXXX-XXXX)."""

    code: str
    expires_at: datetime


class LinkIn(Model):
    code: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=NO_CONTROL)]


class LinkOut(Model):
    customer_id: str  # the account the shopper now acts as
    merged: str
    identities: int
    orders: int


class LinkedOut(Model):
    customer_id: str
    linked: list[str]  # customers linked into this account


class UnlinkOut(Model):
    split: list[str]  # customers given back their own history


# --- staff ---------------------------------------------------------------------------------------------
class StaffLogin(Model):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=NO_CONTROL)]
    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]


class StaffMe(Model):
    staff_id: int
    username: str
    role: Literal["associate", "manager", "admin"]
    store_id: int | None


class TokenOut(Model):
    access_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_at: datetime
    staff: StaffMe


class StockDetailOut(Model):
    sku: str
    location_id: int
    location_name: str
    kind: Literal["warehouse", "store"]
    level: Level
    on_hand: int | None = Field(None, description="Exact figures only where the caller may see them.")
    reserved: int | None = None
    available: int | None = None
    distance_km: float | None = None


class LowStockItem(Model):
    sku: str
    name: str
    on_hand: int
    reserved: int
    available: int
    level: Level


class TransferSuggestion(Model):
    sku: str
    name: str
    to_location_id: int
    from_location_id: int
    from_name: str
    quantity: int
    distance_km: float
    donor_available_after: int


class TransferIn(Model):
    sku: Sku
    from_location_id: LocationId
    to_location_id: LocationId
    quantity: Annotated[int, Field(ge=1, le=100_000)]
    note: Annotated[str, StringConstraints(max_length=300, pattern=NO_CONTROL)] = ""


class StockChangeIn(Model):
    """A receipt (delivery from a supplier, positive) or an adjustment (count correction, either sign)."""

    sku: Sku
    location_id: LocationId
    kind: Literal["receipt", "adjustment"]
    quantity: Annotated[int, Field(ge=-100_000, le=100_000)]
    note: Annotated[str, StringConstraints(max_length=300, pattern=NO_CONTROL)] = ""

    @model_validator(mode="after")
    def _sign(self) -> StockChangeIn:
        if self.quantity == 0:
            raise ValueError("quantity must not be zero")
        if self.kind == "receipt" and self.quantity < 0:
            raise ValueError("a receipt adds stock: quantity must be positive (use an adjustment to remove)")
        return self


class MovementOut(Model):
    id: int
    created_at: datetime
    location_id: int
    sku: str
    quantity: int
    kind: str
    order_id: int | None
    transfer_ref: str | None
    staff_id: int | None
    note: str


class AuditOut(Model):
    """Stock levels recomputed from the ledger and compared with the current table."""

    rows_checked: int
    mismatches: list[dict[str, int | str]]
    reserved_mismatches: list[dict[str, int | str]]
    ok: bool


class ReplenishmentOut(Model):
    sku: str
    location_id: int
    history_days: int
    units_sold: int
    daily_forecast: float = Field(description="Exponentially smoothed daily demand.")
    daily_std: float
    annual_demand: float
    eoq: int = Field(description="Economic order quantity sqrt(2DS/H).")
    safety_stock: int
    reorder_point: int
    available: int
    should_reorder: bool


# --- orders --------------------------------------------------------------------------------------------
class OrderLineIn(Model):
    sku: Sku
    quantity: Annotated[int, Field(ge=1, le=100)]


class OrderCreate(Model):
    lines: Annotated[list[OrderLineIn], Field(min_length=1, max_length=50)]
    fulfilment: Literal["delivery", "pickup"]
    store_id: Annotated[
        int | None, Field(ge=1, le=MAX_ID, description="Pick-up store (required for pickup).")
    ] = None
    delivery_address: Annotated[
        str | None, StringConstraints(min_length=5, max_length=500, pattern=NO_CONTROL)
    ] = None
    conversation_id: Annotated[
        ConversationId | None,
        Field(description="The assistant conversation the order is placed in (revenue attribution)."),
    ] = None

    @model_validator(mode="after")
    def _consistent(self) -> OrderCreate:
        skus = [line.sku for line in self.lines]
        if len(set(skus)) != len(skus):
            raise ValueError("each SKU may appear on one line only; add up the quantities")
        if self.fulfilment == "pickup":
            if self.store_id is None:
                raise ValueError("a pick-up order needs store_id")
            if self.delivery_address is not None:
                raise ValueError("a pick-up order takes no delivery_address")
        else:
            if self.delivery_address is None:
                raise ValueError("a delivery order needs delivery_address")
            if self.store_id is not None:
                raise ValueError("a delivery order takes no store_id")
        return self


class OrderLineOut(Model):
    sku: str
    name: str
    unit_price: Money
    quantity: int
    line_total: Money


class OrderOut(Model):
    id: int
    customer_id: str
    status: OrderStatus
    fulfilment: Literal["delivery", "pickup"]
    location_id: int
    delivery_address: str | None
    conversation_id: str | None = None
    lines: list[OrderLineOut]
    subtotal: Money
    shipping: Money
    total: Money
    currency: str
    created_at: datetime
    updated_at: datetime
    reserved_until: datetime | None
    confirmed_at: datetime | None
    ready_at: datetime | None
    shipped_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    return_requested_at: datetime | None
    returned_at: datetime | None


class OrderListOut(Model):
    orders: list[OrderOut]
    total: int


class StatusChangeIn(Model):
    status: Literal["ready_for_pickup", "shipped", "completed", "returned", "cancelled"]


# --- assistant events ------------------------------------------------------------------------------
EventType = Literal[
    "impression",
    "click",
    "add_to_cart",
    "checkout_started",
    "order_placed",
    "faq_answered",
    "faq_unsure",
    "fallback",
    "handoff",
    "rating",
]
MAX_PAYLOAD_CHARS = 8000


class EventIn(Model):
    """One thing the assistant did or the shopper did in answer (docs/analytics.md lists the types)."""

    at: AwareDatetime
    conversation_id: ConversationId
    customer_id: Annotated[str | None, StringConstraints(pattern=CUSTOMER_ID_PATTERN)] = None
    channel: Annotated[str, StringConstraints(min_length=1, max_length=32, pattern=r"^[a-z0-9_.-]+$")]
    language: Annotated[
        str, StringConstraints(min_length=2, max_length=8, pattern=r"^[a-z]{2}(-[A-Za-z]+)?$")
    ]
    type: EventType
    sku: Sku | None = None
    model: Annotated[
        str | None, StringConstraints(min_length=1, max_length=40, pattern=r"^[a-z0-9_.:-]+$")
    ] = None
    variant: Annotated[
        str | None, StringConstraints(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_-]+$")
    ] = None
    value: Annotated[Decimal | None, Field(ge=-(10**9), le=10**9, decimal_places=2)] = None
    payload: dict[str, Any] = Field(default_factory=dict)

    @field_validator("payload")
    @classmethod
    def _bounded(cls, payload: dict[str, Any]) -> dict[str, Any]:
        text = json.dumps(payload, ensure_ascii=False, default=str)
        if len(text) > MAX_PAYLOAD_CHARS:
            raise ValueError(f"payload longer than {MAX_PAYLOAD_CHARS} characters of JSON")
        if "\\u0000" in json.dumps(payload, default=str):  # PostgreSQL refuses NUL in JSON text
            raise ValueError("payload contains a NUL character")
        return payload


class EventBatchIn(Model):
    events: Annotated[list[EventIn], Field(min_length=1, max_length=1000)]


class EventBatchOut(Model):
    accepted: int


class ErrorOut(Model):
    detail: str | list[dict[str, object]]


# --- the audit of staff actions (issue 20) ------------------------------------------------------------
# Recorded by the order service itself: sign_in, order_status (an order made ready, …), transfer.
# Reported by the staff console (POST /staff/actions): the handoff desk's actions and the confirmation
# of a suggested transfer from the page.
ConsoleAction = Literal["handoff_claim", "handoff_reply", "handoff_hand_back", "transfer_confirm"]
StaffActionName = Literal["sign_in", "order_status", "transfer", "handoff_claim", "handoff_reply",
                          "handoff_hand_back", "transfer_confirm"]  # fmt: skip


class StaffActionIn(Model):
    action: ConsoleAction
    object: Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=NO_CONTROL)]
    detail: dict[str, str | int | float | bool | None] = Field(default_factory=dict, max_length=20)


class StaffActionOut(Model):
    id: int
    at: datetime
    staff_id: int
    username: str
    role: str
    store_id: int | None
    action: str
    object: str
    detail: dict[str, Any]
