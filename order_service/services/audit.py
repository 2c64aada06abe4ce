"""The audit of staff actions (issue 20): one row per action, with the staff member, their role and
store at the time, the object acted on and when."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from order_service.models import StaffAction
from order_service.schemas import StaffMe
from order_service.services.stock import utcnow


def record(
    session: Session, staff: StaffMe, action: str, obj: str, detail: dict[str, Any] | None = None
) -> None:
    """Adds the row to the session's transaction (the caller commits, with the action itself)."""
    session.add(
        StaffAction(
            at=utcnow(),
            staff_id=staff.staff_id,
            username=staff.username,
            role=staff.role,
            store_id=staff.store_id,
            action=action,
            object=obj[:200],
            detail=detail or {},
        )
    )


def listing(
    session: Session,
    *,
    store_id: int | None,
    staff_id: int | None,
    action: str | None,
    limit: int,
    offset: int,
) -> list[StaffAction]:
    """Newest first, filtered by store, staff member and action."""
    stmt = select(StaffAction)
    if store_id is not None:
        stmt = stmt.where(StaffAction.store_id == store_id)
    if staff_id is not None:
        stmt = stmt.where(StaffAction.staff_id == staff_id)
    if action is not None:
        stmt = stmt.where(StaffAction.action == action)
    return list(session.scalars(stmt.order_by(StaffAction.id.desc()).limit(limit).offset(offset)))
