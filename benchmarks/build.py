"""PC build planner benchmark (`make bench-build`): every build of a fixed grid checked by code
independent of the planner, scored against a greedy baseline computed in the same run, and timed.

Grid: budgets $500–$3000 in $250 steps × every purpose × (no fixed part, one fixed part), plus 20
upgrades of PCs assembled here from the catalogue. The fixed part of a grid cell is the in-stock
part priced nearest its role's share of the budget (data/build/profiles.yaml `split`) without
exceeding it, the role rotating over the roles the purpose gives a share, and only when the greedy
baseline's build (or its cheapest-compatible-first variant) with it is valid and within budget, so
every request of the grid has an answer (see fixed_part). Catalogue: the knowledge graph's products
(the order database's prices); stock: the online warehouse in the order database.

Metrics:
- valid_rate: share of the requests answered with a build that passes `validate` — every part of
  the right type in its role; no role missing (a graphics card unless the purpose allows the CPU's
  graphics and the CPU has some; a cooler when the CPU's TDP is above the profile's threshold or the
  purpose is quiet); every pair rule of catalog/part_rules.py (socket, memory generation and
  limits, form factor, cooler socket where the data says) not failing; the power supply at least
  compat.recommended_psu for the whole build; every bought part in stock; the fixed / owned parts
  present and the owned ones not bought. A request the planner answers with NoBuild counts invalid.
- within_budget_rate: share of the requests whose bought parts, priced from the catalogue, sum to
  at most the budget (NoBuild counts as not within).
- score_vs_greedy: mean purpose score (build_planner.scoring.build_score) of the planner's builds
  over the mean of the greedy baseline's, on the full-build grid (for a one-part upgrade greedy is
  already the best part that fits).
- p95_ms: wall-clock time of one `Planner.plan` call in process, caches warm; details add CPU time
  and the load average. The machine is shared, so a speed change is judged against a baseline
  timed in the same run: BUILD_BASELINE_FILE=<a planner.py> (e.g. `git show <ref>:build_planner/
  planner.py`) loads that planner too, and every request is timed on both, alternately, under the
  same load (details.baseline: its wall and CPU percentiles, the CPU ratio, and how many requests
  got the same parts from both).

Greedy baseline (the usual "spend each part's share" method): roles in the order CPU, motherboard,
memory, graphics card, storage, power supply, case, cooler; each gets its share of the budget plus
whatever the roles before it left unspent, and takes the highest-scoring in-stock part that fits its
allowance and is compatible (compat.check, and for the power supply the whole build's
recommendation) with the parts already chosen, among the parts the purpose admits (small form
factor: its case types and the boards they take); when none fits the allowance, the cheapest
compatible one. Graphics are skipped when the purpose allows the CPU's own and the CPU has them;
a cooler is bought only when needed. The carry-over makes it a strong baseline; details also give
the ratio against the plainer "share only" variant (unspent money stays unspent) and per budget band.
"""

from __future__ import annotations

import os
import random
import time
from collections.abc import Mapping

from benchmarks.common import summarise_ms, write_result

BUDGETS = list(range(500, 3001, 250))
GREEDY_ORDER = ("cpu", "motherboard", "memory", "video-card", "storage", "power-supply", "case", "cpu-cooler")
UPGRADES = 20
SEED = 20261203


# --- independent checks ------------------------------------------------------------------------------


