"""The outbox: one row per message in the order database, a unique send key per fact, and the drain
that delivers due rows with retries, backoff and a dead-letter list.

Exactly-once rules (docs/outreach.md):
- `enqueue` inserts with the send key; a second enqueue of the same fact is a no-op (unique index), so
  rescanning events or relaunching a campaign after a crash never makes a second message.
- `drain` claims one row at a time (`queued` → `sending`, committed) before calling the channel and
  marks it `sent` after. A row still `sending` when a worker starts belongs to a worker that died in
  the middle of a send: its outcome is unknown, so it is never resent automatically (that could
  double-send); it goes to the dead-letter list as `unknown` for an operator (`daogou campaign
  retry`). Web messages are written to the shopper's inbox in the same transaction that marks them,
  so they cannot be in doubt.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from order_service.models import AssistantEvent, OutreachMessage
from outreach.consent import (
    campaign_messages_this_week,
    consent_of,
    may_send,
    quiet_until,
)

TEXTS = Path(__file__).with_name("texts.yaml")
DEAD_STATUSES = ("dead", "unknown")


@dataclass(frozen=True)
class Outgoing:
    """What the shopper sees: a text and buttons (title, payload the tap sends back)."""

    text: str
    buttons: tuple[tuple[str, str], ...] = ()


@lru_cache(maxsize=1)
def _texts() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(TEXTS.read_text(encoding="utf-8"))
    return data


def render(template: str, language: str, params: dict[str, Any]) -> Outgoing:
    entry = _texts()[template]
    lang = language if language in entry else "en"
    buttons = entry.get("buttons", {}).get(lang, [])
    return Outgoing(
        entry[lang].format(**params),
        tuple((title.format(**params), payload.format(**params)) for title, payload in buttons),
    )


class SendFailed(Exception):
    """A channel refused or failed a send; `retry` says whether trying again later can help."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.retry = retry


class Sender(Protocol):
    def send(self, address: str, content: Outgoing) -> None: ...


@dataclass(frozen=True)
class Policy:
    quiet: tuple[int, int] | None
    timezone: str
    max_per_week: int
    max_attempts: int
    retry_base_s: float
    wechat_window: timedelta
    wechat_quota: int


@dataclass
class DrainStats:
    sent: int = 0
    inboxed: int = 0
    retried: int = 0
    dead: int = 0
    skipped: int = 0
    deferred: int = 0
    reasons: dict[str, int] = field(default_factory=dict)

    def skip(self, reason: str) -> None:
        self.skipped += 1
        self.reasons[reason] = self.reasons.get(reason, 0) + 1


def enqueue(
    session: Session,
    *,
    send_key: str,
    kind: str,
    template: str,
    customer_id: str,
    channel: str,
    address: str,
    language: str,
    params: dict[str, Any],
    now: datetime,
    campaign_id: int | None = None,
) -> bool:
    """Add a message unless one with this send key exists; True when it was added. Runs in a
    savepoint, so a duplicate does not undo the caller's other work."""
    row = OutreachMessage(
        send_key=send_key,
        kind=kind,
        template=template,
        customer_id=customer_id,
        channel=channel,
        address=address,
        language=language,
        params=params,
        campaign_id=campaign_id,
        status="queued",
        attempts=0,
        next_attempt_at=now,
        last_error="",
        created_at=now,
    )
    if session.scalar(select(OutreachMessage.id).where(OutreachMessage.send_key == send_key)) is not None:
        return False
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:  # another worker enqueued the same fact in between
        return False
    return True


def recover_interrupted(session: Session, now: datetime) -> int:
    """Rows left `sending` by a worker that died: outcome unknown, to the dead-letter list."""
    result = session.execute(
        update(OutreachMessage)
        .where(OutreachMessage.status == "sending")
        .values(status="unknown", last_error="worker stopped during the send; not resent automatically")
    )
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _last_wechat_message(session: Session, customer_id: str) -> datetime | None:
    return session.scalar(
        select(func.max(AssistantEvent.at)).where(
            AssistantEvent.customer_id == customer_id, AssistantEvent.channel == "wechat"
        )
    )


def _wechat_blocked(session: Session, message: OutreachMessage, policy: Policy, now: datetime) -> str | None:
    """WeChat's rules for customer-service messages: only within the window after the follower's last
    message, and only so many per window."""
    last = _last_wechat_message(session, message.customer_id)
    if last is None or now - last > policy.wechat_window:
        return "wechat_window_closed"
    used = session.scalar(
        select(func.count())
        .select_from(OutreachMessage)
        .where(
            OutreachMessage.customer_id == message.customer_id,
            OutreachMessage.channel == "wechat",
            OutreachMessage.status == "sent",
            OutreachMessage.sent_at >= last,
        )
    )
    return "wechat_quota_used" if (used or 0) >= policy.wechat_quota else None


