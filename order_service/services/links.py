"""One customer across channels: a shopper links two channel identities (a WeChat account and a web
session) by proving they hold both.

The proof is a one-time code: asked for in one channel (the account that will stay, "the owner"),
entered in the other within CODE_TTL. The code is eight characters from an alphabet without look-alikes
with at least two digits (still about 10^12 codes), kept only as a digest, used once; after MAX_FAILED wrong codes in FAILED_WINDOW a
customer may not try again for a while, so guessing is hopeless even with many sessions.

Linking merges the entering customer into the owner: its channel identities and orders move to the
owner (the move is recorded on the link), and `Customer.merged_into` points at the owner, so a channel
that still holds the old customer id acts for the owner (`canonical`). Everything keyed by customer
in the orders (history, recommendations, segments, RFM, CLV) therefore follows the shopper. Groups
stay flat: an account that others are linked into cannot itself be linked into a third; unlink first.

Unlinking (from either side) dissolves the group: each merged customer gets back exactly the
identities and orders the link moved; orders placed while linked stay with the owner, whose account
placed them. Assistant events are append-only and keep the customer id they were written with."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from order_service.models import Customer, CustomerIdentity, CustomerLink, LinkAttempt, LinkCode, Order
from order_service.services.errors import Conflict, Invalid, NotFound, ServiceError
from order_service.services.stock import utcnow

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_TTL = timedelta(minutes=10)
MAX_FAILED = 5
FAILED_WINDOW = timedelta(minutes=15)


class TooManyAttempts(ServiceError):
    status_code = 429


@dataclass(frozen=True)
class IssuedCode:
    code: str  # shown as XXXX-XXXX
    expires_at: datetime


@dataclass(frozen=True)
class LinkResult:
    customer_id: str  # the account the shopper now acts as (the owner)
    merged: str  # the account merged into it
    identities: int
    orders: int


def normalise_code(text: str) -> str:
    """What the shopper typed, as the code: case and separators do not matter."""
    return "".join(c for c in text.upper() if c.isalnum())


def _digest(code: str) -> str:
    return hashlib.sha256(normalise_code(code).encode()).hexdigest()


def canonical(session: Session, customer_id: str) -> str | None:
    """The customer a call for `customer_id` acts for (itself, or the owner it is linked into); None
    when there is no such customer."""
    row = session.execute(select(Customer.id, Customer.merged_into).where(Customer.id == customer_id)).first()
    if row is None:
        return None
    return row.merged_into or row.id


def _require(session: Session, customer_id: str) -> str:
    owner = canonical(session, customer_id)
    if owner is None:
        raise NotFound(f"unknown customer {customer_id}")
    return owner


def issue_code(session: Session, customer_id: str) -> IssuedCode:
    """A fresh code that links another channel into this customer's account."""
    owner = _require(session, customer_id)
    code = ""
    while sum(c.isdigit() for c in code) < 2:  # a digit tells a code from a word in a chat message
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
    now = utcnow()
    session.add(LinkCode(digest=_digest(code), customer_id=owner, created_at=now, expires_at=now + CODE_TTL))
    session.commit()
    return IssuedCode(f"{code[:4]}-{code[4:]}", now + CODE_TTL)


def _refuse_guessing(session: Session, customer_id: str) -> None:
    since = utcnow() - FAILED_WINDOW
    failed = session.scalar(
        select(func.count())
        .select_from(LinkAttempt)
        .where(LinkAttempt.customer_id == customer_id, LinkAttempt.at >= since)
    )
    if (failed or 0) >= MAX_FAILED:
        raise TooManyAttempts("too many wrong codes: ask for a new code and try again in 15 minutes")


def link(session: Session, customer_id: str, code: str) -> LinkResult:
    """Merge `customer_id` (the channel entering the code) into the account that asked for the code."""
    me = _require(session, customer_id)
    _refuse_guessing(session, customer_id)
    now = utcnow()
    row = session.get(LinkCode, _digest(code)) if len(normalise_code(code)) == CODE_LENGTH else None
    if row is None or row.used_at is not None or row.expires_at <= now:
        session.add(LinkAttempt(customer_id=customer_id, at=now))
        session.commit()
        raise Invalid("this code is wrong, used or expired: ask for a new one in your other channel")
    owner = _require(session, row.customer_id)
    if owner == me:
        raise Conflict("this code belongs to this same account: enter it in your other channel")
    if session.scalar(select(Customer.id).where(Customer.merged_into == me).limit(1)) is not None:
        raise Conflict("other accounts are linked to this one: unlink them first, or enter the code there")
    row.used_at = now
    identity_ids = list(
        session.scalars(select(CustomerIdentity.id).where(CustomerIdentity.customer_id == me))
    )
    order_ids = list(session.scalars(select(Order.id).where(Order.customer_id == me)))
    session.execute(
        update(CustomerIdentity).where(CustomerIdentity.id.in_(identity_ids)).values(customer_id=owner)
    )
    session.execute(update(Order).where(Order.id.in_(order_ids)).values(customer_id=owner))
    session.execute(update(Customer).where(Customer.id == me).values(merged_into=owner))
    session.add(
        CustomerLink(
            customer_id=me,
            into_id=owner,
            linked_at=now,
            moved={"identities": identity_ids, "orders": order_ids},
        )
    )
    try:
        session.commit()
    except IntegrityError as exc:  # an order idempotency key both accounts used: keep them apart
        session.rollback()
        raise Conflict("these accounts cannot be merged automatically; ask a colleague in store") from exc
    return LinkResult(owner, me, len(identity_ids), len(order_ids))


def linked_accounts(session: Session, customer_id: str) -> list[str]:
    """The customers linked into this customer's account (empty when it stands alone)."""
    owner = _require(session, customer_id)
    return list(
        session.scalars(select(Customer.id).where(Customer.merged_into == owner).order_by(Customer.id))
    )


def unlink(session: Session, customer_id: str) -> list[str]:
    """Dissolve the account's group: every merged customer gets back what its link moved. Returns the
    customers split out (empty when nothing was linked)."""
    owner = _require(session, customer_id)
    links = list(
        session.scalars(
            select(CustomerLink).where(CustomerLink.into_id == owner, CustomerLink.unlinked_at.is_(None))
        )
    )
    now = utcnow()
    for row in links:
        moved = row.moved or {}
        session.execute(
            update(CustomerIdentity)
            .where(
                CustomerIdentity.id.in_(moved.get("identities", [])), CustomerIdentity.customer_id == owner
            )
            .values(customer_id=row.customer_id)
        )
        session.execute(
            update(Order)
            .where(Order.id.in_(moved.get("orders", [])), Order.customer_id == owner)
            .values(customer_id=row.customer_id)
        )
        session.execute(update(Customer).where(Customer.id == row.customer_id).values(merged_into=None))
        row.unlinked_at = now
    session.commit()
    return [row.customer_id for row in links]
