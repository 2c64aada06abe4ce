from __future__ import annotations

from fastapi import APIRouter, Request

from order_service.api.deps import SessionDep, StaffDep
from order_service.schemas import ErrorOut, StaffLogin, StaffMe, TokenOut
from order_service.services import audit as staff_audit
from order_service.services import auth

router = APIRouter(prefix="/auth/staff", tags=["auth"])


@router.post("/token", response_model=TokenOut, responses={401: {"model": ErrorOut}})
def staff_token(body: StaffLogin, request: Request, session: SessionDep) -> TokenOut:
    """Exchange a staff username and password for a bearer token."""
    token, me, expires = auth.login(
        session, body.username, body.password, request.app.state.settings.staff_token_ttl_s
    )
    staff_audit.record(session, me, "sign_in", f"staff:{me.username}")
    session.commit()
    return TokenOut(access_token=token, expires_at=expires, staff=me)


@router.get("/me", response_model=StaffMe, responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}})
def staff_me(staff: StaffDep) -> StaffMe:
    return staff
