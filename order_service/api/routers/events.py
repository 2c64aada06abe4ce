"""Assistant events: the action server appends what the assistant showed and what the shopper did
(impressions, clicks, carts, orders, FAQ answers, fallbacks, hand-overs, ratings) in batches.

Only the bare service credential may write: a call acting for a customer (X-Customer-Id) or with a
staff token is refused, so nobody can write events in a shopper's name or pad the figures."""

from __future__ import annotations

from fastapi import APIRouter

from order_service.api.deps import ServiceDep, SessionDep
from order_service.schemas import ErrorOut, EventBatchIn, EventBatchOut
from order_service.services import events
from order_service.services.errors import Forbidden

router = APIRouter(
    prefix="/events",
    tags=["assistant events"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)


@router.post("", response_model=EventBatchOut, status_code=201)
def append_events(body: EventBatchIn, session: SessionDep, principal: ServiceDep) -> EventBatchOut:
    """Append up to 1,000 events in one transaction (all or none)."""
    if principal.kind != "service":
        raise Forbidden("events are written by the service credential alone, not for a customer")
    accepted = events.append(session, body.events)
    session.commit()
    return EventBatchOut(accepted=accepted)
