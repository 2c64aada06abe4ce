"""`make bench-outreach` → benchmarks/results/outreach.json (issue 19).

- `sends_per_s`: a campaign's WeChat customer-service messages drained by `outreach.outbox.drain` to
  the WeChat stand-in (tests/outreach/wechat_standin.py, a real HTTP server on this machine), each
  message claimed and marked in its own committed transaction (SQLite, synchronous=FULL). Target ≥ 100.
- `duplicates_after_kill` / `lost_after_kill`: the real worker process (`python -m outreach worker`,
  APScheduler with its SQL job store) launches a campaign and sends it; it is killed with SIGKILL
  twice in the middle of the sends and started again each time. Then: customers who received the
  campaign more than once (target 0) and treated customers who never received it (target 0). A send
  cut by the kill between its claim and its commit is `unknown` and never resent automatically, so
  duplicates are impossible by construction and a loss can only be such a message that had not
  reached the stand-in; `details` lists the unknown ones and whether the stand-in got each.
- `uplift_error`: simulated campaigns over a synthetic population (web channel, 50% holdout) whose
  purchases are drawn with a known conversion for each arm; the largest absolute error of the
  measured conversion uplift (`outreach.campaigns.campaign_result`) against the true one over the
  simulations. Target ≤ 0.01 at this sample size.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import func, insert, select

from benchmarks.common import write_result
from order_service.core.db import make_engine, make_sessionmaker
from order_service.core.migrate import upgrade
from order_service.models import (
    AssistantEvent,
    Customer,
    CustomerIdentity,
    OutreachConsent,
    OutreachMessage,
)
from outreach.campaigns import campaign_result, create_campaign, launch_campaign
from outreach.outbox import drain
from outreach.senders import WeChatSender
from outreach.worker import Outreach, policy_from
from tests.outreach.wechat_standin import APP_ID, APP_SECRET, WeChatStandIn, serve

SEND_N = int(os.environ.get("BENCH_OUTREACH_SENDS", "2000"))
KILL_N = int(os.environ.get("BENCH_OUTREACH_KILL", "3000"))
SIM_N = int(os.environ.get("BENCH_OUTREACH_POPULATION", "40000"))
SIMULATIONS = 5
BASE_CONVERSION, TRUE_UPLIFT = 0.05, 0.02
OFFER = {"code": "BENCH10", "percent_off": 10, "valid_until": "2026-12-31", "headline_en": "Winter sale."}


def now() -> datetime:
    return datetime.now(UTC)


def database(folder: Path, name: str) -> str:
    url = f"sqlite:///{folder / name}"
    upgrade(url)
    return url


def population(url: str, n: int, channel: str, at: datetime, prefix: str = "bench") -> list[str]:
    """n customers, each with an identity on `channel`, an opt-in and a recent message to the assistant."""
    engine = make_engine(url)
    ids = [f"{prefix}-{i:06d}" for i in range(n)]
    with engine.begin() as conn:
        conn.execute(insert(Customer), [{"id": c, "display_name": "", "created_at": at} for c in ids])
        conn.execute(
            insert(CustomerIdentity),
            [{"channel": channel, "external_id": f"oid-{c}", "customer_id": c} for c in ids],
        )
        conn.execute(
            insert(OutreachConsent),
            [
                {"customer_id": c, "channel": channel, "opted_in": True, "source": "bench", "updated_at": at}
                for c in ids
            ],
        )
        conn.execute(
            insert(AssistantEvent),
            [
                {
                    "at": at,
                    "conversation_id": f"{channel}-{c}",
                    "customer_id": c,
                    "channel": channel,
                    "language": "zh" if i % 3 == 0 else "en",
                    "type": "fallback",
                    "payload": {},
                }
                for i, c in enumerate(ids)
            ],
        )
    engine.dispose()
    return ids


def settings_for(url: str, standin: WeChatStandIn):
    from daogou.config import get_settings

    return get_settings().model_copy(
        update={
            "database_url": url,
            "wechat_api_base": standin.url,
            "wechat_app_id": APP_ID,
            "wechat_app_secret": APP_SECRET,
            "outreach_quiet_hours": "",
            "outreach_max_per_week": 1000,
        }
    )


def campaign(url: str, channel: str, holdout: float, seed: int = 0, at: datetime | None = None) -> int:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        c = create_campaign(
            session,
            name=f"bench {seed}",
            target={},
            offer=OFFER,
            channel=channel,
            scheduled_at=at or now(),
            now=now(),
            holdout_share=holdout,
            max_per_week=1000,
            seed=seed,
            created_by="bench",
        )
        session.commit()
        campaign_id = c.id
    engine.dispose()
    return campaign_id


def measure_sends(folder: Path, standin: WeChatStandIn) -> dict[str, float]:
    url = database(folder, "sends.db")
    population(url, SEND_N, "wechat", now())
    settings = settings_for(url, standin)
    engine = make_engine(url)
    sender = WeChatSender(standin.url, APP_ID, APP_SECRET)
    outreach = Outreach(make_sessionmaker(engine), {"wechat": sender}, policy_from(settings))
    with outreach.sessions() as session:
        launched = launch_campaign(session, campaign(url, "wechat", 0.0), now())
    before = len(standin.sent)
    start = time.perf_counter()
    stats = drain(outreach.sessions, outreach.senders, outreach.policy, now, limit=10**6)
    elapsed = time.perf_counter() - start
    sender.close()
    engine.dispose()
    received = len(standin.sent) - before
    return {
        "messages": launched["messages"],
        "sent": stats.sent,
        "received": received,
        "seconds": round(elapsed, 3),
        "sends_per_s": round(stats.sent / elapsed, 1),
    }


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "outreach", "worker"], env=env, stdout=out, stderr=out)


def _queued(url: str) -> int:
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        n = session.scalar(
            select(func.count())
            .select_from(OutreachMessage)
            .where(OutreachMessage.status.in_(("queued", "sending")))
        )
        launched = session.scalar(select(func.count()).select_from(OutreachMessage))
    engine.dispose()
    return int(n or 0) if launched else -1


def measure_kills(folder: Path, standin: WeChatStandIn) -> dict[str, Any]:
    url = database(folder, "kill.db")
    customers = population(url, KILL_N, "wechat", now(), prefix="kill")
    campaign_id = campaign(url, "wechat", 0.1)
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "WECHAT_API_BASE": standin.url,
        "WECHAT_APP_ID": APP_ID,
        "WECHAT_APP_SECRET": APP_SECRET,
        "OUTREACH_QUIET_HOURS": "",
        "OUTREACH_MAX_PER_WEEK": "1000",
        "OUTREACH_POLL_S": "0.5",
    }
    log = folder / "worker.log"
    before = len(standin.sent)
    kills = []
    worker = _start_worker(env, log)
    for share in (0.3, 0.65):
        deadline = time.monotonic() + 300
        while len(standin.sent) - before < share * KILL_N * 0.9 and time.monotonic() < deadline:
            time.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
        worker.wait()
        kills.append(len(standin.sent) - before)
        worker = _start_worker(env, log)
    deadline = time.monotonic() + 300
    while _queued(url) != 0 and time.monotonic() < deadline:
        time.sleep(0.5)
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=30)
    except subprocess.TimeoutExpired:
        worker.kill()
    engine = make_engine(url)
    with make_sessionmaker(engine)() as session:
        rows = session.execute(
            select(OutreachMessage.address, OutreachMessage.status).where(
                OutreachMessage.campaign_id == campaign_id
            )
        ).all()
        treated = {address for address, _ in rows}
        unknown = [address for address, status in rows if status == "unknown"]
        statuses: dict[str, int] = {}
        for _, status in rows:
            statuses[status] = statuses.get(status, 0) + 1
    engine.dispose()
    with standin.lock:  # what this campaign's worker sent (the stand-in also saw the throughput run)
        counts = Counter(m["touser"] for m in standin.sent[before:])
    received = {a: counts.get(a, 0) for a in treated}
    return {
        "customers": len(customers),
        "treated": len(treated),
        "received_when_killed": kills,
        "statuses": statuses,
        "duplicates_after_kill": sum(n - 1 for n in received.values() if n > 1),
        "lost_after_kill": sum(1 for n in received.values() if n == 0),
        "unknown": [{"address": a, "reached_standin": counts.get(a, 0) > 0} for a in unknown],
    }


def measure_uplift(folder: Path) -> dict[str, Any]:
    url = database(folder, "uplift.db")
    start = now() - timedelta(days=30)
    population(url, SIM_N, "web", start - timedelta(days=1))
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    rng = np.random.default_rng(20261203)
    runs = []
    for k in range(SIMULATIONS):
        campaign_id = campaign(url, "web", 0.5, seed=k, at=start)
        with sessions() as session:
            launch_campaign(session, campaign_id, start)
            treated = set(
                session.scalars(
                    select(OutreachMessage.customer_id).where(OutreachMessage.campaign_id == campaign_id)
                )
            )
        ids = [f"bench-{i:06d}" for i in range(SIM_N)]
        p = np.array([BASE_CONVERSION + (TRUE_UPLIFT if c in treated else 0.0) for c in ids])
        converted = rng.random(SIM_N) < p
        rows = [
            {
                "at": start + timedelta(hours=float(rng.uniform(1, 24 * 13))),
                "conversation_id": f"sim-{k}-{c}",
                "customer_id": c,
                "channel": "web",
                "language": "en",
                "type": "order_placed",
                "value": round(float(rng.lognormal(5, 0.6)), 2),
                "payload": {"simulation": k},
            }
            for c, hit in zip(ids, converted)
            if hit
        ]
        with engine.begin() as conn:
            conn.execute(insert(AssistantEvent), rows)
        with sessions() as session:
            result = campaign_result(session, campaign_id, window_days=14)
        # the next simulation's window must not see this one's orders
        start += timedelta(days=15)
        runs.append(
            {
                "treated": result.treated,
                "holdout": result.holdout,
                "uplift": round(result.conversion.uplift, 5),
                "ci": [round(result.conversion.ci_low, 5), round(result.conversion.ci_high, 5)],
                "error": round(abs(result.conversion.uplift - TRUE_UPLIFT), 5),
                "ci_covers_truth": result.conversion.ci_low <= TRUE_UPLIFT <= result.conversion.ci_high,
            }
        )
    engine.dispose()
    return {"true_uplift": TRUE_UPLIFT, "base_conversion": BASE_CONVERSION, "population": SIM_N, "runs": runs}


def main() -> None:
    standin = WeChatStandIn()
    server = serve(standin)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-outreach-") as tmp:
            folder = Path(tmp)
            sends = measure_sends(folder, standin)
            print("sends:", sends)
            kills = measure_kills(folder, standin)
            print("kills:", {k: v for k, v in kills.items() if k != "unknown"})
            uplift = measure_uplift(folder)
            print("uplift:", uplift["runs"])
    finally:
        server.shutdown()
    write_result(
        "outreach",
        {
            "sends_per_s": sends["sends_per_s"],
            "duplicates_after_kill": kills["duplicates_after_kill"],
            "lost_after_kill": kills["lost_after_kill"],
            "uplift_error": max(r["error"] for r in uplift["runs"]),
        },
        {"sends": sends, "kills": kills, "uplift": uplift, "load_average": os.getloadavg()},
    )


if __name__ == "__main__":
    main()
