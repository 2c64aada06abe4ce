"""The worker's job survives a restart in APScheduler's persistent job stores: SQL in the order
database (the default) and Redis (OUTREACH_JOBSTORE=redis; skips with the reason when the server is
down, fails in CI where DAOGOU_REQUIRE_SERVICES=1)."""

from __future__ import annotations

import uuid

import pytest
from apscheduler.schedulers.background import BackgroundScheduler

from daogou.config import get_settings
from order_service.core.migrate import upgrade
from outreach.worker import TICK_JOB_ID, job_store, run_tick, scheduler_for


def _survives_restart(settings) -> None:
    first = scheduler_for(settings, BackgroundScheduler)
    first.start(paused=True)
    first.shutdown(wait=False)

    # a new process: a scheduler on the same store, without adding anything
    again = BackgroundScheduler(jobstores={"default": job_store(settings)})
    again.start(paused=True)
    try:
        job = again.get_job(TICK_JOB_ID)
        assert job is not None and job.func is run_tick
        assert job.trigger.interval.total_seconds() == settings.outreach_poll_s
        assert job.next_run_time is not None
    finally:
        again.remove_all_jobs()
        again.shutdown(wait=False)


def test_sql_job_store_keeps_the_job_across_restarts(tmp_path):
    url = f"sqlite:///{tmp_path / 'orders.db'}"
    upgrade(url)
    _survives_restart(get_settings().model_copy(update={"database_url": url, "outreach_poll_s": 3517.0}))


@pytest.mark.redis
def test_redis_job_store_keeps_the_job_across_restarts(redis_url):
    from redis import Redis

    db = 15
    settings = get_settings().model_copy(
        update={
            "outreach_jobstore": "redis",
            "outreach_redis_db": db,
            "outreach_poll_s": 3600.0 + uuid.uuid4().int % 60,
        }
    )
    _survives_restart(settings)
    assert Redis(host=settings.redis_host, port=settings.redis_port, db=db).hlen("apscheduler.jobs") == 0
