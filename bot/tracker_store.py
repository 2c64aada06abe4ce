"""Rasa's SQL tracker store as Daogou configures it (bot/endpoints.yml names this class): the same
store, with a connection pool and tuned SQLite when the conversations live in a SQLite file.

Rasa's SQLite engine has SQLAlchemy 1.4's default pool for a database file, which keeps no
connection: every tracker load and save opened one, set the pragmas and closed it, and the close of
the last connection to a WAL database checkpoints it. That was about a fifth of the Rasa process's
time per turn (py-spy, docs/dialogue.md); here SQLite connections are pooled like PostgreSQL's.

The store runs its queries on Rasa's event loop, and with SQLite's defaults every commit waits for
the disk several times: one Rasa process then served about 7 turns/s at 50 concurrent shoppers while
using a third of a core. Its connections use write-ahead logging with `synchronous=NORMAL` (a process
crash loses nothing; a power cut may lose the last turns).

PostgreSQL (TRACKER_STORE_URL=postgresql://…, several Rasa processes) keeps Rasa's own engine.

Bounded growth (issue 16), on any database: ``max_events`` (TRACKER_MAX_EVENTS) caps the events kept per
conversation: after a save, a conversation over the cap loses its oldest events of earlier sessions
(Rasa loads only the latest session, and counts its events to know what to append, so the current
session is never cut; its size is bounded by the session expiry and the channels' rate limits).
``retention_days`` (CONVERSATION_RETENTION_DAYS) deletes every conversation whose latest event is older,
checked at most once an hour per process. 0 turns either off.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool

logger = logging.getLogger(__name__)
RETENTION_CHECK_S = 3600


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """Write-ahead logging, fewer disk waits per commit, and a wait instead of 'database is locked'."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()


def pooled_engine_kwargs(url: Any) -> dict[str, Any] | None:
    """Engine arguments with a connection pool for a SQLite database file; None for any other
    database (Rasa's engine stays)."""
    parsed = make_url(str(url))
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    kwargs = dict(create_engine_kwargs(parsed))
    kwargs.update(poolclass=QueuePool, pool_size=2, max_overflow=8, connect_args={"check_same_thread": False})
    return kwargs


class PooledSQLTrackerStore(SQLTrackerStore):
    """Rasa's SQLTrackerStore (it creates the tables); on a SQLite file, its engine is then replaced
    by a pooled one whose connections get the pragmas above."""

    engine: Any  # set by SQLTrackerStore (SQLAlchemy 1.4 in the Rasa environment)
    sessionmaker: Any

    def __init__(self, *args: Any, max_events: Any = 0, retention_days: Any = 0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_events = int(max_events or 0)
        self.retention_days = float(retention_days or 0)
        self._retention_checked = 0.0
        engine_kwargs = pooled_engine_kwargs(self.engine.url)
        if engine_kwargs is None:
            return
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, **engine_kwargs)
        sa.event.listen(self.engine, "connect", sqlite_pragmas)
        self.sessionmaker = sessionmaker(bind=self.engine)

    async def save(self, tracker: Any) -> None:
        await super().save(tracker)
        with self.session_scope() as session:
            if self.max_events:
                self._trim(session, tracker.sender_id)
            if self.retention_days and time.monotonic() - self._retention_checked > RETENTION_CHECK_S:
                self._retention_checked = time.monotonic()
                self.expire(session, time.time() - self.retention_days * 86400)
            session.commit()

    def _trim(self, session: Any, sender_id: str) -> None:
        """Delete the oldest events of earlier sessions while the conversation has more than max_events."""
        events = self.SQLEvent
        total = session.query(sa.func.count(events.id)).filter(events.sender_id == sender_id).scalar()
        if total <= self.max_events:
            return
        session_start = (
            session.query(sa.func.max(events.timestamp))
            .filter(events.sender_id == sender_id, events.type_name == "session_started")
            .scalar()
        )
        if session_start is None:
            return
        # Rasa counts the events from the latest session start on (by timestamp) to know what to append
        oldest = (
            session.query(events.id)
            .filter(events.sender_id == sender_id, events.timestamp < session_start)
            .order_by(events.id)
            .limit(total - self.max_events)
            .subquery()
        )
        session.query(events).filter(events.id.in_(sa.select(oldest.c.id))).delete(synchronize_session=False)

    def expire(self, session: Any, before: float) -> int:
        """Delete every conversation whose latest event is older than `before` (a Unix time)."""
        events = self.SQLEvent
        old = (
            sa.select(events.sender_id)
            .group_by(events.sender_id)
            .having(sa.func.max(events.timestamp) < before)
            .subquery()
        )
        deleted = (
            session.query(events)
            .filter(events.sender_id.in_(sa.select(old.c.sender_id)))
            .delete(synchronize_session=False)
        )
        if deleted:
            logger.info("conversation retention: %d old events deleted", deleted)
        return deleted
