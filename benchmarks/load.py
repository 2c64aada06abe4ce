"""`make bench-load`: simulated shoppers hold realistic multi-turn conversations over the REST channel
against the full stack, which this benchmark starts itself (deploy/stack.py): by default two Rasa
servers and two action servers behind nginx, sharing a PostgreSQL tracker store and the Redis lock
store, plus the order service.

Two regimes: a closed loop without think time at 10, 50 and 100 concurrent shoppers (sustained
turns/s, p50/p95/p99 turn latency, error rate), and shoppers who think 5 s between turns, added in
steps until the p95 turn latency passes 500 ms (how many concurrent shoppers this machine serves).
A turn counts as an error when the HTTP call fails or times out, when nothing is answered, or when
the answer is the apology for an unreachable service. Every process's CPU and memory are sampled.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import summarise_ms, write_result
from daogou.config import get_settings
from deploy.stack import APP_BIN, ROOT, Process, Stack, prepare_state

# Conversations as shoppers have them (the vertical slice, FAQ, recommendations), in both languages.
CONVERSATIONS: list[list[str]] = [
    ["hello", "an AMD CPU under $300", "is the first one in stock at Mall of America?", "thanks"],
    ["你好", "300美元以下的AMD处理器", "第一个在Mall of America有货吗？", "谢谢"],
    ["What is your return policy?", "show me AMD processors below 300 dollars", "recommend me something"],
    ["退货期限是多久？", "给我推荐点东西", "谢谢"],
    [
        "any Intel CPUs for less than $250?",
        "is the first one in stock at Mall of America?",
        "How many days do I have to return something?",
    ],
]
UNAVAILABLE = ("can't reach that service", "暂时无法连接")  # utter_service_unavailable
TURN_TIMEOUT_S = 30.0
CLOSED_LOOP = (10, 50, 100)
THINK_TIME_S = 5.0
P95_LIMIT_MS = 500.0


@dataclass
class Turn:
    at: float  # monotonic start
    latency: float  # seconds
    error: str | None


@dataclass
class Recorder:
    turns: list[Turn] = field(default_factory=list)

    def window(self, start: float, end: float) -> list[Turn]:
        return [t for t in self.turns if start <= t.at and t.at + t.latency <= end]


async def shopper(
    client: httpx.AsyncClient, url: str, rec: Recorder, stop_at: float, think_s: float, rng: random.Random
) -> None:
    while time.monotonic() < stop_at:
        sender = f"load-{uuid.uuid4().hex[:12]}"
        for text in rng.choice(CONVERSATIONS):
            if time.monotonic() >= stop_at:
                return
            started = time.monotonic()
            error = None
            try:
                response = await client.post(url, json={"sender": sender, "message": text})
                if response.status_code != 200:
                    error = f"HTTP {response.status_code}"
                else:
                    body = response.json()
                    answer = " ".join(m.get("text") or "" for m in body)
                    if not body:
                        error = "no answer"
                    elif any(marker in answer for marker in UNAVAILABLE):
                        error = "service unavailable apology"
            except httpx.HTTPError as exc:
                error = type(exc).__name__
            rec.turns.append(Turn(started, time.monotonic() - started, error))
            if think_s:
                await asyncio.sleep(rng.uniform(0.5 * think_s, 1.5 * think_s))


def _client(concurrency: int) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        timeout=TURN_TIMEOUT_S,
        trust_env=False,
        limits=httpx.Limits(max_connections=concurrency + 10, max_keepalive_connections=concurrency + 10),
    )


def _stats(turns: list[Turn], seconds: float) -> dict[str, Any]:
    if not turns:
        return {"turns": 0, "turns_per_s": 0.0, "error_rate": 1.0}
    errors = [t.error for t in turns if t.error]
    out = {
        "turns": len(turns),
        "turns_per_s": round(len(turns) / seconds, 2),
        "error_rate": round(len(errors) / len(turns), 4),
        **summarise_ms([t.latency for t in turns]),
    }
    if errors:
        out["errors"] = {e: errors.count(e) for e in sorted(set(errors))}
    return out


class Usage:
    """CPU share and peak resident memory of each process over a phase."""

    def __init__(self, procs: list[Process]) -> None:
        self.procs = procs
        self.peak_rss = {p.name: 0.0 for p in procs}
        self._start: dict[str, float] = {}
        self._t0 = 0.0

    def begin(self) -> None:
        self._t0 = time.monotonic()
        self._start = {p.name: p.usage()[0] for p in self.procs}

    def sample(self) -> None:
        for p in self.procs:
            self.peak_rss[p.name] = max(self.peak_rss[p.name], p.usage()[1])

    def end(self) -> dict[str, dict[str, float]]:
        wall = time.monotonic() - self._t0
        out = {}
        for p in self.procs:
            cpu, rss = p.usage()
            self.peak_rss[p.name] = max(self.peak_rss[p.name], rss)
            out[p.name] = {
                "cpu_percent": round(100 * (cpu - self._start[p.name]) / wall, 1),
                "rss_mb": round(rss, 1),
            }
        return out


async def _phase(
    url: str, shoppers: int, seconds: float, think_s: float, usage: Usage, warmup_s: float = 3.0
) -> tuple[dict[str, Any], dict[str, Any]]:
    rec = Recorder()
    start = time.monotonic()
    stop_at = start + warmup_s + seconds
    async with _client(shoppers) as client:
        tasks = [
            asyncio.create_task(shopper(client, url, rec, stop_at, think_s, random.Random(i)))
            for i in range(shoppers)
        ]
        await asyncio.sleep(warmup_s)
        usage.begin()
        while time.monotonic() < stop_at:
            await asyncio.sleep(2)
            usage.sample()
        processes = usage.end()
        await asyncio.gather(*tasks)
    return _stats(rec.window(start + warmup_s, stop_at), seconds), processes


async def _ramp(
    url: str, usage: Usage, step: int, step_s: float, max_shoppers: int
) -> tuple[int, list[dict]]:
    """Think-time shoppers added `step` at a time; the last level whose p95 stayed within the limit."""
    rec = Recorder()
    steps: list[dict] = []
    served = 0
    stop_at = time.monotonic() + 10_000
    tasks: list[asyncio.Task] = []
    async with _client(max_shoppers) as client:
        level = 0
        while level < max_shoppers:
            level += step
            for i in range(len(tasks), level):  # newcomers start spread over the first think time
                delay = random.Random(i).uniform(0, THINK_TIME_S)
                tasks.append(
                    asyncio.create_task(
                        _delayed(
                            delay, shopper(client, url, rec, stop_at, THINK_TIME_S, random.Random(1000 + i))
                        )
                    )
                )
            await asyncio.sleep(THINK_TIME_S)  # let the newcomers arrive
            begin = time.monotonic()
            usage.begin()
            await asyncio.sleep(step_s)
            usage.sample()
            turns = rec.window(begin, time.monotonic())
            stats = {"shoppers": level, **_stats(turns, step_s), "processes": usage.end()}
            steps.append(stats)
            print(
                f"  think-time ramp: {level} shoppers, {stats.get('turns_per_s')} turns/s, "
                f"p95 {stats.get('p95_ms')} ms, errors {stats.get('error_rate')}",
                flush=True,
            )
            if not turns or stats["p95_ms"] > P95_LIMIT_MS or stats["error_rate"] > 0:
                break
            served = level
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    return served, steps


async def _delayed(delay: float, coro: Any) -> None:
    await asyncio.sleep(delay)
    await coro


def _model() -> Path:
    if os.environ.get("DAOGOU_BENCH_MODEL"):
        return Path(os.environ["DAOGOU_BENCH_MODEL"])
    daogou = str(APP_BIN / "daogou")
    subprocess.run([daogou, "bot", "train"], cwd=ROOT, check=True)
    return Path(
        subprocess.run(
            [daogou, "bot", "model-path"], cwd=ROOT, check=True, capture_output=True, text=True
        ).stdout.strip()
    )


def _tracker_database() -> tuple[str, Any]:
    """A fresh PostgreSQL database for the conversations; returns (URL for the Rasa env, dropper)."""
    import sqlalchemy as sa

    admin_url = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
    name = f"daogou_load_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as conn:
            conn.execute(
                sa.text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n"),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()

    url = sa.engine.make_url(admin_url).set(drivername="postgresql", database=name)  # psycopg2 in .venv-rasa
    return url.render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rasa", type=int, default=2, help="Rasa servers behind nginx")
    parser.add_argument("--actions", type=int, default=2, help="action servers behind nginx")
    parser.add_argument("--phase-s", type=float, default=40.0, help="measured seconds per closed-loop level")
    parser.add_argument("--ramp-step", type=int, default=25, help="think-time shoppers added per step")
    parser.add_argument("--ramp-step-s", type=float, default=20.0, help="measured seconds per ramp step")
    parser.add_argument("--ramp-max", type=int, default=600)
    parser.add_argument(
        "--no-baseline",
        action="store_true",
        help="skip the single-instance baseline (one Rasa, one action server, as `make run`)",
    )
    args = parser.parse_args()

    work = get_settings().state_dir / "bench-load"
    prepared = work / "prepared"
    if not (prepared / "daogou.db").exists():
        print("preparing the demo shop state (once) ...", flush=True)
        prepared.mkdir(parents=True, exist_ok=True)
        prepare_state(prepared)
    state = work / "run"
    shutil.rmtree(state, ignore_errors=True)
    shutil.copytree(prepared, state)

    model = _model()
    baseline = None
    if not args.no_baseline and (args.rasa > 1 or args.actions > 1):
        # The same machine in the same minutes with `make run`'s deployment: the scale-out's gain as a
        # ratio, which a shared, busy machine distorts less than absolute numbers.
        single = Stack(state, model, settings={"TRACKER_STORE_URL": f"sqlite:///{state / 'baseline.db'}"})
        try:
            single.start()
            stats, procs = asyncio.run(
                _phase(
                    f"{single.rasa_url}/webhooks/rest/webhook",
                    50,
                    args.phase_s * 0.75,
                    0.0,
                    Usage(single.processes),
                )
            )
            baseline = {**stats, "processes": procs}
            print(
                f"  baseline (1 Rasa, 1 action server) c50: {stats.get('turns_per_s')} turns/s, "
                f"p95 {stats.get('p95_ms')} ms, errors {stats.get('error_rate')}",
                flush=True,
            )
        finally:
            single.close()

    settings: dict[str, str] = {}
    drop = None
    if args.rasa > 1:
        settings["TRACKER_STORE_URL"], drop = _tracker_database()
        settings["LOCK_STORE"] = "redis"
    started = time.monotonic()
    stack = Stack(state, model, rasa=args.rasa, actions=args.actions, settings=settings)
    try:
        stack.start()
        print(
            f"stack up in {time.monotonic() - started:.0f} s: {args.rasa} Rasa, {args.actions} action servers",
            flush=True,
        )
        url = f"{stack.rasa_url}/webhooks/rest/webhook"
        usage = Usage(stack.processes)
        closed: dict[int, dict[str, Any]] = {}
        for level in CLOSED_LOOP:
            stats, procs = asyncio.run(_phase(url, level, args.phase_s, 0.0, usage))
            closed[level] = {**stats, "processes": procs}
            print(
                f"  closed loop c{level}: {stats.get('turns_per_s')} turns/s, p50 {stats.get('p50_ms')} ms, "
                f"p95 {stats.get('p95_ms')} ms, p99 {stats.get('p99_ms')} ms, errors {stats.get('error_rate')}",
                flush=True,
            )
        served, ramp = asyncio.run(_ramp(url, usage, args.ramp_step, args.ramp_step_s, args.ramp_max))
    finally:
        stack.close()
        if drop is not None:
            drop()

    def peak(prefix: str) -> float:
        return round(max(v for k, v in usage.peak_rss.items() if k.startswith(prefix)), 1)

    metrics = {
        "turns_per_s_c10": closed[10]["turns_per_s"],
        "turns_per_s_c50": closed[50]["turns_per_s"],
        "turns_per_s_c100": closed[100]["turns_per_s"],
        "turn_p95_ms_c50": closed[50].get("p95_ms"),
        "error_rate_c100": closed[100]["error_rate"],
        "shoppers_at_p95_500ms": served,
        "rasa_rss_mb": peak("rasa"),
        "actions_rss_mb": peak("actions"),
    }
    details = {
        "deployment": {
            "rasa_servers": args.rasa,
            "action_servers": args.actions,
            "order_services": 1,
            "balancer": "nginx" if stack.balancer else None,
            "tracker_store": "postgresql" if args.rasa > 1 else "sqlite",
            "lock_store": settings.get("LOCK_STORE", "in_memory"),
            "model": model.name,
        },
        "closed_loop": {f"c{k}": v for k, v in closed.items()},
        "baseline_single_instance_c50": baseline,
        "scale_out_speedup_c50": (
            round(closed[50]["turns_per_s"] / baseline["turns_per_s"], 2)
            if baseline and baseline.get("turns_per_s")
            else None
        ),
        "think_time_ramp": {"think_time_s": THINK_TIME_S, "p95_limit_ms": P95_LIMIT_MS, "steps": ramp},
        "peak_rss_mb": {k: round(v, 1) for k, v in usage.peak_rss.items()},
        "rss_note": "rasa_rss_mb / actions_rss_mb: the largest single process of its kind",
        "load_average": os.getloadavg(),
        "cpus": os.cpu_count(),
    }
    write_result("load", metrics, details)


if __name__ == "__main__":
    main()
