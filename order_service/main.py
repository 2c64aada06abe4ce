"""FastAPI application: `uvicorn order_service.main:app` (docs at /docs, schema at /openapi.json)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import anyio.to_thread
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy import Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from order_service.api.deps import preload_directory
from order_service.api.routers import (
    analytics,
    assistant_analytics,
    auth,
    customers,
    events,
    health,
    orders,
    staff,
    stores,
)
from order_service.core.config import Settings, get_settings, unsafe_settings
from order_service.core.db import make_engine, make_sessionmaker
from order_service.services.auth import accounts_with_demo_passwords
from order_service.services.errors import ServiceError

log = logging.getLogger("order_service")
EXPIRY_SWEEP_S = 30.0


async def _expiry_sweeper(app: FastAPI) -> None:
    """Cancel lapsed pending orders now and then, so their held stock returns to sale."""
    from order_service.services.orders import expire_pending

    def sweep() -> int:
        with app.state.sessions() as session:
            return expire_pending(session)

    while True:
        await asyncio.sleep(EXPIRY_SWEEP_S)
        try:
            n = await asyncio.to_thread(sweep)
            if n:
                log.info("expired %d pending orders", n)
        except Exception:  # a failed sweep must not stop the service; the next one retries
            log.exception("reservation expiry sweep failed")


def production_problems(settings: Settings, engine: Engine) -> list[str]:
    """Why the service must not start in production mode: unsafe settings, and staff accounts that
    still have a demo password (empty when production mode is off)."""
    if not settings.production:
        return []
    problems = unsafe_settings(settings)
    with make_sessionmaker(engine, read_only=True)() as session:
        weak = accounts_with_demo_passwords(session)
    if weak:
        problems.append(f"{len(weak)} staff account(s) still have a demo password ({', '.join(weak[:5])})")
    return problems


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, *, sweeper: bool = True
) -> FastAPI:
    settings = settings or get_settings()
    engine = engine or make_engine(settings.db_url)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # As many handler threads as pooled connections: requests beyond that wait for a thread in
        # anyio's first-come-first-served queue instead of racing for a connection inside the pool,
        # where a newcomer can take a freed connection before a thread that has waited for seconds.
        if problems := await anyio.to_thread.run_sync(production_problems, settings, engine):
            raise RuntimeError("refusing to start in production mode: " + "; ".join(problems))
        anyio.to_thread.current_default_thread_limiter().total_tokens = engine.pool.size()
        await preload_directory(app.state)
        task = asyncio.create_task(_expiry_sweeper(app)) if sweeper else None
        yield
        if task:
            task.cancel()
        engine.dispose()

    app = FastAPI(
        title="Daogou order and inventory service",
        version="1.0.0",
        lifespan=lifespan,
        description="Stock per location with an append-only ledger, reservations, orders with "
        "delivery or pick-up, customers' channel identities and staff tools.",
    )
    app.state.settings, app.state.engine = settings, engine
    app.state.sessions = make_sessionmaker(engine)
    app.state.read_sessions = make_sessionmaker(engine, read_only=True)
    app.state.directory = None  # read at start-up, else on first use (api.deps)
    app.state.directory_lock = asyncio.Lock()
    app.state.known_customers = {}  # customer ids found standing alone → when (services/auth.py)
    for router in (health.router, auth.router, customers.router, stores.router, orders.router, staff.router):
        app.include_router(router)
    app.include_router(analytics.router)
    app.include_router(events.router)
    app.include_router(assistant_analytics.router)

    @app.exception_handler(ServiceError)
    async def service_error(_: Request, exc: ServiceError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def validation_error(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        return JSONResponse({"detail": errors}, status_code=422)

    @app.exception_handler(IntegrityError)
    async def integrity_error(_: Request, exc: IntegrityError) -> JSONResponse:
        log.warning("integrity error: %s", exc.orig)
        return JSONResponse({"detail": "the request conflicts with the current data"}, status_code=409)

    @app.exception_handler(OperationalError)
    async def database_unavailable(_: Request, exc: OperationalError) -> JSONResponse:
        log.error("database error: %s", exc.orig)
        return JSONResponse(
            {"detail": "the database is busy or unavailable; retry shortly"},
            status_code=503,
            headers={"Retry-After": "1"},
        )

    return app


def __getattr__(name: str):
    """`order_service.main:app` is built on first access, so importing the module has no side effects."""
    if name == "app":
        globals()["app"] = create_app()
        return globals()["app"]
    raise AttributeError(name)
