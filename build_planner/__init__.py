"""PC build planner: a complete, compatible build for a budget and a purpose, refinements of it,
and upgrades of a PC the shopper has. See docs/build.md.

    from build_planner import plan, refine, diff, upgrade, Constraints, Change
    build = plan(1500, "gaming", Constraints(brands={"cpu": "AMD"}))
    cheaper = refine(build, Change("cheaper"))
    print(diff(build, cheaper).text("en"))
"""

from __future__ import annotations

import threading

from build_planner.model import (
    Build,
    BuildDiff,
    BuildPart,
    Change,
    Constraints,
    Conversion,
    NoBuild,
    PartChange,
    Request,
)
from build_planner.planner import Planner, diff, request
from build_planner.scoring import ROLES, build_score, purposes

__all__ = [
    "Build",
    "BuildDiff",
    "BuildPart",
    "Change",
    "Constraints",
    "Conversion",
    "NoBuild",
    "PartChange",
    "Planner",
    "ROLES",
    "Request",
    "build_score",
    "diff",
    "get_planner",
    "plan",
    "purposes",
    "refine",
    "request",
    "upgrade",
]

_lock = threading.Lock()
_planner: tuple[str, Planner] | None = None


def get_planner() -> Planner:
    """The process-wide planner over the knowledge graph's catalogue and the order database's stock
    (read again every 30 s); rebuilt when the graph is (a catalogue or price change)."""
    global _planner
    from knowledge_graph.store import get_graph

    graph = get_graph()
    if _planner is None or _planner[0] != graph.fingerprint:
        with _lock:
            if _planner is None or _planner[0] != graph.fingerprint:
                from build_planner.stock import sellable_skus

                _planner = (graph.fingerprint, Planner(graph.products.values(), sellable_skus))
    return _planner[1]


def plan(
    budget: float,
    purpose: str,
    constraints: Constraints | None = None,
    currency: str = "USD",
    planner: Planner | None = None,
) -> Build:
    """The best valid build for a budget (USD, or CNY converted at the configured rate) and purpose."""
    return (planner or get_planner()).plan(request(budget, purpose, constraints, currency))


def refine(previous: Build, change: Change, planner: Planner | None = None) -> Build:
    return (planner or get_planner()).refine(previous, change)


def upgrade(
    have: list[str],
    role: str,
    budget: float,
    purpose: str = "gaming",
    currency: str = "USD",
    constraints: Constraints | None = None,
    planner: Planner | None = None,
) -> Build:
    """The best `role` part (a graphics card by default in conversation) for a budget that fits the
    parts the shopper has: their power supply's capacity, their board's socket and memory, …"""
    from dataclasses import replace

    base = replace(constraints or Constraints(), have=tuple(have))
    return (planner or get_planner()).plan(request(budget, purpose, base, currency, upgrade_role=role))
