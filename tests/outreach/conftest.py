"""A small shop (tests/order_service/conftest.py) on SQLite and PostgreSQL, the WeChat stand-in, and an
outreach instance with a clock the tests move."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from order_service.core.db import make_sessionmaker
from order_service.models import AssistantEvent
from outreach.outbox import Policy
from outreach.senders import WeChatSender
from outreach.worker import Outreach
from tests.order_service.conftest import (  # noqa: F401 (fixtures)
    app,
    client,
    customer,
    db_url,
    engine,
    place,
    service,
    set_stock,
    settings,
    staff_headers,
)
from tests.outreach.wechat_standin import APP_ID, APP_SECRET, WeChatStandIn, serve

TEXTS = yaml.safe_load((Path(__file__).resolve().parents[2] / "outreach" / "texts.yaml").read_text("utf-8"))
# noon in Shanghai: outside the default quiet hours
NOON = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


@pytest.fixture
def standin():
    s = WeChatStandIn()
    server = serve(s)
    yield s
    server.shutdown()


def policy(**overrides) -> Policy:
    base = dict(
        quiet=(21, 9),
        timezone="Asia/Shanghai",
        max_per_week=2,
        max_attempts=4,
        retry_base_s=30.0,
        wechat_window=timedelta(hours=48),
        wechat_quota=5,
    )
    return Policy(**{**base, **overrides})


@pytest.fixture
def clock():
    return Clock(NOON)


@pytest.fixture
def outreach(engine, standin, clock):
    sender = WeChatSender(standin.url, APP_ID, APP_SECRET)
    yield Outreach(make_sessionmaker(engine), {"wechat": sender}, policy(), clock)
    sender.close()


def resolve(client, channel: str, external_id: str) -> str:
    r = client.post(
        "/customers/resolve", json={"channel": channel, "external_id": external_id}, headers=service()
    )
    assert r.status_code in (200, 201), r.text
    return r.json()["customer_id"]


def spoke(engine, customer_id: str, channel: str, language: str, at: datetime) -> None:
    """The shopper talked to the assistant (what the action server records)."""
    with make_sessionmaker(engine)() as session:
        session.add(
            AssistantEvent(
                at=at,
                conversation_id=f"{channel}-{customer_id}",
                customer_id=customer_id,
                channel=channel,
                language=language,
                type="fallback",
                payload={},
            )
        )
        session.commit()
