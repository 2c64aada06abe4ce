"""The planner on the hand-made catalogue: every build valid (checked by the benchmark's validator,
which reads only the catalogue records and catalog/part_rules.py), within budget, the best one
an exhaustive search finds, and constraints, refinements, diffs and upgrades honoured."""

from __future__ import annotations

import itertools

import pytest

from benchmarks.build import validate
from build_planner import Change, Constraints, NoBuild, diff
from build_planner.planner import SCORE_SCALE, request
from build_planner.scoring import ROLES, build_score, part_score, purpose, purposes
from catalog import part_rules as compat
from tests.build_planner.conftest import STORE, catalogue, stock

ONLINE = stock(0)


def _bought_total(build) -> float:
    return round(sum(p.product.price for p in build.parts if p.product is not None and not p.owned), 2)


def _check(build, budget: float, location: int = 0) -> None:
    owned = set(build.request.constraints.have)
    problems = validate(
        build.products(),
        owned,
        set(build.request.constraints.fixed),
        build.request.purpose,
        stock(location),
        build.request.upgrade_role,
    )
    assert problems == []
    assert _bought_total(build) == pytest.approx(build.total)
    assert build.total <= budget


def _exhaustive_best(purpose_key: str, budget: float) -> float:
    """The best objective (docs/build.md: score − price / SCORE_SCALE) over every valid in-stock
    build within budget (pairs pruned by compat.check first)."""
    by_type = {}
    for p in catalogue():
        if p.sku in ONLINE:
            by_type.setdefault(p.part_type, []).append(p)
    goal = purpose(purpose_key)
    best = -1.0
    fits = lambda a, b: compat.check(a, b).compatible is not False  # noqa: E731
    for cpu, board in itertools.product(by_type["cpu"], by_type["motherboard"]):
        if not fits(cpu, board):
            continue
        for ram, case in itertools.product(by_type["memory"], by_type["case"]):
            if not (fits(board, ram) and fits(board, case)):
                continue
            base = cpu.price + board.price + ram.price + case.price
            for drive, gpu, psu, cooler in itertools.product(
                by_type["internal-hard-drive"],
                by_type["video-card"] + [None],
                by_type["power-supply"],
                by_type["cpu-cooler"] + [None],
            ):
                parts = {
                    "cpu": cpu,
                    "motherboard": board,
                    "memory": ram,
                    "case": case,
                    "storage": drive,
                    "power-supply": psu,
                }
                if gpu is not None:
                    parts["video-card"] = gpu
                if cooler is not None:
                    parts["cpu-cooler"] = cooler
                total = base + sum(p.price for p in (drive, gpu, psu, cooler) if p is not None)
                if total > budget:
                    continue
                score = build_score(parts, goal) - total / SCORE_SCALE
                if score > best and not validate(parts, set(), set(), purpose_key, ONLINE):
                    best = score
    return best


@pytest.mark.parametrize("purpose_key", purposes())
@pytest.mark.parametrize("budget", [700, 1300, 2600])
def test_every_build_is_valid_within_budget_and_the_best(planner, purpose_key, budget):
    try:
        build = planner.plan(request(budget, purpose_key))
    except NoBuild:
        assert _exhaustive_best(purpose_key, budget) < 0  # only when nothing valid exists
        return
    _check(build, budget)
    assert build.score == pytest.approx(build_score(build.products(), purpose(purpose_key)), abs=1e-3)
    assert build.score - build.total / SCORE_SCALE == pytest.approx(
        _exhaustive_best(purpose_key, budget), abs=0.002
    )
    assert all(p.reason_en and p.reason_zh for p in build.parts)


def test_small_form_factor_uses_a_small_case(planner):
    build = planner.plan(request(1500, "sff"))
    assert build.part("case").product.attributes["case_type"] in purpose("sff").case_types


def test_quiet_buys_a_cooler_and_office_may_use_integrated_graphics(planner):
    quiet = planner.plan(request(1500, "quiet"))
    assert quiet.part("cpu-cooler") is not None
    office = planner.plan(request(700, "office"))
    graphics = office.part("video-card")
    if graphics is not None and graphics.product is None:
        assert office.part("cpu").product.attributes.get("integrated_graphics")


def test_brand_constraints(planner):
    intel = planner.plan(request(1500, "gaming", Constraints(brands={"cpu": "Intel"})))
    assert intel.part("cpu").product.brand == "Intel"
    amd_gpu = planner.plan(request(1500, "gaming", Constraints(brands={"video-card": "AMD"})))
    assert amd_gpu.part("video-card").product.attributes["gpu_maker"] == "AMD"


def test_an_owned_part_is_kept_free_and_still_binds(planner, parts):
    case = parts["T-CASE-2"]  # a Mini ITX case the shopper has
    build = planner.plan(request(1500, "gaming", Constraints(have=(case.sku,))))
    _check(build, 1500)
    owned = build.part("case")
    assert owned.owned and owned.price == 0 and owned.product.sku == case.sku
    assert case.sku not in build.bought
    assert compat.check(build.part("motherboard").product, case).compatible is True


def test_a_fixed_part_is_bought(planner, parts):
    build = planner.plan(request(1500, "gaming", Constraints(fixed=("T-GPU-2",))))
    _check(build, 1500)
    assert build.part("video-card").product.sku == "T-GPU-2" and "T-GPU-2" in build.bought


