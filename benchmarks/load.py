"""`make bench-load`: simulated shoppers hold realistic shopping conversations against the full stack,
which this benchmark starts itself (deploy/stack.py): by default two Rasa servers and two action servers
behind nginx, sharing a PostgreSQL tracker store and the Redis lock store, plus the order service.

The traffic (benchmarks/load_traffic.py): conversations of 5–12 turns in English and Chinese that
search, refine, ask the FAQ, check stock, add to the cart, check out (pick-up at a store that has the
product, or delivery to a real address) and track the order they placed, written from the shop's data
(products, stores, addresses) so that hundreds of distinct messages are sent, none of them an NLU
training line (checked after the normalisation the overlap test uses). Most shoppers talk over the REST
channel, a share over socket.io as the web widget does, and store associates ask about stock over the
staff channel with their own sign-in.

Two regimes: a closed loop without think time at 10, 50 and 100 concurrent users (sustained turns/s,
p50/p95/p99 turn latency, error rate), and shoppers who think 5 s between turns, added in steps until
the p95 turn latency passes 500 ms (how many concurrent shoppers this machine serves). Three runs on
the same stack; each metric is the median of the runs, with the spread in the details. A turn counts
as an error when the call fails or times out, when nothing is answered, or when the answer is the
apology for an unreachable service. Afterwards every order a shopper saw confirmed must exist exactly
once in the order database, and no conversation may hold more orders than it asked to place.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from benchmarks.common import summarise_ms, write_result
from benchmarks.load_traffic import (
    Ledger,
    RestUser,
    Script,
    ShopData,
    SocketUser,
    StaffUser,
    Traffic,
    order_patterns,
)
from daogou.config import get_settings
from deploy.stack import APP_BIN, ROOT, Process, Stack, nginx_binary, prepare_state
from tests.unit.test_no_test_leak import normalise

TURN_TIMEOUT_S = 30.0
CLOSED_LOOP = (10, 50, 100)
THINK_TIME_S = 5.0
P95_LIMIT_MS = 500.0
RUNS = 3
ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@dataclass
class Turn:
    at: float  # monotonic start
    latency: float  # seconds
    error: str | None
    channel: str = "rest"


@dataclass
class Recorder:
    turns: list[Turn] = field(default_factory=list)

    def window(self, start: float, end: float) -> list[Turn]:
        return [t for t in self.turns if start <= t.at and t.at + t.latency <= end]


@dataclass
class Target:
    """Where and as whom the simulated users talk: the public URL, staff sign-ins, the traffic, the ledger."""

    base_url: str
    traffic: Traffic
    ledger: Ledger
    staff_tokens: dict[str, str]  # username -> bearer token
    patterns: list[Any]

    def user(self, script: Script, client: httpx.AsyncClient, number: int) -> Any:
        if script.channel == "staff":
            every = round(1 / self.traffic.staff_share)
            name = self.traffic.shop.associates[number // every]
            return StaffUser(client, f"{self.base_url}/webhooks/staff/webhook", self.staff_tokens[name], name)
        if script.channel == "socketio":
            return SocketUser(self.base_url)
        return RestUser(client, f"{self.base_url}/webhooks/rest/webhook")


async def shopper(
    client: httpx.AsyncClient,
    target: Target,
    number: int,
    rec: Recorder,
    stop_at: float,
    think_s: float,
    rng: random.Random,
) -> None:
    """User `number` holds one conversation after another until `stop_at`, each a new shopper (a new
    sender or widget session); a store associate keeps the sign-in of its user number."""
    while time.monotonic() < stop_at:
        script = target.traffic.draw(rng, number)
        user = target.user(script, client, number)
        try:
            await user.start()
        except Exception as exc:  # the widget's connection refused: counted as a failed turn
            rec.turns.append(Turn(time.monotonic(), 0.0, f"connect {type(exc).__name__}", script.channel))
            await asyncio.sleep(1.0)
            continue
        order_id = None
        try:
            for text in script.turns:
                if time.monotonic() >= stop_at:
                    return
                if "{order_id}" in text:
                    key = text
                    text = (
                        text.format(order_id=order_id)
                        if order_id
                        else rng.choice(("any update on what I ordered?", "我的订单怎么样了"))
                    )
                else:
                    key = text
                target.traffic.sent.add(normalise(key))
                if script.places_orders and user.conversation not in target.ledger.asked:
                    target.ledger.asked[user.conversation] = script.places_orders
                started = time.monotonic()
                reply = await user.say(text)
                rec.turns.append(Turn(started, reply.latency, reply.error, script.channel))
                for pattern in target.patterns:
                    match = pattern.search(reply.text)
                    if match:
                        order_id = int(match.group("order_id"))
                        target.ledger.confirmed[order_id] = user.conversation
                if think_s:
                    await asyncio.sleep(rng.uniform(0.5 * think_s, 1.5 * think_s))
        finally:
            await user.close()


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
    out["channels"] = {
        c: {"turns": len(ts), **summarise_ms([t.latency for t in ts])}
        for c in sorted({t.channel for t in turns})
        for ts in [[t for t in turns if t.channel == c]]
    }
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
    target: Target, shoppers: int, seconds: float, think_s: float, usage: Usage, warmup_s: float = 3.0
) -> tuple[dict[str, Any], dict[str, Any]]:
    rec = Recorder()
    start = time.monotonic()
    stop_at = start + warmup_s + seconds
    async with _client(shoppers) as client:
        tasks = [
            asyncio.create_task(shopper(client, target, i, rec, stop_at, think_s, random.Random(i)))
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
    target: Target, usage: Usage, first: int, step: int, step_s: float, max_shoppers: int, seed: int
) -> tuple[int, list[dict]]:
    """Think-time shoppers, `first` and then `step` more at a time; the last level whose p95 stayed
    within the limit (and had no error)."""
    rec = Recorder()
    steps: list[dict] = []
    served = 0
    stop_at = time.monotonic() + 10_000
    tasks: list[asyncio.Task] = []
    async with _client(max_shoppers) as client:
        level = 0
        while level < max_shoppers:
            level = first if level == 0 else level + step
            for i in range(len(tasks), level):  # newcomers start spread over the first think time
                delay = random.Random(seed + i).uniform(0, THINK_TIME_S)
                run = shopper(client, target, i, rec, stop_at, THINK_TIME_S, random.Random(seed + 1000 + i))
                tasks.append(asyncio.create_task(_delayed(delay, run)))
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

    admin_url = os.environ.get("BENCH_POSTGRES_URL", ADMIN_URL)
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


def _durability(admin_url: str) -> dict[str, str]:
    """PostgreSQL's durability settings as the server reports them (what a commit waits for)."""
    import sqlalchemy as sa

    engine = sa.create_engine(admin_url)
    with engine.connect() as conn:
        out = {
            name: str(conn.execute(sa.text(f"SHOW {name}")).scalar())
            for name in ("fsync", "synchronous_commit", "full_page_writes", "wal_level", "server_version")
        }
    engine.dispose()
    return out


