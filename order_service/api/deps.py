"""Request-scoped dependencies: the database session, the location directory and who is calling.

Callers are one of three kinds:
- the action server (or another trusted backend) with the service token, optionally acting for a
  customer named in `X-Customer-Id`;
- a staff member with a token from `POST /auth/staff/token`;
- nobody: only /health, the docs and the login are open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.datastructures import State

from order_service.schemas import CUSTOMER_ID_PATTERN, StaffMe
from order_service.services import auth
from order_service.services.errors import Forbidden, Unauthorized
from order_service.services.stock import Directory

bearer = HTTPBearer(
    auto_error=False,
    description="The service token (with X-Customer-Id to act for a customer) "
    "or a staff token from POST /auth/staff/token.",
)


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request. Async on purpose: its cleanup then runs on the event loop right after
    the handler instead of queueing for a worker thread, so a transaction (and SQLite's write lock)
    is never left open while the thread pool is saturated by requests waiting for that lock."""
    factory = request.app.state.read_sessions if request.method == "GET" else request.app.state.sessions
    session = factory()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def _load_directory(state: State) -> Directory:
    with state.read_sessions() as session:
        return Directory(session)


async def preload_directory(state: State) -> None:
    """Read the locations at start-up, so that no request waits for them; an empty or not yet
    migrated database is left to the first request (after `daogou db load-demo`)."""
    try:
        directory = await run_in_threadpool(_load_directory, state)
    except DBAPIError:
        return
    if directory.locations and state.directory is None:
        state.directory = directory


async def get_directory(request: Request) -> Directory:
    """Async, like every dependency here: a sync dependency costs a trip through the thread pool on
    every request, although only the first call (or an unknown customer, a staff token) touches the
    database; those few calls go to a thread explicitly. The lock makes the first burst of requests
    wait for one load instead of each loading all locations."""
    state = request.app.state
    if state.directory is None:
        async with state.directory_lock:
            if state.directory is None:
                state.directory = await run_in_threadpool(_load_directory, state)
    return state.directory


DirectoryDep = Annotated[Directory, Depends(get_directory)]


@dataclass(frozen=True)
class Principal:
    kind: Literal["service", "customer", "staff"]
    customer_id: str | None = None
    staff: StaffMe | None = None

    @property
    def actor(self) -> str:
        if self.staff is not None:
            return f"staff:{self.staff.username}"
        return f"customer:{self.customer_id}" if self.customer_id else "service"


async def get_principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    x_customer_id: Annotated[
        str | None, Header(pattern=CUSTOMER_ID_PATTERN, description="The customer the service acts for.")
    ] = None,
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("missing bearer token")
    token = credentials.credentials
    state = request.app.state
    if auth.is_service_token(token, state.settings.service_token):
        if x_customer_id is None:
            return Principal("service")
        if auth.known_alone(state.known_customers, x_customer_id):
            return Principal("customer", customer_id=x_customer_id)
        acts_for = await run_in_threadpool(_require_customer, state, x_customer_id)
        return Principal("customer", customer_id=acts_for)
    return Principal("staff", staff=await run_in_threadpool(_staff_for_token, state, token))


# Short read-only sessions of their own: authentication must not open the request's write
# transaction (on SQLite that would take the write lock before the handler even has a thread).
def _require_customer(state: State, customer_id: str) -> str:
    with state.read_sessions() as session:
        return auth.require_customer(session, customer_id, state.known_customers)


def _staff_for_token(state: State, token: str) -> StaffMe:
    with state.read_sessions() as session:
        return auth.staff_for_token(session, token)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_customer(principal: PrincipalDep) -> Principal:
    if principal.kind != "customer":
        raise Forbidden("this endpoint acts for a customer: use the service token with X-Customer-Id")
    return principal


async def get_staff(principal: PrincipalDep) -> StaffMe:
    if principal.staff is None:
        raise Forbidden("staff only: log in with POST /auth/staff/token")
    return principal.staff


async def get_service(principal: PrincipalDep) -> Principal:
    if principal.kind == "staff":
        raise Forbidden("only the service credential may call this endpoint")
    return principal


CustomerDep = Annotated[Principal, Depends(get_customer)]
StaffDep = Annotated[StaffMe, Depends(get_staff)]
ServiceDep = Annotated[Principal, Depends(get_service)]
