"""Customer-facing orders. The action server calls these with the service token and X-Customer-Id;
a customer only ever sees and changes their own orders (others' are reported as not found)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Path, Query, Request, Response

from order_service.api.deps import CustomerDep, DirectoryDep, SessionDep
from order_service.schemas import MAX_ID, ErrorOut, OrderCreate, OrderListOut, OrderOut, OrderStatus
from order_service.services import orders

router = APIRouter(
    prefix="/orders",
    tags=["orders"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)

OrderIdPath = Annotated[int, Path(ge=1, le=2**63 - 1)]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]+$",
        description="Repeat the key to retry safely: same key and body → same order.",
    ),
]


@router.post(
    "",
    response_model=OrderOut,
    status_code=201,
    responses={
        200: {"model": OrderOut, "description": "Replay of an earlier request with this Idempotency-Key."},
        409: {"model": ErrorOut, "description": "Not enough stock."},
        422: {"model": ErrorOut},
    },
)
def create_order(
    body: OrderCreate,
    request: Request,
    session: SessionDep,
    directory: DirectoryDep,
    principal: CustomerDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """Place an order; its stock is held until `reserved_until`, when an unconfirmed order is cancelled."""
    order, created = orders.create_order(
        session,
        directory,
        principal.customer_id,
        body,
        idempotency_key,
        request.app.state.settings.reservation_ttl_s,
        actor=principal.actor,
    )
    # Already a validated OrderOut: serialised once here rather than validated again by FastAPI.
    return Response(
        order.model_dump_json(),
        status_code=201 if created else 200,
        media_type="application/json",
        headers=None if created else {"Idempotent-Replayed": "true"},
    )


@router.get("", response_model=OrderListOut)
def list_orders(
    session: SessionDep,
    principal: CustomerDep,
    status: OrderStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> OrderListOut:
    """The customer's own orders, newest first."""
    rows, total = orders.list_orders(
        session, customer_id=principal.customer_id, status=status, limit=limit, offset=offset
    )
    return OrderListOut(orders=[OrderOut.model_validate(o) for o in rows], total=total)


@router.get("/{order_id}", response_model=OrderOut)
def get_order(order_id: OrderIdPath, session: SessionDep, principal: CustomerDep) -> OrderOut:
    return OrderOut.model_validate(orders.get_for_customer(session, principal.customer_id, order_id))


def _customer_transition(session, principal, order_id: int, target: str) -> OrderOut:
    order = orders.get_for_customer(session, principal.customer_id, order_id)
    return OrderOut.model_validate(orders.transition(session, order, target, actor=principal.actor))


@router.post("/{order_id}/confirm", response_model=OrderOut, responses={409: {"model": ErrorOut}})
def confirm_order(order_id: OrderIdPath, session: SessionDep, principal: CustomerDep) -> OrderOut:
    """Confirm a pending order: its reserved units become a sale."""
    return _customer_transition(session, principal, order_id, "confirmed")


@router.post("/{order_id}/cancel", response_model=OrderOut, responses={409: {"model": ErrorOut}})
def cancel_order(order_id: OrderIdPath, session: SessionDep, principal: CustomerDep) -> OrderOut:
    """Cancel an order that has not shipped or been collected; its units go back on the shelf."""
    return _customer_transition(session, principal, order_id, "cancelled")


@router.post("/{order_id}/return", response_model=OrderOut, responses={409: {"model": ErrorOut}})
def request_return(order_id: OrderIdPath, session: SessionDep, principal: CustomerDep) -> OrderOut:
    """Ask to return a completed order; staff mark it returned when the items are back."""
    return _customer_transition(session, principal, order_id, "return_requested")