def _needs() -> None:
    """What the benchmark needs beyond the Python environments: installed (nginx, as root with apt) or
    reported plainly, before anything starts."""
    problems = []
    if nginx_binary() is None:
        if os.geteuid() == 0 and shutil.which("apt-get"):
            print("nginx is missing: installing it (apt-get install nginx) ...", flush=True)
            env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
            subprocess.run(["apt-get", "update", "-qq"], env=env, check=False)
            subprocess.run(["apt-get", "install", "-y", "-qq", "nginx"], env=env, check=False)
        if nginx_binary() is None:
            problems.append("nginx (the balancer in front of several servers): apt-get install nginx")
    for service, port in (("PostgreSQL (tracker store)", 5432), ("Redis (lock store)", 6379)):
        with socket.socket() as sock:
            sock.settimeout(2)
            if sock.connect_ex(("127.0.0.1", port)) != 0:
                problems.append(f"{service} at 127.0.0.1:{port}: start the server")
    try:
        import socketio  # noqa: F401
    except ImportError:
        problems.append("python-socketio in .venv (the widget shoppers' client): make install")
    if problems:
        sys.exit("make bench-load needs:\n  " + "\n  ".join(problems))


def _staff_tokens(orders_url: str, usernames: list[str]) -> dict[str, str]:
    from order_service.core.security import DEMO_PASSWORDS

    tokens = {}
    with httpx.Client(timeout=30, trust_env=False) as http:
        for username in usernames:
            r = http.post(
                f"{orders_url}/auth/staff/token",
                json={"username": username, "password": DEMO_PASSWORDS["associate"]},
            )
            if r.status_code == 200:
                tokens[username] = r.json()["access_token"]
    return tokens


