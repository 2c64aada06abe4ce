"""How the assistant does (issue 18): the effectiveness report over the assistant's event record,
for managers and admins (`order_service.effectiveness`; docs/analytics.md has the definitions).

Store associates get 403: the report is shop-wide (revenue, every channel)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from order_service.api.deps import StaffDep
from order_service.schemas import ErrorOut
from order_service.services.errors import Forbidden, Invalid

router = APIRouter(
    prefix="/staff/analytics/assistant",
    tags=["assistant analytics"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 422: {"model": ErrorOut}},
)


@router.get("", response_model=dict[str, Any])
def assistant_report(
    request: Request,
    staff: StaffDep,
    since: Annotated[datetime | None, Query(description="From this moment (ISO 8601 with zone).")] = None,
    until: Annotated[datetime | None, Query(description="Before this moment (ISO 8601 with zone).")] = None,
) -> dict[str, Any]:
    """Totals and tables by day × channel × language, by day, channel and language; click-through by
    model; recommendation variants with 95% intervals and the p-values of their difference."""
    from order_service.effectiveness import report

    if staff.role not in ("manager", "admin"):
        raise Forbidden("the assistant report is for managers and admins")
    for moment in (since, until):
        if moment is not None and moment.tzinfo is None:
            raise Invalid("since/until need a time zone (e.g. 2026-12-01T00:00:00Z)")
    return report(request.app.state.engine, since, until).as_dict()
