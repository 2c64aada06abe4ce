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

from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import yaml
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from order_service.models import AssistantEvent, OutreachConsent, OutreachMessage
from outreach.consent import may_send, quiet_until

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
    concurrency: int = 8


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


def message_row(
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
) -> OutreachMessage:
    """A queued message, due now."""
    return OutreachMessage(
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


def enqueue(session: Session, **fields: Any) -> bool:
    """Add a message (the fields of `message_row`) unless one with its send key exists; True when it
    was added. Runs in a savepoint, so a duplicate does not undo the caller's other work."""
    row = message_row(**fields)
    if session.scalar(select(OutreachMessage.id).where(OutreachMessage.send_key == row.send_key)) is not None:
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


@dataclass
class _Screen:
    """What the rules need to know about the customers of one page of due messages, read in four
    queries; the counters grow as the page's messages are let through."""

    consent: dict[tuple[str, str], bool]
    campaign_sent: Counter[str]
    wechat_last: dict[str, datetime]
    wechat_used: Counter[str]


def _screen(session: Session, rows: list[OutreachMessage], policy: Policy, now: datetime) -> _Screen:
    customers = {row.customer_id for row in rows}
    consent = {
        (customer, channel): opted_in
        for customer, channel, opted_in in session.execute(
            select(OutreachConsent.customer_id, OutreachConsent.channel, OutreachConsent.opted_in).where(
                OutreachConsent.customer_id.in_(customers)
            )
        )
    }
    campaign_sent: Counter[str] = Counter(
        dict(
            session.execute(
                select(OutreachMessage.customer_id, func.count())
                .where(
                    OutreachMessage.customer_id.in_(customers),
                    OutreachMessage.kind == "campaign",
                    OutreachMessage.status.in_(("sent", "delivered")),
                    OutreachMessage.sent_at >= now - timedelta(days=7),
                )
                .group_by(OutreachMessage.customer_id)
            ).all()
        )
    )
    wechat_last: dict[str, datetime] = {
        customer: at
        for customer, at in session.execute(
            select(AssistantEvent.customer_id, func.max(AssistantEvent.at))
            .where(AssistantEvent.customer_id.in_(customers), AssistantEvent.channel == "wechat")
            .group_by(AssistantEvent.customer_id)
        )
        if customer is not None and at is not None
    }
    wechat_used: Counter[str] = Counter()
    for customer, sent_at in session.execute(
        select(OutreachMessage.customer_id, OutreachMessage.sent_at).where(
            OutreachMessage.customer_id.in_(customers),
            OutreachMessage.channel == "wechat",
            OutreachMessage.status == "sent",
            OutreachMessage.sent_at >= now - policy.wechat_window,
        )
    ):
        if customer in wechat_last and sent_at is not None and sent_at >= wechat_last[customer]:
            wechat_used[customer] += 1
    return _Screen(consent, campaign_sent, wechat_last, wechat_used)


def _blocked(row: OutreachMessage, seen: _Screen, policy: Policy, now: datetime) -> str | None:
    """Why the message may not go now, or None; a message let through counts towards the caps."""
    customer = row.customer_id
    if not may_send(row.kind, seen.consent.get((customer, row.channel))):
        return "no_consent"
    if row.kind == "campaign":
        cap = min(int(row.params.get("max_per_week", policy.max_per_week)), policy.max_per_week)
        if seen.campaign_sent[customer] >= cap:
            return "frequency_cap"
    if row.channel == "wechat":
        last = seen.wechat_last.get(customer)
        if last is None or now - last > policy.wechat_window:
            return "wechat_window_closed"
        if seen.wechat_used[customer] >= policy.wechat_quota:
            return "wechat_quota_used"
        seen.wechat_used[customer] += 1
    if row.kind == "campaign":
        seen.campaign_sent[customer] += 1
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


def _set(session: Session, ids: list[int], **values: Any) -> int:
    """Update queued rows (only those still queued); returns how many changed."""
    if not ids:
        return 0
    result = session.execute(
        update(OutreachMessage)
        .where(OutreachMessage.id.in_(ids), OutreachMessage.status == "queued")
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def _screen_page(
    session: Session, ids: list[int], policy: Policy, now: datetime, stats: DrainStats
) -> list[OutreachMessage]:
    """Apply quiet hours, consent, caps and WeChat's rules to a page of due messages; web messages go
    to the inbox here. Returns the messages a channel must send. Commits."""
    rows = list(
        session.scalars(
            select(OutreachMessage).where(OutreachMessage.id.in_(ids)).order_by(OutreachMessage.id)
        )
    )
    rows = [row for row in rows if row.status == "queued"]
    if (later := quiet_until(now, policy.quiet, policy.timezone)) is not None:
        stats.deferred += _set(session, [row.id for row in rows], next_attempt_at=later)
        session.commit()
        return []
    seen = _screen(session, rows, policy, now)
    inbox, to_send = [], []
    for row in rows:
        if (reason := _blocked(row, seen, policy, now)) is not None:
            _set(session, [row.id], status="skipped", last_error=reason)
            stats.skip(reason)
        elif row.channel == "web":  # the inbox is this table: ready for the shopper's next visit
            inbox.append(row.id)
        else:
            to_send.append(row)
    stats.inboxed += _set(session, inbox, status="sent", sent_at=now, attempts=OutreachMessage.attempts + 1)
    session.commit()
    return to_send


def _claim(session: Session, rows: list[OutreachMessage]) -> list[tuple[OutreachMessage, int]]:
    """`queued` → `sending` (attempts + 1) for the rows nobody else took; committed before any send.
    Returns the rows taken with their attempt number."""
    taken = dict(
        session.execute(
            update(OutreachMessage)
            .where(OutreachMessage.id.in_([row.id for row in rows]), OutreachMessage.status == "queued")
            .values(status="sending", attempts=OutreachMessage.attempts + 1)
            .returning(OutreachMessage.id, OutreachMessage.attempts),
            execution_options={"synchronize_session": False},
        ).all()
    )
    session.commit()
    return [(row, taken[row.id]) for row in rows if row.id in taken]


def _attempt(senders: dict[str, Sender], row: OutreachMessage) -> SendFailed | None:
    sender = senders.get(row.channel)
    if sender is None:
        return SendFailed("channel_not_configured", retry=False)
    try:
        sender.send(row.address, render(row.template, row.language, row.params))
    except SendFailed as exc:
        return exc
    return None


def _record(
    session: Session,
    row: OutreachMessage,
    attempts: int,
    failure: SendFailed | None,
    policy: Policy,
    now: datetime,
    stats: DrainStats,
) -> None:
    where = (
        update(OutreachMessage)
        .where(OutreachMessage.id == row.id, OutreachMessage.status == "sending")
        .execution_options(synchronize_session=False)
    )
    if failure is None:
        session.execute(where.values(status="sent", sent_at=now, last_error=""))
        stats.sent += 1
    elif failure.retry and attempts < policy.max_attempts:
        delay = policy.retry_base_s * 2 ** (attempts - 1)
        session.execute(
            where.values(
                status="queued", next_attempt_at=now + timedelta(seconds=delay), last_error=str(failure)[:300]
            )
        )
        stats.retried += 1
    else:
        session.execute(
            where.values(status="dead" if failure.retry else "skipped", last_error=str(failure)[:300])
        )
        if failure.retry:
            stats.dead += 1
        else:
            stats.skip(str(failure)[:40])


def _rounds(rows: list[OutreachMessage], size: int) -> Iterator[list[OutreachMessage]]:
    """Groups of at most `size` messages sent in parallel, one per customer at most, so that one
    shopper's messages arrive in their order (ready for pick-up before the rating request)."""
    waiting = list(rows)
    while waiting:
        chunk: list[OutreachMessage] = []
        customers: set[str] = set()
        rest = []
        for row in waiting:
            if len(chunk) < size and row.customer_id not in customers:
                chunk.append(row)
                customers.add(row.customer_id)
            else:
                rest.append(row)
        yield chunk
        waiting = rest


def drain(
    sessions: sessionmaker[Session],
    senders: dict[str, Sender],
    policy: Policy,
    clock: Callable[[], datetime],
    limit: int = 2000,
    page: int = 200,
) -> DrainStats:
    """Deliver the due messages (at most `limit` per call). Channel sends go `policy.concurrency` at a
    time: claimed in one commit, sent in parallel, recorded in the next; so a crash leaves at most
    that many messages whose outcome is unknown."""
    stats = DrainStats()
    with sessions() as session:
        ids = due_ids(session, clock(), limit)
    with ThreadPoolExecutor(max_workers=policy.concurrency) as pool:
        for start in range(0, len(ids), page):
            with sessions() as session:
                ready = _screen_page(session, ids[start : start + page], policy, clock(), stats)
                for chunk in _rounds(ready, policy.concurrency):
                    claimed = _claim(session, chunk)
                    failures = list(pool.map(lambda taken: _attempt(senders, taken[0]), claimed))
                    now = clock()
                    for (row, attempts), failure in zip(claimed, failures):
                        _record(session, row, attempts, failure, policy, now, stats)
                    session.commit()
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