def _blocked(session: Session, message: OutreachMessage, policy: Policy, now: datetime) -> str | None:
    if not may_send(message.kind, consent_of(session, message.customer_id, message.channel)):
        return "no_consent"
    if message.kind == "campaign":
        cap = int(message.params.get("max_per_week", policy.max_per_week))
        if campaign_messages_this_week(session, message.customer_id, now) >= min(cap, policy.max_per_week):
            return "frequency_cap"
    if message.channel == "wechat":
        return _wechat_blocked(session, message, policy, now)
    return None


def due_ids(session: Session, now: datetime, limit: int) -> list[int]:
    return list(
        session.scalars(
            select(OutreachMessage.id)
            .where(OutreachMessage.status == "queued", OutreachMessage.next_attempt_at <= now)
            .order_by(OutreachMessage.id)
            .limit(limit)
        )
    )


def _finish(session: Session, message_id: int, **values: Any) -> None:
    session.execute(update(OutreachMessage).where(OutreachMessage.id == message_id).values(**values))
    session.commit()


def _claim(session: Session, message_id: int, status: str) -> bool:
    """`queued` → `status`, attempts + 1, if nobody else took the row; committed."""
    claimed = session.execute(
        update(OutreachMessage)
        .where(OutreachMessage.id == message_id, OutreachMessage.status == "queued")
        .values(status=status, attempts=OutreachMessage.attempts + 1)
    )
    session.commit()
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def deliver_one(
    session: Session,
    message_id: int,
    senders: dict[str, Sender],
    policy: Policy,
    now: datetime,
    stats: DrainStats,
) -> None:
    message = session.get(OutreachMessage, message_id)
    if message is None or message.status != "queued":
        return
    if (later := quiet_until(now, policy.quiet, policy.timezone)) is not None:
        _finish(session, message_id, next_attempt_at=later)
        stats.deferred += 1
        return
    if (reason := _blocked(session, message, policy, now)) is not None:
        _finish(session, message_id, status="skipped", last_error=reason)
        stats.skip(reason)
        return
    if message.channel == "web":  # the inbox is this table: ready for the shopper's next visit
        if _claim(session, message_id, "sent"):
            _finish(session, message_id, sent_at=now)
            stats.inboxed += 1
        return
    sender = senders.get(message.channel)
    if sender is None:
        _finish(session, message_id, status="skipped", last_error="channel_not_configured")
        stats.skip("channel_not_configured")
        return
    content = render(message.template, message.language, message.params)
    attempts = message.attempts + 1
    if not _claim(session, message_id, "sending"):
        return
    try:
        sender.send(message.address, content)
    except SendFailed as exc:
        if exc.retry and attempts < policy.max_attempts:
            delay = policy.retry_base_s * 2 ** (attempts - 1)
            _finish(
                session,
                message_id,
                status="queued",
                next_attempt_at=now + timedelta(seconds=delay),
                last_error=str(exc)[:300],
            )
            stats.retried += 1
        else:
            _finish(session, message_id, status="dead" if exc.retry else "skipped", last_error=str(exc)[:300])
            if exc.retry:
                stats.dead += 1
            else:
                stats.skip(str(exc)[:40])
        return
    _finish(session, message_id, status="sent", sent_at=now, last_error="")
    stats.sent += 1


def drain(
    sessions: sessionmaker[Session],
    senders: dict[str, Sender],
    policy: Policy,
    clock: Callable[[], datetime],
    limit: int = 500,
) -> DrainStats:
    """Deliver every due message (at most `limit` per call)."""
    stats = DrainStats()
    with sessions() as session:
        ids = due_ids(session, clock(), limit)
    for message_id in ids:
        with sessions() as session:
            deliver_one(session, message_id, senders, policy, clock(), stats)
    return stats


def dead_letters(session: Session, limit: int = 100) -> list[OutreachMessage]:
    return list(
        session.scalars(
            select(OutreachMessage)
            .where(OutreachMessage.status.in_(DEAD_STATUSES))
            .order_by(OutreachMessage.id.desc())
            .limit(limit)
        )
    )


def requeue(session: Session, ids: Iterable[int], now: datetime) -> int:
    """An operator's decision: send dead or unknown messages again."""
    result = session.execute(
        update(OutreachMessage)
        .where(OutreachMessage.id.in_(list(ids)), OutreachMessage.status.in_(DEAD_STATUSES))
        .values(status="queued", attempts=0, next_attempt_at=now)
    )
    session.commit()
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def take_inbox(session: Session, customer_id: str, now: datetime) -> list[dict[str, Any]]:
    """The web messages waiting for the shopper's visit, rendered; marked delivered in the same
    transaction (a second visit does not show them again)."""
    rows = list(
        session.scalars(
            select(OutreachMessage)
            .where(
                OutreachMessage.customer_id == customer_id,
                OutreachMessage.channel == "web",
                OutreachMessage.status == "sent",
            )
            .order_by(OutreachMessage.id)
            .with_for_update()
        )
    )
    out = []
    for row in rows:
        content = render(row.template, row.language, row.params)
        out.append(
            {
                "id": row.id,
                "kind": row.kind,
                "text": content.text,
                "buttons": [{"title": t, "payload": p} for t, p in content.buttons],
            }
        )
        row.status = "delivered"
    session.commit()
    return out
