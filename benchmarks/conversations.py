"""Conversation benchmark: the share of real-shopper and store-staff conversations (tests/conversations)
that succeed end to end against the live stack (tests/conversations/stack.py: the Procfile's processes
on free ports, a copy of the order database, a fresh tracker store).

success_en / success_zh: shopper conversations by the language of their first turn (a `mixed`
conversation counts toward it); success_staff: staff-channel conversations; success_all: all of them.
A conversation succeeds when every turn passes every check (tests/conversations/README.md).
Details: counts, a per-flow breakdown, and each failing conversation with its failing turn, the reasons
and the bot's reply; known_failures.yml is not consulted (the figure is what shoppers get today).
CONVERSATIONS_FILTER=<substring,…> runs only the conversations whose id or file contains one of them.

The held-out set (tests/conversations/heldout, written once and never tuned on) gives
success_en_heldout / success_zh_heldout / success_staff_heldout, and heldout_scored: how many times it
has been scored, each scoring a row of its SCORING_LOG.md (date, commit). CONVERSATIONS_SET=main or
heldout scores one set; the default scores both. Its details are counts and per-flow rates only: which
conversations fail, and how, is not reported, so that nobody fixes the assistant against them.
"""

from __future__ import annotations

import os
import sys
import time
from collections import defaultdict
from typing import Any

from benchmarks.common import write_result
from tests.conversations.runner import (
    FOLDER,
    HELDOUT,
    ConversationResult,
    heldout_scored,
    load_conversations,
    load_known_failures,
    log_heldout_scoring,
    run_suite,
    write_known_failures,
)

SETS = ("main", "heldout")


def rate(results: list[ConversationResult]) -> float | None:
    return round(sum(r.passed for r in results) / len(results), 4) if results else None


def summarise(results: list[ConversationResult]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metrics, details) of one run."""
    shopper = [r for r in results if r.channel == "shopper"]
    groups = {
        "en": [r for r in shopper if r.language == "en"],
        "zh": [r for r in shopper if r.language == "zh"],
        "staff": [r for r in results if r.channel == "staff"],
        "all": results,
    }
    metrics = {f"success_{k}": rate(v) for k, v in groups.items()}
    flows: dict[str, list[ConversationResult]] = defaultdict(list)
    for r in results:
        flows[r.flow].append(r)
    known = load_known_failures()
    failing = [
        {
            "id": r.id,
            "file": r.source,
            "flow": r.flow,
            "channel": r.channel,
            "lang": r.lang,
            "failed_turn": r.failed_turn,
            "user": r.failed_user,
            "reasons": r.reasons,
            "reply": r.reply,
            "known_failure": known.get(r.id),
        }
        for r in results
        if not r.passed
    ]
    details = {
        "counts": {
            k: {"conversations": len(v), "passed": sum(r.passed for r in v)} for k, v in groups.items()
        },
        "turns": sum(len(r.turns) for r in results),
        "per_flow": {
            f: {"conversations": len(v), "passed": sum(r.passed for r in v), "success": rate(v)}
            for f, v in sorted(flows.items())
        },
        "failing": failing,
        "fixed_but_listed_as_known": sorted(r.id for r in results if r.passed and r.id in known),
    }
    return metrics, details


def summarise_heldout(results: list[ConversationResult]) -> tuple[dict[str, Any], dict[str, Any]]:
    """(metrics, details) of a held-out run: the rates and counts, without the failing conversations."""
    metrics, details = summarise(results)
    return (
        {f"success_{k}_heldout": metrics[f"success_{k}"] for k in ("en", "zh", "staff", "all")},
        {"counts": details["counts"], "turns": details["turns"], "per_flow": details["per_flow"]},
    )


def main() -> None:
    chosen = os.environ.get("CONVERSATIONS_SET", "both").strip() or "both"
    if chosen not in (*SETS, "both"):
        raise SystemExit(f"CONVERSATIONS_SET must be one of {SETS} or both, got {chosen!r}")
    wanted = [w for w in os.environ.get("CONVERSATIONS_FILTER", "").split(",") if w.strip()]
    folders = {"main": FOLDER, "heldout": HELDOUT}
    sets = {name: load_conversations(folders[name]) for name in SETS if chosen in (name, "both")}
    if wanted:
        sets = {k: [c for c in v if any(w in c.id or w in c.source for w in wanted)] for k, v in sets.items()}
    if not any(sets.values()):
        raise SystemExit("no conversations to run")
    started = time.perf_counter()
    metrics: dict[str, Any] = {}
    details: dict[str, Any] = {}
    from tests.conversations.stack import live_stack

    with live_stack() as stack:  # one stack for both sets
        if sets.get("main"):
            main_results = run_suite(sets["main"], stack)
            metrics, details = summarise(main_results)
            if os.environ.get("CONVERSATIONS_WRITE_KNOWN", "") not in ("", "0", "false") and not wanted:
                write_known_failures(main_results)  # the same run refreshes known_failures.yml
        if sets.get("heldout"):
            results = run_suite(sets["heldout"], stack, progress=False)
            held_metrics, held_details = summarise_heldout(results)
            log_heldout_scoring(
                results, "bench-conversations" + (f" filter {','.join(wanted)}" if wanted else "")
            )
            metrics.update(held_metrics)
            details["heldout"] = held_details
    metrics["heldout_scored"] = heldout_scored()
    details.update(
        {
            "seconds": round(time.perf_counter() - started, 1),
            "load_average_1m": round(os.getloadavg()[0], 2),
            "filter": wanted or None,
            "sets": sorted(sets),
            "note": "each conversation under a fresh sender id (staff: /restart first), sequentially, "
            "against a private stack; checks resolved from data/shop, the domain and the order service",
        }
    )
    write_result("conversations", metrics, details)
    for f in details.get("failing", [])[:20]:
        print(f"  FAIL {f['id']} turn {f['failed_turn']}: {f['user']!r}: {'; '.join(f['reasons'])}")


if __name__ == "__main__":
    sys.exit(main())
