"""Consent per customer and channel, quiet hours and the campaign frequency cap."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from order_service.models import CHANNELS, OutreachConsent


def set_consent(
    session: Session, customer_id: str, channel: str, opted_in: bool, source: str, now: datetime
) -> None:
    """Record an opt-in or an opt-out (the latest word wins)."""
    if channel not in CHANNELS:
        raise ValueError(f"unknown channel {channel!r}")
    row = session.get(OutreachConsent, (customer_id, channel))
    if row is None:
        session.add(
            OutreachConsent(
                customer_id=customer_id, channel=channel, opted_in=opted_in, source=source, updated_at=now
            )
        )
    else:
        row.opted_in, row.source, row.updated_at = opted_in, source, now


def opt_out_everywhere(session: Session, customer_id: str, source: str, now: datetime) -> None:
    """'unsubscribe' / '退订': no more unrequested messages on any channel."""
    for channel in CHANNELS:
        set_consent(session, customer_id, channel, False, source, now)


def consent_of(session: Session, customer_id: str, channel: str) -> bool | None:
    """True opted in, False opted out, None never said."""
    row = session.get(OutreachConsent, (customer_id, channel))
    return None if row is None else row.opted_in


def may_send(kind: str, consent: bool | None) -> bool:
    """Campaigns need an explicit opt-in. Post-sale messages (about the shopper's own order) and
    back-in-stock alerts (which the shopper asked for) go out unless the shopper opted out."""
    if kind == "campaign":
        return consent is True
    return consent is not False


def parse_quiet_hours(spec: str) -> tuple[int, int] | None:
    """'21-9' → (21, 9); empty → None."""
    if not spec.strip():
        return None
    start, end = (int(part) for part in spec.split("-"))
    if not (0 <= start < 24 and 0 <= end < 24):
        raise ValueError(f"quiet hours {spec!r}: hours are 0-23")
    return start, end


def quiet_until(now: datetime, quiet: tuple[int, int] | None, zone: str) -> datetime | None:
    """The end of the quiet hours `now` falls in (UTC), or None when sending is allowed now."""
    if quiet is None:
        return None
    start, end = quiet
    local = now.astimezone(ZoneInfo(zone))
    hour = local.hour
    inside = (start <= hour or hour < end) if start > end else (start <= hour < end)
    if not inside:
        return None
    end_day = local.date() if hour < end else local.date() + timedelta(days=1)
    return datetime.combine(end_day, time(end), tzinfo=local.tzinfo).astimezone(now.tzinfo)
