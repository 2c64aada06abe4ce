from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from order_service.schemas import HealthOut

router = APIRouter(tags=["health"])


@router.get("/health", response_model=HealthOut, responses={503: {"model": HealthOut}})
def health(request: Request):
    """Liveness and database check (used by the supervisor and `OrderServiceClient.health`)."""
    try:
        with request.app.state.sessions() as session:
            session.execute(text("SELECT 1"))
            try:
                revision = session.execute(text("SELECT version_num FROM alembic_version")).scalar()
            except SQLAlchemyError:
                revision = None
    except SQLAlchemyError as exc:
        body = HealthOut(status="unavailable", database=type(exc).__name__)
        return JSONResponse(body.model_dump(), status_code=503)
    return HealthOut(status="ok", database=request.app.state.engine.dialect.name, schema_revision=revision)
