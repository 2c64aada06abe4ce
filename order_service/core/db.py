"""Engine and sessions for SQLite (default) and PostgreSQL.

SQLite: WAL so readers never block the writer, `BEGIN IMMEDIATE` so that a transaction takes the write
lock up front (a deferred transaction that upgrades later fails with SQLITE_BUSY instead of waiting),
a long busy timeout so concurrent writers queue, and synchronous=FULL so a committed order survives a
crash of the machine, not only of the process.
PostgreSQL: a pool sized from settings; correctness under concurrency comes from conditional UPDATEs,
which READ COMMITTED re-checks after waiting on a row lock.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

from order_service.core.config import get_settings


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def make_engine(url: str | None = None, *, pool_size: int | None = None) -> Engine:
    settings = get_settings()
    url = url or settings.db_url
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 60},
            pool_size=pool_size or settings.db_pool_size,
            max_overflow=60,
        )
        _serialise_sqlite_writers(engine)
        return engine
    # No overflow: connections beyond the pool would be opened and closed per request (a backend
    # fork each on PostgreSQL); requests beyond the pool queue for a connection instead.
    return create_engine(
        url, pool_size=pool_size or settings.db_pool_size, max_overflow=0, pool_pre_ping=True, pool_timeout=60
    )


def _sqlite_on_connect(dbapi_conn: Any, _record: Any) -> None:
    dbapi_conn.isolation_level = None  # the driver must not open transactions on its own
    cursor = dbapi_conn.cursor()
    for pragma in ("journal_mode=WAL", "synchronous=FULL", "foreign_keys=ON", "busy_timeout=60000"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _serialise_sqlite_writers(engine: Engine) -> None:
    """Writers of one process queue on a lock before `BEGIN IMMEDIATE`, released when the connection
    goes back to the pool (the transaction is over). Without it, waiting threads poll SQLite's busy
    handler, which sleeps up to 100 ms between tries: throughput collapses and latency explodes
    under concurrency. Other processes still meet at SQLite's own lock."""
    lock = threading.Lock()

    def begin(conn: Any) -> None:
        if conn.get_execution_options().get("read_only"):
            conn.exec_driver_sql("BEGIN")
            return
        record_info = conn.connection._connection_record.info
        if not record_info.get("write_lock"):
            lock.acquire()
            record_info["write_lock"] = True
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    def release(_dbapi_conn: Any, record: Any) -> None:
        if record is not None and record.info.pop("write_lock", False):
            lock.release()

    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", begin)
    event.listen(engine.pool, "checkin", release)


def make_sessionmaker(engine: Engine, *, read_only: bool = False) -> sessionmaker[Session]:
    """Sessions of a read-only factory start a deferred transaction on SQLite (a snapshot that
    never blocks writers); the default factory takes the write lock up front."""
    bind = engine.execution_options(read_only=True) if read_only else engine
    return sessionmaker(bind, expire_on_commit=False)
