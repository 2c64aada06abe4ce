"""Customer analytics for staff: the shop overview, one customer's RFM segment and lifetime value,
the customers of a segment ("who are our at-risk customers?").

Computed by `recommender.staff.CustomerAnalytics` from this service's own order tables (purchases
only, see `recommender.sources`), once per process and again only when the orders change: the
fingerprint is (number of orders, highest order id, latest update), one cheap query per request.

Who sees what:
- managers and admins: everything;
- store associates: the shop-wide overview (aggregates only, no customer named) and the customers
  who have had an order fulfilled at their own store (pick-ups); any other customer is a 403, and
  segment lists only name their store's customers. Staff serve the people who come to their store;
  the whole customer base is a manager's view.
- customers and the bare service credential: 403; no credentials: 401.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel
from sqlalchemy import Engine, func, select

from order_service.api.deps import SessionDep, StaffDep
from order_service.models import Order
from order_service.schemas import CUSTOMER_ID_PATTERN, ErrorOut, StaffMe
from order_service.services.errors import Forbidden, Invalid, NotFound
from recommender.analytics import SEGMENT_LABELS, customer_profile, customers_in_segment
from recommender.records import CustomerProfile, CustomerValue, Overview
from recommender.staff import CustomerAnalytics

router = APIRouter(
    prefix="/staff/analytics",
    tags=["customer analytics"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)

CustomerIdPath = Annotated[str, Path(pattern=CUSTOMER_ID_PATTERN)]
SEGMENT_KEYS = tuple(sorted(SEGMENT_LABELS))


class CustomerAnalyticsOut(BaseModel):
    profile: CustomerProfile
    value: CustomerValue | None  # None while the history is too small to fit the CLV models


class SegmentCustomersOut(BaseModel):
    segment: str
    label_en: str
    label_zh: str
    total: int  # customers of the segment this caller may see
    customers: list[CustomerProfile]


# --- the per-process cache ------------------------------------------------------------------------


@dataclass
class _Cached:
    fingerprint: tuple[Any, ...]
    analytics: CustomerAnalytics | None  # None: no purchase orders yet


_lock = threading.Lock()
_cache: dict[int, _Cached] = {}  # id(engine) -> analytics


def orders_fingerprint(session) -> tuple[Any, ...]:
    """Changes whenever an order is added or changes status (updated_at moves with every transition)."""
    row = session.execute(select(func.count(Order.id), func.max(Order.id), func.max(Order.updated_at))).one()
    return tuple(row)


def analytics_for(engine: Engine, fingerprint: tuple[Any, ...]) -> CustomerAnalytics:
    """The analytics of the current orders; recomputed only when the fingerprint changed."""
    from recommender.sources import order_lines_from_database

    with _lock:
        cached = _cache.get(id(engine))
        if cached is None or cached.fingerprint != fingerprint:
            lines = order_lines_from_database(engine.url.render_as_string(hide_password=False))
            cached = _Cached(fingerprint, CustomerAnalytics(lines) if not lines.empty else None)
            _cache[id(engine)] = cached
    if cached.analytics is None:
        raise NotFound("no purchase orders yet: nothing to analyse")
    return cached.analytics


def _analytics(request: Request, session) -> CustomerAnalytics:
    return analytics_for(request.app.state.engine, orders_fingerprint(session))


def _store_customers(session, staff: StaffMe) -> set[str] | None:
    """The customers an associate may see (orders fulfilled at their store); None = everyone."""
    if staff.role != "associate":
        return None
    return set(
        session.scalars(select(Order.customer_id).where(Order.location_id == staff.store_id).distinct())
    )


# --- endpoints ------------------------------------------------------------------------------------


@router.get("/overview", response_model=Overview)
def overview(request: Request, session: SessionDep, staff: StaffDep) -> Overview:
    """Customers, orders, revenue, average order value, repurchase rate and the RFM segments with
    their shares and suggested actions."""
    return _analytics(request, session).overview()


@router.get("/customers/{customer_id}", response_model=CustomerAnalyticsOut)
def customer(
    customer_id: CustomerIdPath, request: Request, session: SessionDep, staff: StaffDep
) -> CustomerAnalyticsOut:
    """A customer's RFM segment and scores, and their expected orders and value over the next year (CLV)."""
    allowed = _store_customers(session, staff)
    if allowed is not None and customer_id not in allowed:
        raise Forbidden(f"associates see only customers of their own store ({staff.store_id})")
    analytics = _analytics(request, session)
    try:
        profile = analytics.segment_of(customer_id)
    except KeyError:
        raise NotFound(f"customer {customer_id} has no purchase orders") from None
    try:
        value = analytics.value_of(customer_id)
    except ValueError:  # BG/NBD + Gamma-Gamma need enough repeat customers; the segment stands without it
        value = None
    return CustomerAnalyticsOut(profile=profile, value=value)


@router.get("/segments/{segment}", response_model=SegmentCustomersOut, responses={422: {"model": ErrorOut}})
def segment_customers(
    segment: str,
    request: Request,
    session: SessionDep,
    staff: StaffDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 20,
) -> SegmentCustomersOut:
    """The customers of a segment (e.g. `at_risk`, `cant_lose`), highest spend first."""
    if segment not in SEGMENT_LABELS:
        raise Invalid(f"unknown segment {segment!r}; one of: {', '.join(SEGMENT_KEYS)}")
    table = _analytics(request, session).rfm
    allowed = _store_customers(session, staff)
    if allowed is not None:
        table = table[table.index.isin(allowed)]
    members = customers_in_segment(table, segment, limit=len(table))
    return SegmentCustomersOut(
        segment=segment,
        label_en=SEGMENT_LABELS[segment]["en"],
        label_zh=SEGMENT_LABELS[segment]["zh"],
        total=len(members),
        customers=[customer_profile(table, cid) for cid in members.index[:limit]],
    )
