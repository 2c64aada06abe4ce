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
"""

from __future__ import annotations

import sqlite3
from typing import Any

import sqlalchemy as sa
from rasa.core.tracker_store import SQLTrackerStore, create_engine_kwargs
from sqlalchemy.engine import make_url
from sqlalchemy.orm import sessionmaker
from sqlalchemy.pool import QueuePool


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

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        engine_kwargs = pooled_engine_kwargs(self.engine.url)
        if engine_kwargs is None:
            return
        url = self.engine.url
        self.engine.dispose()
        self.engine = sa.create_engine(url, **engine_kwargs)
        sa.event.listen(self.engine, "connect", sqlite_pragmas)
        self.sessionmaker = sessionmaker(bind=self.engine)
