"""Server-side console sessions, kept where every web process sees them and a restart does not lose them:
Redis when REDIS_URL is set, otherwise the order service's database (table console_sessions, migration
0004). A session is keyed by the SHA-256 of the cookie's session id (the id itself is never stored), ends
after the idle time without a request of the person, when the staff token expires, or at sign-out, and
carries its CSRF token. `MemoryStore` keeps them in one process (tests)."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from sqlalchemy import delete, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from order_service.models import ConsoleSession

KEY_PREFIX = "daogou:staff-session:"


@dataclass
class StaffSession:
    token: str
    staff: dict[str, Any]
    csrf: str
    token_expires: float  # the staff token's expiry, on the store's clock
    last_seen: float


class SessionStore(Protocol):
    def load(self, digest: str) -> StaffSession | None: ...
    def save(self, digest: str, session: StaffSession, ttl_s: float) -> None: ...
    def touch(self, digest: str, session: StaffSession, ttl_s: float) -> None: ...
    def delete(self, digest: str) -> None: ...
    def purge(self, idle_before: float, now: float) -> None: ...


@dataclass
class MemoryStore:
    rows: dict[str, StaffSession] = field(default_factory=dict)

    def load(self, digest: str) -> StaffSession | None:
        return self.rows.get(digest)

    def save(self, digest: str, session: StaffSession, ttl_s: float) -> None:
        self.rows[digest] = session

    def touch(self, digest: str, session: StaffSession, ttl_s: float) -> None:
        self.rows[digest] = session

    def delete(self, digest: str) -> None:
        self.rows.pop(digest, None)

    def purge(self, idle_before: float, now: float) -> None:
        self.rows = {
            k: s for k, s in self.rows.items() if s.last_seen >= idle_before and s.token_expires > now
        }


class SqlStore:
    """The order service's database (SQLite or PostgreSQL), through its SQLAlchemy model."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def load(self, digest: str) -> StaffSession | None:
        with Session(self.engine) as db:
            row = db.get(ConsoleSession, digest)
            if row is None:
                return None
            return StaffSession(row.token, dict(row.staff), row.csrf, row.token_expires, row.last_seen)

    def save(self, digest: str, session: StaffSession, ttl_s: float) -> None:
        with Session(self.engine) as db, db.begin():
            db.merge(ConsoleSession(digest=digest, **asdict(session)))

    def touch(self, digest: str, session: StaffSession, ttl_s: float) -> None:
        with Session(self.engine) as db, db.begin():
            db.execute(
                update(ConsoleSession)
                .where(ConsoleSession.digest == digest)
                .values(last_seen=session.last_seen)
            )

    def delete(self, digest: str) -> None:
        with Session(self.engine) as db, db.begin():
            db.execute(delete(ConsoleSession).where(ConsoleSession.digest == digest))

    def purge(self, idle_before: float, now: float) -> None:
        with Session(self.engine) as db, db.begin():
            db.execute(
                delete(ConsoleSession).where(
                    (ConsoleSession.last_seen < idle_before) | (ConsoleSession.token_expires <= now)
                )
            )


class RedisStore:
    """Redis (redis-py): one key per session, expiring with the session's idle time (renewed on use)."""

    def __init__(self, client: Any) -> None:
        self.client = client

    def load(self, digest: str) -> StaffSession | None:
        raw = self.client.get(KEY_PREFIX + digest)
        return None if raw is None else StaffSession(**json.loads(raw))

    def save(self, digest: str, session: StaffSession, ttl_s: float) -> None:
        self.client.set(KEY_PREFIX + digest, json.dumps(asdict(session)), ex=max(1, int(ttl_s) + 1))

    def touch(self, digest: str, session: StaffSession, ttl_s: float) -> None:
        self.save(digest, session, ttl_s)

    def delete(self, digest: str) -> None:
        self.client.delete(KEY_PREFIX + digest)

    def purge(self, idle_before: float, now: float) -> None:
        pass  # keys expire by themselves


@dataclass
class Sessions:
    """The console's sessions over a store (see the module's docstring)."""

    idle_s: float
    clock: Callable[[], float] = time.time
    store: SessionStore = field(default_factory=MemoryStore)

    @staticmethod
    def _digest(session_id: str) -> str:
        return hashlib.sha256(session_id.encode()).hexdigest()

    def _alive(self, s: StaffSession, now: float) -> bool:
        return now - s.last_seen < self.idle_s and now < s.token_expires

    def _ttl(self, s: StaffSession, now: float) -> float:
        return min(self.idle_s, s.token_expires - now)

    def create(self, token: str, staff: dict[str, Any], token_expires: float) -> tuple[str, StaffSession]:
        now = self.clock()
        self.store.purge(now - self.idle_s, now)
        session_id = secrets.token_urlsafe(32)
        session = StaffSession(token, staff, secrets.token_urlsafe(32), token_expires, now)
        self.store.save(self._digest(session_id), session, self._ttl(session, now))
        return session_id, session

    def get(self, session_id: str | None, touch: bool = True) -> StaffSession | None:
        """The live session (its idle time restarts when `touch`), or None; an ended session is
        forgotten."""
        if not session_id:
            return None
        key, now = self._digest(session_id), self.clock()
        session = self.store.load(key)
        if session is None:
            return None
        if not self._alive(session, now):
            self.store.delete(key)
            return None
        if touch:
            session.last_seen = now
            self.store.touch(key, session, self._ttl(session, now))
        return session

    def drop(self, session_id: str | None) -> None:
        if session_id:
            self.store.delete(self._digest(session_id))


def session_store(redis_url: str, database_url: str) -> SessionStore:
    """Redis when configured, else the order service's database."""
    if redis_url:
        import redis

        return RedisStore(redis.Redis.from_url(redis_url))
    from order_service.core.db import make_engine

    return SqlStore(make_engine(database_url, pool_size=2))
