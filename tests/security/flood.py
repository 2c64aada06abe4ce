"""A flood while other shoppers chat (issue 16), measured from outside over real HTTP; shared by
tests/security/test_flood.py and `make bench-security` (benchmarks/security.py).

Shoppers, each with an address of its own (198.51.100.x, sent as X-Forwarded-For to a Rasa server told
to trust one proxy, ``SANIC_PROXIES_COUNT=1``, as one behind the balancer is), chat at a human pace:
first alone (the baseline), then again while
* one sender floods from one address (203.0.113.66), and
* one address floods under a new sender id every time (203.0.113.77),
each at ``flood_per_s`` messages a second. The result: the shoppers' p95 latency in both phases (their
ratio is `flood_p95_ratio`), every shopper's message answered, and every message the channel accepted
from the flooders (HTTP 200) found in the tracker store afterwards (nothing accepted is lost).
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import statistics
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

FLOOD_SETTINGS = {"SANIC_PROXIES_COUNT": "1"}  # the channels read the client's address from X-Forwarded-For

# What shoppers ask while the flood goes on: searches, stock, the FAQ, in both languages.
SHOPPER_LINES = [
    "hi there",
    "I'm looking for a graphics card for gaming",
    "anything cheaper than that?",
    "do you have a 1TB NVMe drive",
    "how long does delivery take",
    "can I return something I opened?",
    "有没有便宜一点的机械键盘",
    "你们的退货政策是什么",
    "a 27 inch monitor please",
    "which stores are in Minneapolis",
]


@dataclass
class Phase:
    latencies_ms: list[float] = field(default_factory=list)
    unanswered: list[str] = field(default_factory=list)  # a shopper's message without a 200 and a reply

    def p95(self) -> float:
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else float("nan")

    def summary(self) -> dict[str, Any]:
        return {
            "turns": len(self.latencies_ms),
            "p50_ms": round(statistics.median(self.latencies_ms), 1) if self.latencies_ms else None,
            "p95_ms": round(self.p95(), 1),
            "unanswered": len(self.unanswered),
            "unanswered_examples": self.unanswered[:5],
        }


@dataclass
class Flooder:
    address: str
    fixed_sender: str | None  # None: a new sender id for every message
    accepted: dict[str, int] = field(default_factory=dict)  # sender -> messages answered 200
    statuses: dict[int, int] = field(default_factory=dict)
    refusal_example: str = ""

    def sender(self) -> str:
        return self.fixed_sender or f"flood-{uuid.uuid4().hex[:12]}"


def _headers(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


async def _shopper(
    client: httpx.AsyncClient, url: str, index: int, until: float, think_s: float, phase: Phase
) -> None:
    sender = f"shopper-{index}-{uuid.uuid4().hex[:8]}"
    lines = itertools.cycle(
        SHOPPER_LINES[index % len(SHOPPER_LINES) :] + SHOPPER_LINES[: index % len(SHOPPER_LINES)]
    )
    await asyncio.sleep(think_s * index / 16)  # spread the first messages
    while time.monotonic() < until:
        text = next(lines)
        started = time.perf_counter()
        try:
            reply = await client.post(
                url, json={"sender": sender, "message": text}, headers=_headers(f"198.51.100.{index + 1}")
            )
            outcome: object = reply.status_code
            answered = reply.status_code == 200 and bool(reply.json())
        except httpx.HTTPError as exc:
            outcome, answered = exc, False
        if answered:
            phase.latencies_ms.append((time.perf_counter() - started) * 1000)
        else:
            phase.unanswered.append(f"{sender}: {text!r} -> {outcome}")
        await asyncio.sleep(think_s)


async def _flood(client: httpx.AsyncClient, url: str, flooder: Flooder, until: float, per_s: float) -> None:
    pending: set[asyncio.Task] = set()

    async def one() -> None:
        sender = flooder.sender()
        try:
            reply = await client.post(
                url, json={"sender": sender, "message": "buy buy buy"}, headers=_headers(flooder.address)
            )
        except httpx.HTTPError:
            flooder.statuses[0] = flooder.statuses.get(0, 0) + 1
            return
        flooder.statuses[reply.status_code] = flooder.statuses.get(reply.status_code, 0) + 1
        if reply.status_code == 200:
            flooder.accepted[sender] = flooder.accepted.get(sender, 0) + 1
        elif reply.status_code == 429 and not flooder.refusal_example:
            flooder.refusal_example = reply.text[:300]

    while time.monotonic() < until:
        task = asyncio.ensure_future(one())
        pending.add(task)
        task.add_done_callback(pending.discard)
        await asyncio.sleep(1 / per_s)
    if pending:
        await asyncio.wait(pending)


async def _phase(
    url: str, shoppers: int, seconds: float, think_s: float, flooders: list[Flooder], per_s: float
) -> Phase:
    phase = Phase()
    limits = httpx.Limits(max_connections=shoppers + 64)
    async with httpx.AsyncClient(timeout=120, trust_env=False, limits=limits) as client:
        until = time.monotonic() + seconds
        await asyncio.gather(
            *(_shopper(client, url, i, until, think_s, phase) for i in range(shoppers)),
            *(_flood(client, url, f, until, per_s) for f in flooders),
        )
    return phase


def stored_user_messages(tracker_db: Path, senders: list[str]) -> dict[str, int]:
    """User messages per sender in the SQLite tracker store (Rasa's ``events`` table)."""
    with sqlite3.connect(f"file:{tracker_db}?mode=ro", uri=True) as db:
        return {
            sender: db.execute(
                "SELECT count(*) FROM events WHERE sender_id = ? AND type_name = 'user'", (sender,)
            ).fetchone()[0]
            for sender in senders
        }


def run_flood(
    rasa_url: str,
    tracker_db: Path,
    *,
    shoppers: int = 10,
    seconds: float = 45,
    think_s: float = 3.0,
    flood_per_s: float = 25,
) -> dict[str, Any]:
    """The baseline, then the flood; the measures and what was lost."""
    url = f"{rasa_url}/webhooks/rest/webhook"
    baseline = asyncio.run(_phase(url, shoppers, seconds, think_s, [], flood_per_s))
    flooders = [Flooder("203.0.113.66", f"flooder-{uuid.uuid4().hex[:8]}"), Flooder("203.0.113.77", None)]
    flooded = asyncio.run(_phase(url, shoppers, seconds, think_s, flooders, flood_per_s))
    time.sleep(1)  # the last accepted turns are committed
    accepted = {s: n for f in flooders for s, n in f.accepted.items()}
    stored = stored_user_messages(tracker_db, list(accepted))
    lost = {s: n - stored.get(s, 0) for s, n in accepted.items() if stored.get(s, 0) < n}
    return {
        "flood_p95_ratio": round(flooded.p95() / baseline.p95(), 3),
        "baseline": baseline.summary(),
        "flooded": flooded.summary(),
        "flooders": [
            {
                "address": f.address,
                "sender": f.fixed_sender or "a new one per message",
                "per_s": flood_per_s,
                "statuses": {str(k): v for k, v in sorted(f.statuses.items())},
                "accepted": sum(f.accepted.values()),
                "refusal_example": f.refusal_example,
            }
            for f in flooders
        ],
        "accepted_lost": sum(lost.values()),
        "lost_examples": dict(list(lost.items())[:5]),
        "shoppers": shoppers,
        "seconds_per_phase": seconds,
        "think_s": think_s,
    }
