"""The assistant's event record: appended in batches, never updated or deleted."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import insert
from sqlalchemy.orm import Session

from order_service.models import AssistantEvent
from order_service.schemas import EventIn

_INSERT = insert(AssistantEvent.__table__)


def append(session: Session, events: Sequence[EventIn]) -> int:
    """One multi-row INSERT in the caller's transaction."""
    rows = [e.model_dump() for e in events]
    session.connection().execute(_INSERT, rows)
    return len(rows)
