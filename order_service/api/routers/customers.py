from __future__ import annotations

from fastapi import APIRouter, Response

from order_service.api.deps import CustomerDep, ServiceDep, SessionDep
from order_service.models import Customer
from order_service.schemas import CustomerOut, ErrorOut, ResolveIn, ResolveOut
from order_service.services import auth

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
