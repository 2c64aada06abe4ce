"""The outreach worker: APScheduler runs one pass (`tick`) every OUTREACH_POLL_S seconds from a
persistent job store (SQL in the order database by default, Redis with OUTREACH_JOBSTORE=redis).

A pass: post-sale messages for new order events, back-in-stock messages for new stock receipts,
launch of due campaigns, then the outbox drain (sends, retries with backoff, dead letters). Every
step's progress is in the order database, so a killed worker resumes where it stopped.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from daogou.config import Settings, get_settings
from order_service.core.db import make_engine, make_sessionmaker
from outreach.campaigns import due_campaigns, launch_campaign
from outreach.consent import parse_quiet_hours
from outreach.outbox import DrainStats, Policy, Sender, drain, recover_interrupted
from outreach.senders import WeChatSender
from outreach.triggers import scan_order_events, scan_stock_receipts

log = logging.getLogger("outreach")
TICK_JOB_ID = "outreach-tick"


def utcnow() -> datetime:
    return datetime.now(UTC)


def policy_from(settings: Settings) -> Policy:
    return Policy(
        quiet=parse_quiet_hours(settings.outreach_quiet_hours),
        timezone=settings.outreach_timezone,
        max_per_week=settings.outreach_max_per_week,
        max_attempts=settings.outreach_max_attempts,
        retry_base_s=settings.outreach_retry_base_s,
        wechat_window=timedelta(hours=settings.outreach_wechat_window_h),
        wechat_quota=settings.outreach_wechat_quota,
        concurrency=settings.outreach_send_concurrency,
    )


def senders_from(settings: Settings) -> dict[str, Sender]:
    """WeChat when the account's credentials are configured; the web widget needs no sender."""
    if settings.wechat_app_id and settings.wechat_app_secret:
        return {
            "wechat": WeChatSender(
                settings.wechat_api_base, settings.wechat_app_id, settings.wechat_app_secret
            )
        }
    return {}


@dataclass
class TickStats:
    post_sale: int = 0
    back_in_stock: int = 0
    campaigns: int = 0
    drain: DrainStats = field(default_factory=DrainStats)


@dataclass
class Outreach:
    """Everything one pass needs; built once per process."""

    sessions: sessionmaker[Session]
    senders: dict[str, Sender]
    policy: Policy
    clock: Callable[[], datetime] = utcnow

    @classmethod
    def from_settings(cls, settings: Settings | None = None, engine: Engine | None = None) -> Outreach:
        settings = settings or get_settings()
        engine = engine or make_engine(settings.db_url)
        return cls(make_sessionmaker(engine), senders_from(settings), policy_from(settings))

    def recover(self) -> int:
        with self.sessions() as session:
            return recover_interrupted(session, self.clock())

    def tick(self) -> TickStats:
        out = TickStats()
        with self.sessions() as session:
            out.post_sale = scan_order_events(session, self.clock())
        with self.sessions() as session:
            out.back_in_stock = scan_stock_receipts(session, self.clock())
        with self.sessions() as session:
            for campaign_id in due_campaigns(session, self.clock()):
                launch_campaign(session, campaign_id, self.clock())
                out.campaigns += 1
        out.drain = drain(self.sessions, self.senders, self.policy, self.clock)
        return out


_current: Outreach | None = None


def run_tick() -> None:
    """The scheduled job (referenced by name in the persistent job store)."""
    if _current is None:
        raise RuntimeError("outreach worker not initialised")
    stats = _current.tick()
    if stats.post_sale or stats.back_in_stock or stats.campaigns or stats.drain.sent or stats.drain.inboxed:
        log.info("outreach pass: %s", stats)


def job_store(settings: Settings) -> Any:
    if settings.outreach_jobstore == "redis":
        from apscheduler.jobstores.redis import RedisJobStore

        return RedisJobStore(
            host=settings.redis_host,
            port=settings.redis_port,
            db=settings.outreach_redis_db,
            password=settings.redis_password or None,
        )
    if settings.outreach_jobstore != "database":
        raise ValueError(
            f"OUTREACH_JOBSTORE must be 'database' or 'redis', not {settings.outreach_jobstore!r}"
        )
    from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore

    # our engine: on SQLite it waits for the database lock (busy_timeout) like the rest of the worker,
    # where the job store's own engine gave up after 5 s and stopped the scheduler ("database is locked")
    return SQLAlchemyJobStore(engine=make_engine(settings.db_url), tablename="outreach_scheduler_jobs")


def scheduler_for(settings: Settings, kind: type[BaseScheduler] = BlockingScheduler) -> BaseScheduler:
    """The scheduler with the pass as an interval job in the persistent job store (replacing the job a
    previous worker left there)."""
    scheduler = kind(
        jobstores={"default": job_store(settings)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        timezone=UTC,
    )
    scheduler.add_job(
        run_tick,
        "interval",
        seconds=settings.outreach_poll_s,
        id=TICK_JOB_ID,
        replace_existing=True,
        next_run_time=datetime.now(UTC),
    )
    return scheduler


def serve(settings: Settings | None = None, outreach: Outreach | None = None) -> None:
    """Run the worker until SIGTERM/SIGINT (`daogou campaign worker`)."""
    global _current
    settings = settings or get_settings()
    _current = outreach or Outreach.from_settings(settings)
    if n := _current.recover():
        log.warning(
            "%d message(s) were being sent when the last worker stopped: see `daogou campaign dead-letters`",
            n,
        )
    scheduler = scheduler_for(settings)

    def stop(*_: object) -> None:
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    scheduler.start()