def validate(
    parts: Mapping[str, object],
    owned: set[str],
    fixed: set[str],
    purpose_key: str,
    sellable: frozenset[str],
    upgrade_role: str | None = None,
) -> list[str]:
    """Every rule a build must meet, from the catalogue records and catalog/part_rules.py only
    (not from the planner's filters). Returns the broken rules (empty: valid)."""
    from build_planner.scoring import part_type_of, profiles
    from catalog import part_rules as compat

    problems = []
    spec = profiles()["purposes"][purpose_key]
    for role, p in parts.items():
        if p.part_type != part_type_of(role):
            problems.append(f"{role} is a {p.part_type}")
    if upgrade_role is None:
        for role in ("cpu", "motherboard", "memory", "storage", "power-supply", "case"):
            if role not in parts:
                problems.append(f"no {role}")
        cpu = parts.get("cpu")
        if "video-card" not in parts and not (
            spec.get("integrated_graphics_ok")
            and cpu is not None
            and cpu.attributes.get("integrated_graphics")
        ):
            problems.append("no graphics")
        if (
            cpu is not None
            and "cpu-cooler" not in parts
            and (
                spec.get("cooler") == "always"
                or float(cpu.attributes.get("tdp", 105)) > profiles()["cooler_needed_above_tdp_w"]
            )
        ):
            problems.append("no cooler")
    elif upgrade_role not in parts:
        problems.append(f"no {upgrade_role}")
    case = parts.get("case")
    if (
        case is not None
        and spec.get("case_types")
        and case.attributes.get("case_type") not in spec["case_types"]
    ):
        problems.append(f"{case.attributes.get('case_type')} is not a {spec['en']} case")
    products = list(parts.values())
    for i, a in enumerate(products):
        for b in products[i + 1 :]:
            if "power-supply" not in (a.part_type, b.part_type) and compat.check(a, b).compatible is False:
                problems.append(f"{a.sku} vs {b.sku}: " + compat.check(a, b).text("en"))
    psu = parts.get("power-supply")
    if psu is not None:
        cpu_w, gpu_w = compat.estimated_draw(products)
        if float(psu.attributes.get("wattage") or 0) < compat.recommended_psu(cpu_w, gpu_w):
            problems.append(
                f"power supply {psu.attributes.get('wattage')} W < {compat.recommended_psu(cpu_w, gpu_w)} W"
            )
    skus = {p.sku for p in products}
    problems += [f"{s} not in stock" for s in skus - owned if s not in sellable]
    problems += [f"fixed {s} missing" for s in fixed - skus]
    problems += [f"owned {s} missing" for s in owned - skus]
    return problems


def bought_total(parts: Mapping[str, object], owned: set[str]) -> float:
    return round(sum(p.price for p in parts.values() if p.sku not in owned), 2)


# --- greedy baseline ---------------------------------------------------------------------------------


def admitted(part, p) -> bool:
    """Whether a purpose admits a part at all: a small form factor build takes only its case
    types, and only boards one of them takes."""
    from catalog import part_rules as compat

    if p.case_types and part.part_type == "case":
        return part.attributes.get("case_type") in p.case_types
    if p.case_types and part.part_type == "motherboard":
        return part.attributes.get("form_factor") in {
            ff for ct in p.case_types for ff in compat.case_form_factors(ct)
        }
    return True


def greedy(
    by_role: Mapping[str, list],
    sellable: frozenset[str],
    budget: float,
    purpose_key: str,
    fixed: Mapping[str, object] | None = None,
    carry_over: bool = True,
) -> dict[str, object]:
    """The documented greedy baseline (module docstring); without `carry_over` a role gets only its
    own share (what a role leaves unspent is not spent)."""
    from build_planner.scoring import part_score, profiles, purpose
    from catalog import part_rules as compat

    p = purpose(purpose_key)
    chosen: dict[str, object] = dict(fixed or {})
    carry = budget - sum(x.price for x in chosen.values())
    carry -= sum(
        p.split.get(r, 0.0) * budget for r in GREEDY_ORDER if r not in chosen
    )  # shares handed out below

    def fits(part) -> bool:
        if any(compat.check(part, other).compatible is False for other in chosen.values()):
            return False
        if part.part_type == "power-supply":
            cpu_w, gpu_w = compat.estimated_draw(list(chosen.values()))
            return float(part.attributes.get("wattage") or 0) >= compat.recommended_psu(cpu_w, gpu_w)
        return True

    for role in GREEDY_ORDER:
        if role in chosen:
            continue
        allowance = p.split.get(role, 0.0) * budget + carry
        cpu = chosen.get("cpu")
        if (
            role == "video-card"
            and p.integrated_graphics_ok
            and cpu is not None
            and cpu.attributes.get("integrated_graphics")
        ):
            carry = allowance if carry_over else min(0.0, allowance)
            continue
        if role == "cpu-cooler" and not (
            cpu is not None
            and (
                p.cooler_always
                or float(cpu.attributes.get("tdp", 105)) > profiles()["cooler_needed_above_tdp_w"]
            )
        ):
            carry = allowance if carry_over else min(0.0, allowance)
            continue
        options = [x for x in by_role.get(role, []) if x.sku in sellable and admitted(x, p) and fits(x)]
        if not options:
            continue
        affordable = [x for x in options if x.price <= allowance]
        pick = (
            max(affordable, key=lambda x: (part_score(x, role, p), -x.price))
            if affordable
            else min(options, key=lambda x: x.price)
        )
        chosen[role] = pick
        carry = allowance - pick.price if carry_over else min(0.0, allowance - pick.price)
    return chosen


