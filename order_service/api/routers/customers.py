from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from order_service.api.deps import CustomerDep, ServiceDep, SessionDep
from order_service.models import Customer
from order_service.schemas import (
    CustomerOut,
    ErrorOut,
    LinkCodeOut,
    LinkedOut,
    LinkIn,
    LinkOut,
    ResolveIn,
    ResolveOut,
    UnlinkOut,
)
from order_service.services import auth, links

router = APIRouter(prefix="/customers", tags=["customers"])


@router.post(
    "/resolve", response_model=ResolveOut, responses={201: {"model": ResolveOut}, 403: {"model": ErrorOut}}
)
def resolve(body: ResolveIn, response: Response, session: SessionDep, _: ServiceDep) -> ResolveOut:
    """Map a channel identity (web session, WeChat openid) to a customer, creating one on first contact."""
    customer_id, created = auth.resolve(session, body.channel, body.external_id, body.display_name)
    if created:
        response.status_code = 201
    return ResolveOut(customer_id=customer_id, created=created)


@router.get("/me", response_model=CustomerOut, responses={403: {"model": ErrorOut}})
def me(principal: CustomerDep, session: SessionDep) -> CustomerOut:
    return CustomerOut.model_validate(session.get(Customer, principal.customer_id))


# One customer across channels (services/links.py): a code asked for in one channel, entered in the other.
LINK_ERRORS: dict[int | str, dict[str, Any]] = {
    403: {"model": ErrorOut},
    409: {"model": ErrorOut},
    422: {"model": ErrorOut},
    429: {"model": ErrorOut},
}


@router.post("/me/link-code", response_model=LinkCodeOut, status_code=201, responses=LINK_ERRORS)
def link_code(principal: CustomerDep, session: SessionDep) -> LinkCodeOut:
    """A one-time code (10 minutes) that links another channel into this customer's account."""
    issued = links.issue_code(session, str(principal.customer_id))
    return LinkCodeOut(code=issued.code, expires_at=issued.expires_at)


@router.post("/me/link", response_model=LinkOut, responses=LINK_ERRORS)
def link(body: LinkIn, request: Request, principal: CustomerDep, session: SessionDep) -> LinkOut:
    """Enter a code from the other channel: this customer's history joins the account that asked for it.
    Other processes see the link within auth.KNOWN_TTL_S; this one at once."""
    done = links.link(session, str(principal.customer_id), body.code)
    request.app.state.known_customers.pop(done.merged, None)
    return LinkOut(
        customer_id=done.customer_id, merged=done.merged, identities=done.identities, orders=done.orders
    )


@router.get("/me/links", response_model=LinkedOut, responses=LINK_ERRORS)
def linked(principal: CustomerDep, session: SessionDep) -> LinkedOut:
    customer_id = str(principal.customer_id)
    return LinkedOut(customer_id=customer_id, linked=links.linked_accounts(session, customer_id))


@router.delete("/me/link", response_model=UnlinkOut, responses=LINK_ERRORS)
def unlink(principal: CustomerDep, session: SessionDep) -> UnlinkOut:
    """Undo the account's links: each linked customer gets back what linking moved."""
    return UnlinkOut(split=links.unlink(session, str(principal.customer_id)))