@pytest.mark.parametrize("sku", ["T-COOL-3", "T-GPU-1"])
def test_a_fixed_or_owned_part_of_an_optional_role_stays(planner, sku):
    """A cooler the CPU does not need, a graphics card an office build could do without."""
    for constraints in (Constraints(fixed=(sku,)), Constraints(have=(sku,))):
        build = planner.plan(request(900, "office", constraints))
        _check(build, 900)
        assert sku in {p.sku for p in build.parts}


def test_colour(planner):
    build = planner.plan(request(2500, "gaming", Constraints(colour="white")))
    _check(build, 2500)
    coloured = [p.product for p in build.parts if p.product is not None and p.product.attributes.get("color")]
    assert coloured and all(p.attributes["color"].split("/")[0].strip() == "White" for p in coloured)


def test_pick_up_at_a_store_uses_only_its_stock(planner):
    build = planner.plan(request(1500, "gaming", Constraints(store_id=STORE)))
    _check(build, 1500, location=STORE)
    assert set(build.bought) <= stock(STORE)


def test_out_of_stock_parts_are_never_chosen(planner):
    for budget in (1500, 2500, 3500):
        assert "T-GPU-OUT" not in planner.plan(request(budget, "gaming")).bought


def test_a_budget_in_yuan_is_converted_at_the_configured_rate(planner):
    from daogou.config import get_settings

    rate = get_settings().kg_cny_per_usd
    build = planner.plan(request(10000, "gaming", currency="CNY"))
    assert build.request.conversion.amount == 10000 and build.request.conversion.rate == rate
    assert build.request.budget_usd == pytest.approx(10000 / rate, abs=0.01)
    assert build.total <= 10000 / rate
    assert str(rate) in build.request.conversion.text("en") or f"{rate:g}" in build.request.conversion.text(
        "en"
    )


def test_too_small_a_budget_says_what_the_cheapest_build_costs(planner):
    with pytest.raises(NoBuild) as error:
        planner.plan(request(300, "gaming"))
    cheapest = error.value.cheapest_usd
    assert cheapest is not None and cheapest > 300
    planner.plan(request(cheapest, "gaming"))  # and that build exists


def test_refine_cheaper_more_gpu_brand_use_and_swap(planner):
    build = planner.plan(request(1500, "gaming"))
    cheaper = planner.refine(build, Change("cheaper"))
    _check(cheaper, cheaper.request.budget_usd)
    assert cheaper.total < build.total

    more_gpu = planner.refine(build, Change("emphasis", {"video-card": 1, "cpu": -1}))
    _check(more_gpu, 1500)
    goal = purpose("gaming")
    gpu_score = lambda b: part_score(b.part("video-card").product, "video-card", goal)  # noqa: E731
    assert gpu_score(more_gpu) >= gpu_score(build)

    other = "Intel" if build.part("cpu").product.brand == "AMD" else "AMD"
    switched = planner.refine(build, Change("brand", other))
    assert switched.part("cpu").product.brand == other

    used = planner.refine(build, Change("use", "T-CPU-I1"))
    assert used.part("cpu").product.sku == "T-CPU-I1"

    swapped = planner.refine(build, Change("swap", role="memory"))
    assert swapped.part("memory").product.sku != build.part("memory").product.sku
    _check(swapped, 1500)


def test_diff_lists_exactly_the_roles_that_changed(planner):
    a = planner.plan(request(1500, "gaming"))
    b = planner.refine(a, Change("brand", "Intel" if a.part("cpu").product.brand == "AMD" else "AMD"))
    skus = lambda build: {r: (build.part(r).sku if build.part(r) else None) for r in ROLES}  # noqa: E731
    expected = {r for r in ROLES if skus(a)[r] != skus(b)[r]}
    delta = diff(a, b)
    assert {c.role for c in delta.changes} == expected
    assert delta.total_delta == pytest.approx(b.total - a.total)
    assert delta.text("en") and delta.text("zh")


def test_upgrade_picks_the_best_graphics_card_the_power_supply_can_carry(planner, parts):
    have = ("T-CPU-I1", "T-MB-I1", "T-RAM-2", "T-PSU-1", "T-CASE-3")  # a 450 W power supply
    build = planner.plan(request(2000, "gaming", Constraints(have=have), upgrade_role="video-card"))
    _check(build, 2000)
    assert build.bought == (build.part("video-card").product.sku,)
    goal = purpose("gaming")
    fitting = [
        g
        for g in catalogue()
        if g.part_type == "video-card"
        and g.sku in ONLINE
        and g.price <= 2000
        and not validate(
            {**{k: v for k, v in build.products().items() if k != "video-card"}, "video-card": g},
            set(have),
            set(),
            "gaming",
            ONLINE,
            "video-card",
        )
    ]
    best = max(part_score(g, "video-card", goal) for g in fitting)
    assert part_score(build.part("video-card").product, "video-card", goal) == best
    assert len(fitting) < len([g for g in catalogue() if g.part_type == "video-card" and g.sku in ONLINE])


def test_text_in_both_languages(planner):
    build = planner.plan(request(1500, "gaming"))
    en, zh = build.text("en"), build.text("zh")
    assert all(p.product.name in en and p.product.name in zh for p in build.parts if p.product is not None)
    assert "合计" in zh and "Total" in en