# --- the grid ----------------------------------------------------------------------------------------


def fixed_part(
    by_role: Mapping[str, list], sellable: frozenset[str], budget: float, purpose_key: str, index: int
):
    """The in-stock part priced nearest its role's share of the budget without exceeding it, among
    the parts the purpose admits (a small form factor build fixes a Mini ITX case or board); the
    role rotates with `index`. A part is used only when a valid build with it exists within the
    budget, witnessed by the greedy baseline's build or by the same greedy with no budget (every
    role then takes the cheapest compatible part); otherwise the next cheaper part (up to 10), then
    the next role is tried."""
    from build_planner.scoring import purpose

    p = purpose(purpose_key)
    shares = [(r, s) for r, s in p.split.items() if s > 0 and r in by_role]
    for step in range(len(shares)):
        role, share = shares[(index + step) % len(shares)]
        stocked = [
            x for x in by_role[role] if x.sku in sellable and x.price <= share * budget and admitted(x, p)
        ]
        if not stocked:
            continue
        for part in sorted(stocked, key=lambda x: (share * budget - x.price, x.sku))[:10]:
            for allowance in (budget, 0.0):  # greedy, then cheapest-compatible-first
                witness = greedy(by_role, sellable, allowance, purpose_key, {role: part})
                if (
                    not validate(witness, set(), {part.sku}, purpose_key, sellable)
                    and bought_total(witness, set()) <= budget
                ):
                    return role, part
    raise ValueError(f"no feasible fixed part for {purpose_key} at ${budget}")


def upgrade_cases(by_role: Mapping[str, list], sellable: frozenset[str], n: int = UPGRADES) -> list[dict]:
    """PCs assembled from the catalogue with compat.check (seeded): CPU, a board that fits it,
    memory that fits the board, a power supply of 450–850 W, a case for the board; the upgrade
    buys a graphics card (most cases), a CPU or memory, for $150–$700."""
    from catalog import part_rules as compat

    rng = random.Random(SEED)
    modern = {"AM4", "AM5", "LGA1200", "LGA1700", "LGA1851"}
    cpus = [c for c in by_role["cpu"] if c.attributes.get("socket") in modern]
    cases = []
    while len(cases) < n:
        cpu = rng.choice(cpus)
        boards = [b for b in by_role["motherboard"] if compat.check(cpu, b).compatible]
        if not boards:
            continue
        board = rng.choice(boards)
        rams = [m for m in by_role["memory"] if compat.check(board, m).compatible]
        boxes = [c for c in by_role["case"] if compat.check(board, c).compatible]
        psus = [s for s in by_role["power-supply"] if 450 <= (s.attributes.get("wattage") or 0) <= 850]
        if not rams or not boxes:
            continue
        have = [cpu, board, rng.choice(rams), rng.choice(psus), rng.choice(boxes)]
        role = ("video-card", "video-card", "video-card", "cpu", "memory")[len(cases) % 5]
        if role != "video-card":
            have = [h for h in have if h.part_type != role]
        cases.append({"have": have, "role": role, "budget": rng.choice(range(150, 701, 50))})
    return cases