def _one_run(target: Target, usage: Usage, args: argparse.Namespace, run: int) -> dict[str, Any]:
    load_before = os.getloadavg()
    closed: dict[int, dict[str, Any]] = {}
    for level in CLOSED_LOOP:
        stats, procs = asyncio.run(_phase(target, level, args.phase_s, 0.0, usage))
        closed[level] = {**stats, "processes": procs}
        print(
            f"  run {run + 1} closed loop c{level}: {stats.get('turns_per_s')} turns/s, p50 {stats.get('p50_ms')} ms, "
            f"p95 {stats.get('p95_ms')} ms, p99 {stats.get('p99_ms')} ms, errors {stats.get('error_rate')}",
            flush=True,
        )
    served, ramp = asyncio.run(
        _ramp(target, usage, args.ramp_start, args.ramp_step, args.ramp_step_s, args.ramp_max, 10_000 * run)
    )
    return {
        "metrics": {
            "turns_per_s_c10": closed[10]["turns_per_s"],
            "turns_per_s_c50": closed[50]["turns_per_s"],
            "turns_per_s_c100": closed[100]["turns_per_s"],
            "turn_p95_ms_c50": closed[50].get("p95_ms"),
            "error_rate_c100": closed[100]["error_rate"],
            "shoppers_at_p95_500ms": served,
        },
        "closed_loop": {f"c{k}": v for k, v in closed.items()},
        "think_time_ramp": ramp,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg(),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rasa", type=int, default=2, help="Rasa servers behind nginx")
    parser.add_argument("--actions", type=int, default=2, help="action servers behind nginx")
    parser.add_argument("--runs", type=int, default=RUNS, help="runs on the same stack (median and spread)")
    parser.add_argument("--phase-s", type=float, default=30.0, help="measured seconds per closed-loop level")
    parser.add_argument("--ramp-start", type=int, default=100, help="think-time shoppers at the first step")
    parser.add_argument("--ramp-step", type=int, default=50, help="think-time shoppers added per step")
    parser.add_argument("--ramp-step-s", type=float, default=15.0, help="measured seconds per ramp step")
    parser.add_argument("--ramp-max", type=int, default=600)
    parser.add_argument("--socket-share", type=float, default=0.25, help="shoppers on socket.io (the widget)")
    parser.add_argument(
        "--quick", action="store_true", help="one short run (development; not for benchmarks/results)"
    )
    parser.add_argument(
        "--baseline",
        action="store_true",
        help="also measure the single-instance baseline (one Rasa, one action server, as `make run`) at c50",
    )
    args = parser.parse_args()
    if args.quick:
        args.runs, args.phase_s, args.ramp_start, args.ramp_step, args.ramp_step_s, args.ramp_max = (
            1,
            8,
            25,
            25,
            6,
            50,
        )
    _needs()

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

    def target_of(stack: Stack, traffic: Traffic, ledger: Ledger) -> Target:
        tokens = _staff_tokens(stack.orders_url, traffic.shop.associates)
        traffic.shop.associates = sorted(tokens)  # staff traffic only for those who signed in
        return Target(stack.rasa_url, traffic, ledger, tokens, order_patterns())

    baseline = None
    if args.baseline and (args.rasa > 1 or args.actions > 1):
        # `make run`'s deployment on the same machine in the same minutes: the scale-out's gain as a ratio.
        single = Stack(state, model, settings={"TRACKER_STORE_URL": f"sqlite:///{state / 'baseline.db'}"})
        try:
            single.start()
            shop = ShopData.load(single.env["DATABASE_URL"])
            target = target_of(single, Traffic(shop, args.socket_share), Ledger())
            stats, procs = asyncio.run(_phase(target, 50, args.phase_s, 0.0, Usage(single.processes)))
            baseline = {**stats, "processes": procs}
            print(
                f"  baseline c50: {stats.get('turns_per_s')} turns/s, p95 {stats.get('p95_ms')} ms",
                flush=True,
            )
        finally:
            single.close()

    settings: dict[str, str] = {}
    drop = None
    durability: dict[str, str] = {}
    if args.rasa > 1:
        settings["TRACKER_STORE_URL"], drop = _tracker_database()
        settings["LOCK_STORE"] = "redis"
        durability = _durability(os.environ.get("BENCH_POSTGRES_URL", ADMIN_URL))
    started = time.monotonic()
    stack = Stack(state, model, rasa=args.rasa, actions=args.actions, settings=settings)
    ledger = Ledger()
    runs: list[dict[str, Any]] = []
    try:
        stack.start()
        print(
            f"stack up in {time.monotonic() - started:.0f} s: {args.rasa} Rasa, {args.actions} action servers",
            flush=True,
        )
        traffic = Traffic(ShopData.load(stack.env["DATABASE_URL"]), args.socket_share)
        target = target_of(stack, traffic, ledger)
        usage = Usage(stack.processes)
        for run in range(args.runs):
            runs.append(_one_run(target, usage, args, run))
    finally:
        stack.close()
        if drop is not None:
            drop()
    traffic.check_sent()
    orders = ledger.check(stack.env["DATABASE_URL"])
    print(f"orders: {orders}", flush=True)

    def peak(prefix: str) -> float:
        return round(max(v for k, v in usage.peak_rss.items() if k.startswith(prefix)), 1)

    per_run = {key: [r["metrics"][key] for r in runs] for key in runs[0]["metrics"]}
    metrics = {
        **{key: statistics.median(values) for key, values in per_run.items()},
        "rasa_rss_mb": peak("rasa"),
        "actions_rss_mb": peak("actions"),
        "orders_confirmed": orders["orders_confirmed"],
        "orders_lost": orders["orders_lost"],
        "orders_duplicated": orders["orders_duplicated"],
        "distinct_messages": len(traffic.sent),
    }
    details = {
        "deployment": {
            "rasa_servers": args.rasa,
            "action_servers": args.actions,
            "order_services": 1,
            "balancer": "nginx" if stack.balancer else None,
            "tracker_store": "postgresql" if args.rasa > 1 else "sqlite",
            "order_database": stack.env["DATABASE_URL"].split(":", 1)[0],
            "lock_store": settings.get("LOCK_STORE", "in_memory"),
            "model": model.name,
        },
        "postgresql_durability": durability,
        "traffic": {
            "channels": {
                "socketio_share": args.socket_share,
                "staff_share": target.traffic.staff_share if target.staff_tokens else 0.0,
            },
            "staff_sign_ins": len(target.staff_tokens),
            "pickup_stores": len(traffic.shop.stores),
            "distinct_messages_note": "normalised as the NLU overlap test does; none is an NLU training line",
        },
        "runs": len(runs),
        "metrics_are": "the median of the runs; spread: each metric's value in every run",
        "spread": {key: {"min": min(v), "max": max(v), "runs": v} for key, v in per_run.items()},
        "per_run": runs,
        "orders": orders,
        "baseline_single_instance_c50": baseline,
        "think_time": {"think_time_s": THINK_TIME_S, "p95_limit_ms": P95_LIMIT_MS},
        "peak_rss_mb": {k: round(v, 1) for k, v in usage.peak_rss.items()},
        "rss_note": "rasa_rss_mb / actions_rss_mb: the largest single process of its kind",
        "load_average_end": os.getloadavg(),
        "cpus": os.cpu_count(),
        "quick": args.quick,
    }
    if args.quick:
        print(metrics)
        return  # a development run: benchmarks/results/load.json keeps the last full one
    write_result("load", metrics, details)


if __name__ == "__main__":
    main()
