"""The planner over the demo shop: the real catalogue (the shipped catalogue files, through the
knowledge graph) and the demo shop's online stock as `daogou db load-demo` seeds it
(demo.shop.generate_stock), generated here so that the test needs no database and runs in
CI before var/ exists. Slow: builds the graph from the files."""

from __future__ import annotations

import pytest

from benchmarks.build import bought_total, validate
from build_planner import Change, Constraints, NoBuild, Planner, diff
from build_planner.planner import request

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo():
    from catalog import load_products
    from demo import shop
    from knowledge_graph.store import load_graph
    from order_service.models import WAREHOUSE_ID

    rows = shop.product_rows(load_products())
    stock = shop.generate_stock(rows, [])  # the warehouse's quantities come first from the seed
    online = frozenset(sku for (loc, sku), qty in stock.items() if loc == WAREHOUSE_ID and qty > 0)
    assert len(online) > 10_000  # the demo shop sells most of its catalogue online
    return Planner(load_graph(source="files").products.values(), lambda _location: online), online


@pytest.mark.parametrize(
    "budget,purpose,constraints",
    [
        (1500, "gaming", Constraints()),
        (700, "office", Constraints()),
        (2000, "sff", Constraints(colour="white")),
        (2500, "video", Constraints(brands={"cpu": "AMD", "video-card": "NVIDIA"})),
    ],
)
def test_demo_builds_are_valid_and_within_budget(demo, budget, purpose, constraints):
    planner, online = demo
    build = planner.plan(request(budget, purpose, constraints))
    assert validate(build.products(), set(), set(), purpose, online) == []
    assert bought_total(build.products(), set()) <= budget
    for role, brand in constraints.brands.items():
        part = build.part(role).product
        assert (part.attributes.get("gpu_maker") if role == "video-card" else part.brand) == brand


def test_demo_refine_and_upgrade(demo):
    planner, online = demo
    build = planner.plan(request(1500, "gaming"))
    cheaper = planner.refine(build, Change("cheaper"))
    assert cheaper.total < build.total
    assert {c.role for c in diff(build, cheaper).changes}
    owned = {
        r: p.product.sku for r, p in ((r, build.part(r)) for r in ("cpu", "motherboard", "memory", "case"))
    }
    weakest_psu = min(
        (p for p in planner.by_role["power-supply"] if (p.attributes.get("wattage") or 0) >= 450),
        key=lambda p: (p.attributes["wattage"], p.price),
    )
    have = (*owned.values(), weakest_psu.sku)
    try:
        upgraded = planner.plan(request(400, "gaming", Constraints(have=have), upgrade_role="video-card"))
    except NoBuild:
        pytest.fail("a 450 W power supply carries some graphics card")
    assert validate(upgraded.products(), set(have), set(), "gaming", online, "video-card") == []
    assert upgraded.total <= 400 and upgraded.bought == (upgraded.part("video-card").product.sku,)


@pytest.mark.parametrize("budget,purpose", [(1000, "gaming"), (1500, "video"), (1250, "streaming")])
def test_demo_builds_are_near_the_proven_optimum(demo, monkeypatch, budget, purpose):
    """The pruned planner against CP-SAT over whole Pareto fronts (epsilon 0, proven optimal with a
    generous work limit): each role's pruning may cost at most PARETO_EPSILON build points."""
    from build_planner import planner as module
    from build_planner.scoring import ROLES

    pruned, online = demo
    build = pruned.plan(request(budget, purpose))
    solver = module._solver
    monkeypatch.setattr(module, "_solver", lambda work=module.SOLVE_WORK: _generous(solver(work)))
    exact = Planner(pruned.products.values(), lambda _location: online, epsilon=0.0).plan(
        request(budget, purpose)
    )
    assert exact.optimal
    assert exact.score - len(ROLES) * module.PARETO_EPSILON <= build.score <= exact.score + 1e-6


def _generous(solver):
    solver.parameters.max_deterministic_time = 30.0
    solver.parameters.max_time_in_seconds = 120.0
    return solver