def baseline_planner(path: str, products, stock):
    """A Planner from another planner.py (the same package around it), for a same-run comparison."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("build_planner._baseline_planner", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Planner(products, stock)


def _timed(planner, req):
    """(build or the NoBuild, wall seconds, CPU seconds) of one plan call."""
    from build_planner import NoBuild

    time.sleep(0.01)
    t, c = time.perf_counter(), time.process_time()
    try:
        built = planner.plan(req)
    except NoBuild as error:
        built = error
    return built, time.perf_counter() - t, time.process_time() - c


def _ratio(rows: list[dict]) -> float | None:
    if not rows:
        return None
    return round(sum(r["score"] for r in rows) / sum(r["greedy_score"] for r in rows), 4)


def main() -> None:
    from build_planner import Constraints, NoBuild, Planner
    from build_planner.planner import request
    from build_planner.scoring import build_score, purpose, purposes
    from build_planner.stock import sellable_skus
    from knowledge_graph.store import load_graph

    graph = load_graph()
    sellable = sellable_skus(0)
    planner = Planner(graph.products.values(), lambda _loc: sellable)
    by_role = planner.by_role

    requests = []  # (kind, request, fixed part or None, upgrade case or None)
    for purpose_key in purposes():
        for i, budget in enumerate(BUDGETS):
            requests.append(("full", request(budget, purpose_key), None, None))
            role, part = fixed_part(by_role, sellable, budget, purpose_key, i)
            requests.append(
                ("fixed", request(budget, purpose_key, Constraints(fixed=(part.sku,))), (role, part), None)
            )
    for case in upgrade_cases(by_role, sellable):
        requests.append(
            (
                "upgrade",
                request(
                    case["budget"],
                    "gaming",
                    Constraints(have=tuple(h.sku for h in case["have"])),
                    upgrade_role=case["role"],
                ),
                None,
                case,
            )
        )

    baseline_file = os.environ.get("BUILD_BASELINE_FILE")
    reference = (
        baseline_planner(baseline_file, graph.products.values(), lambda _loc: sellable)
        if baseline_file
        else None
    )
    for _, req, _, _ in requests[::7]:  # warm the caches (candidate pools, compatibility verdicts)
        for p in (planner, reference):
            if p is not None:
                _timed(p, req)

    load_before = os.getloadavg()[0]
    rows, wall, cpu, base_wall, base_cpu, same = [], [], [], [], [], 0
    for i, (kind, req, fixed, _case) in enumerate(requests):
        if reference is not None and i % 2:  # alternate which one runs first
            other, w, c = _timed(reference, req)
            base_wall.append(w), base_cpu.append(c)
        built, w, c = _timed(planner, req)
        wall.append(w), cpu.append(c)
        if reference is not None and not i % 2:
            other, w, c = _timed(reference, req)
            base_wall.append(w), base_cpu.append(c)
        if reference is not None:
            same += isinstance(built, Exception) == isinstance(other, Exception) and (
                isinstance(built, Exception) or set(built.bought) == set(other.bought)
            )
        if isinstance(built, NoBuild):
            built, failure = None, built.en
        owned = set(req.constraints.have)
        row = {
            "kind": kind,
            "purpose": req.purpose,
            "budget": req.budget_usd,
            "upgrade_role": req.upgrade_role,
            "ms": round(wall[-1] * 1000, 1),
        }
        if built is None:
            row.update(valid=False, within_budget=False, problems=[f"NoBuild: {failure}"])
            rows.append(row)
            continue
        parts = built.products()
        problems = validate(parts, owned, set(req.constraints.fixed), req.purpose, sellable, req.upgrade_role)
        total = bought_total(parts, owned)
        row.update(
            valid=not problems,
            within_budget=total <= req.budget_usd + 1e-6,
            total=total,
            score=round(build_score(parts, purpose(req.purpose)), 3),
            optimal=built.optimal,
            skus=[p.sku for p in parts.values()],
            problems=problems,
        )
        if kind != "upgrade":
            base = {fixed[0]: fixed[1]} if fixed else None
            baseline = greedy(by_role, sellable, req.budget_usd, req.purpose, base)
            row["greedy_score"] = round(build_score(baseline, purpose(req.purpose)), 3)
            row["greedy_total"] = bought_total(baseline, set())
            row["greedy_valid"] = not validate(
                baseline, set(), set(req.constraints.fixed), req.purpose, sellable
            )
            share_only = greedy(by_role, sellable, req.budget_usd, req.purpose, base, carry_over=False)
            row["share_only_score"] = round(build_score(share_only, purpose(req.purpose)), 3)
        rows.append(row)

    full = [r for r in rows if r["kind"] != "upgrade" and "greedy_score" in r]
    planner_mean = sum(r["score"] for r in full) / len(full)
    greedy_mean = sum(r["greedy_score"] for r in full) / len(full)
    timing = summarise_ms(wall)
    metrics = {
        "valid_rate": round(sum(r["valid"] for r in rows) / len(rows), 4),
        "within_budget_rate": round(sum(r["within_budget"] for r in rows) / len(rows), 4),
        "score_vs_greedy": round(planner_mean / greedy_mean, 4),
        "p95_ms": timing["p95_ms"],
        "p95_cpu_ms": summarise_ms(cpu)["p95_ms"],
        "optimal_rate": round(sum(bool(r.get("optimal")) for r in rows) / len(rows), 4),
    }
    details = {
        "requests": len(rows),
        "full_builds": len(full),
        "upgrades": sum(r["kind"] == "upgrade" for r in rows),
        "mean_score": round(planner_mean, 3),
        "mean_greedy_score": round(greedy_mean, 3),
        "score_vs_share_only_greedy": round(
            planner_mean / (sum(r["share_only_score"] for r in full) / len(full)), 4
        ),
        "score_vs_greedy_by_budget": {
            f"${lo}-{lo + 750}": _ratio([r for r in full if lo <= r["budget"] < lo + 750])
            for lo in (500, 1250, 2000)
        }
        | {"$2750-3000": _ratio([r for r in full if r["budget"] >= 2750])},
        "score_vs_greedy_fixed_part": _ratio([r for r in full if r["kind"] == "fixed"]),
        "greedy_valid_rate": round(sum(r["greedy_valid"] for r in full) / len(full), 4),
        "greedy_within_budget_rate": round(
            sum(r["greedy_total"] <= r["budget"] for r in full) / len(full), 4
        ),
        "latency": timing,
        "latency_cpu": summarise_ms(cpu),
        "load_average_1min": {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)},
        "baseline": None
        if reference is None
        else {
            "file": baseline_file,
            "latency": summarise_ms(base_wall),
            "latency_cpu": summarise_ms(base_cpu),
            "cpu_p95_ratio": round(summarise_ms(cpu)["p95_ms"] / summarise_ms(base_cpu)["p95_ms"], 3),
            "cpu_mean_ratio": round(sum(cpu) / sum(base_cpu), 3),
            "same_builds": f"{same}/{len(requests)}",
        },
        "catalogue": {role: len(parts) for role, parts in by_role.items()},
        "in_stock_online": len(sellable),
        "note": "2 cores shared with other engineers' jobs: p95_ms is wall clock; p95_cpu_ms the planner's own CPU time.",
        "targets": {"valid_rate": 1.0, "within_budget_rate": 1.0, "score_vs_greedy": 1.10, "p95_ms": 200},
        "failures": [r for r in rows if not r["valid"] or not r["within_budget"]],
        "rows": rows,
    }
    write_result("build", metrics, details)


if __name__ == "__main__":
    main()
