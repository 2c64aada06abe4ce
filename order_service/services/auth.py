"""Staff login and tokens, customers and their channel identities."""

from __future__ import annotations

import secrets
import time
from datetime import timedelta

from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from order_service.core.security import (
    DEMO_PASSWORDS,
    hash_password,
    new_token,
    same_secret,
    token_digest,
    verify_password,
)
from order_service.models import Customer, CustomerIdentity, StaffToken, StaffUser
from order_service.schemas import StaffMe
from order_service.services import links
from order_service.services.errors import Forbidden, Unauthorized
from order_service.services.stock import utcnow

# Verifying against a dummy hash when the user does not exist keeps login time independent of
# whether the username is valid.
_DUMMY_HASH = hash_password(secrets.token_hex(8))
# How long an id seen standing alone skips the database (a link made by another process shows after it).
KNOWN_TTL_S = 30.0


def is_service_token(token: str, expected: str) -> bool:
    return bool(expected) and same_secret(token, expected)


def accounts_with_demo_passwords(session: Session) -> list[str]:
    """Staff accounts that still sign in with a published demo password (checked once per distinct
    hash: the demo shop gives every account of a role the same one)."""
    by_hash: dict[str, list[str]] = {}
    for username, stored in session.execute(select(StaffUser.username, StaffUser.password_hash)):
        by_hash.setdefault(stored, []).append(username)
    weak = [
        name
        for stored, names in by_hash.items()
        if any(verify_password(pw, stored) for pw in DEMO_PASSWORDS.values())
        for name in names
    ]
    return sorted(weak)


def staff_me(user: StaffUser) -> StaffMe:
    return StaffMe(staff_id=user.id, username=user.username, role=user.role, store_id=user.store_id)


def login(session: Session, username: str, password: str, ttl_s: int) -> tuple[str, StaffMe, object]:
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None:
        verify_password(password, _DUMMY_HASH)
        raise Unauthorized("unknown username or wrong password")
    if not verify_password(password, user.password_hash) or not user.active:
        raise Unauthorized("unknown username or wrong password")
    token, now = new_token(), utcnow()
    expires = now + timedelta(seconds=ttl_s)
    session.execute(delete(StaffToken).where(StaffToken.staff_id == user.id, StaffToken.expires_at < now))
    session.add(StaffToken(token_hash=token_digest(token), staff_id=user.id, expires_at=expires))
    session.commit()
    return token, staff_me(user), expires


def staff_for_token(session: Session, token: str) -> StaffMe:
    row = session.execute(
        select(StaffToken, StaffUser)
        .join(StaffUser, StaffUser.id == StaffToken.staff_id)
        .where(StaffToken.token_hash == token_digest(token))
    ).first()
    if row is None:
        raise Unauthorized("invalid token")
    tok, user = row
    if tok.expires_at < utcnow() or not user.active:
        raise Unauthorized("token expired or account disabled: log in again")
    return staff_me(user)


def known_alone(known: dict[str, float], customer_id: str) -> bool:
    """True when this process saw `customer_id` standing alone (not linked into another account) within
    KNOWN_TTL_S: the call may act for it without asking the database."""
    return time.monotonic() - known.get(customer_id, -KNOWN_TTL_S) < KNOWN_TTL_S


def require_customer(session: Session, customer_id: str, known: dict[str, float] | None = None) -> str:
    """The customer a call for `customer_id` acts for: itself, or the account it is linked into
    (services/links.py). Refuses an unknown id. Ids found standing alone are remembered in `known`
    (id → when checked); a linked id is looked up every time, so an unlink takes effect at once."""
    owner = links.canonical(session, customer_id)
    if owner is None:
        raise Forbidden(
            f"unknown customer {customer_id}: resolve the channel identity first (POST /customers/resolve)"
        )
    if known is not None and owner == customer_id and len(known) < 1_000_000:
        known[customer_id] = time.monotonic()
    return owner


def resolve(session: Session, channel: str, external_id: str, display_name: str) -> tuple[str, bool]:
    """The customer behind a channel identity, created on first contact (safe under concurrency)."""
    stmt = select(CustomerIdentity.customer_id).where(
        CustomerIdentity.channel == channel, CustomerIdentity.external_id == external_id
    )
    existing = session.scalar(stmt)
    if existing is not None:
        return existing, False
    customer_id = f"c-{secrets.token_hex(8)}"
    try:
        session.add(Customer(id=customer_id, display_name=display_name, created_at=utcnow()))
        session.flush()
        session.add(CustomerIdentity(channel=channel, external_id=external_id, customer_id=customer_id))
        session.commit()
    except IntegrityError:  # another request created it first
        session.rollback()
        return session.scalar(stmt), False
    return customer_id, True
