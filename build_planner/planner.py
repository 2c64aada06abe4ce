"""Choosing the parts: candidates per role, then one CP-SAT model over all of them.

Per request, each role's candidates are the sellable parts that meet the shopper's constraints,
thinned to the Pareto front of price against score (and against power for CPUs and graphics cards,
wattage for power supplies) within groups of parts the compatibility rules cannot tell apart
(same socket, same memory generation and size, same case type, …): a part that costs more and
scores no better than another of its group can never be in the best build. That leaves a few
dozen per role. CP-SAT then picks one per role maximising the purpose score within the budget,
with the knowledge graph's rules (catalog/part_rules.py) as constraints. docs/build.md has
the why and the measurements."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace

from ortools.sat.python import cp_model

from build_planner import scoring
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
from catalog import part_rules as compat
from catalog.models import Product
from knowledge_graph.vocab import part_type_name, value_text

SCORE_SCALE = 1000  # objective units per build-score point; a dollar of price is one unit (a tie-break)
SOLVE_WORK = 0.1  # CP-SAT deterministic time (load-independent work units); then the best
# build found so far is returned (Build.optimal False)
SOLVE_TIME_S = 2.0  # wall-clock safety net on a starved machine
PARETO_EPSILON = 0.5  # build-score points a dearer candidate must add per role (0: exact Pareto fronts)
# role pairs whose compatibility the knowledge graph judges, as (from, to): every part of `from`
# needs a compatible part of `to`
RULE_PAIRS = (
    ("cpu", "motherboard"),
    ("motherboard", "memory"),
    ("motherboard", "case"),
    ("cpu-cooler", "cpu"),
    ("cpu-cooler", "motherboard"),
)
REQUIRED_ATTRIBUTES = {
    "cpu": ("socket",),
    "motherboard": ("socket", "memory_type", "form_factor"),
    "memory": ("memory_type", "capacity"),
    "storage": ("capacity",),
    "power-supply": ("wattage",),
    "case": ("case_type",),
    "video-card": ("chipset",),
}

Stock = Callable[[int], "frozenset[str]"]


_watts: dict[tuple[str, str | None], int] = {}


def gpu_watts(gpu: Product | None) -> int:
    key = ("gpu", gpu.sku if gpu else None)
    if key not in _watts:
        _watts[key] = int(compat.estimated_draw([gpu] if gpu else [])[1])
    return _watts[key]


def cpu_watts(cpu: Product | None) -> int:
    key = ("cpu", cpu.sku if cpu else None)
    if key not in _watts:
        _watts[key] = int(compat.estimated_draw([cpu] if cpu else [])[0])
    return _watts[key]


def cooler_needed(cpu: Product, purpose: scoring.Purpose) -> bool:
    return purpose.cooler_always or cpu_watts(cpu) > scoring.profiles()["cooler_needed_above_tdp_w"]


def brand_of(product: Product, role: str) -> str:
    """The brand a shopper means: the chip maker for a graphics card, the maker otherwise."""
    if role == "video-card":
        return str(product.attributes.get("gpu_maker") or "")
    return product.brand or ""


def colour_matches(product: Product, colour: str) -> bool:
    """A part whose data names no colour never blocks a colour wish; one that does must have it as
    its main colour ("White / Black" is white)."""
    named = product.attributes.get("color")
    return not named or named.split("/")[0].strip().lower() == colour.lower()


def _pareto(items: list[tuple[Product, float, tuple[float, ...]]], epsilon: float) -> list[Product]:
    """Items (product, score, extra costs where lower is better) of one group, cheapest first:
    keep those that score more than `epsilon` above every cheaper-or-equal kept item that is no
    worse on the extra costs (with epsilon 0, exactly the Pareto front)."""
    kept: list[tuple[Product, float, tuple[float, ...]]] = []
    for product, score, extra in items:
        if any(s + epsilon >= score and all(e <= x for e, x in zip(ex, extra)) for _, s, ex in kept):
            continue
        kept.append((product, score, extra))
    return [k[0] for k in kept]


class Planner:
    """Plans builds over a catalogue and a stock source. Build once per process; thread-safe."""

    def __init__(
        self,
        products: Iterable[Product],
        stock: Stock,
        stock_ttl_s: float = 30.0,
        epsilon: float = PARETO_EPSILON,
    ):
        """epsilon: how much build score (0–100) a candidate may fall short of the best build
        per role in exchange for a smaller model; 0 keeps whole Pareto fronts (exact)."""
        self.epsilon = epsilon
        self.products: dict[str, Product] = {}
        self.by_role: dict[str, list[Product]] = defaultdict(list)
        for p in products:
            role = scoring.role_of(p)
            if role and all(p.attributes.get(k) for k in REQUIRED_ATTRIBUTES.get(role, ())) and p.price > 0:
                self.products[p.sku] = p
                self.by_role[role].append(p)
        for parts in self.by_role.values():
            parts.sort(key=lambda p: p.price)
        self._stock, self._stock_ttl = stock, stock_ttl_s
        self._stock_cache: dict[int, tuple[float, frozenset[str]]] = {}
        self._scores: dict[str, dict[str, float]] = {}
        self._compatible: dict[tuple[str, str], bool] = {}
        self._groups: dict[tuple, tuple] = {}
        self._pools: dict[tuple, list[tuple]] = {}
        self._fronts: dict[tuple, tuple[list[tuple], list[Product]]] = {}
        self._lock = threading.Lock()

    # --- inputs ------------------------------------------------------------------------------------
    def sellable(self, location_id: int) -> frozenset[str]:
        now = time.monotonic()
        cached = self._stock_cache.get(location_id)
        if cached is None or now - cached[0] > self._stock_ttl:
            cached = (now, frozenset(self._stock(location_id)))
            self._stock_cache[location_id] = cached
        return cached[1]

    def score(self, product: Product, role: str, purpose: scoring.Purpose) -> float:
        table = self._scores.setdefault(purpose.key, {})
        if product.sku not in table:
            table[product.sku] = scoring.part_score(product, role, purpose)
        return table[product.sku]

    def compatible(self, a: Product, b: Product) -> bool:
        """The knowledge graph's verdict, with "cannot tell" counted as fitting (a cooler whose
        sockets the data does not list)."""
        key = (a.sku, b.sku)
        if key not in self._compatible:
            self._compatible[key] = compat.check(a, b).compatible is not False
        return self._compatible[key]

    def product(self, sku: str) -> Product:
        if sku.startswith(DESCRIBED):
            return described_product(sku)
        try:
            return self.products[sku.strip().upper()]
        except KeyError:
            raise NoBuild(
                "unknown_part", f"{sku} is not a PC part we can build with.", f"{sku}不是可以用来装机的配件。"
            ) from None

    # --- candidates --------------------------------------------------------------------------------
    def _allowed(
        self, p: Product, role: str, request: Request, purpose: scoring.Purpose, sellable: frozenset[str]
    ) -> bool:
        c = request.constraints
        if p.sku not in sellable:
            return False
        brand = c.brands.get(role)
        if brand and brand_of(p, role).lower() != brand.lower():
            return False
        if c.colour and not colour_matches(p, c.colour):
            return False
        if any(p.attributes.get(k) != v for k, v in c.require.get(role, {}).items()):
            return False
        if role == "case":
            if p.attributes.get("included_psu") or not compat.case_form_factors(
                p.attributes.get("case_type")
            ):
                return False  # a bundled power supply would be bought twice
            if purpose.case_types and p.attributes.get("case_type") not in purpose.case_types:
                return False
        return True

    def _group(self, p: Product, role: str, purpose: scoring.Purpose) -> tuple:
        """Parts the compatibility rules treat alike (see the module docstring): same socket, memory
        generation, form factor. Pruning only ever costs optimality, never validity: the model
        checks every rule on the candidates that remain."""
        key = (p.sku, purpose.integrated_graphics_ok, purpose.cooler_always)
        if key not in self._groups:
            a = p.attributes
            if role == "cpu":
                group = (
                    a.get("socket"),
                    bool(a.get("has_integrated_graphics")) and purpose.integrated_graphics_ok,
                    cooler_needed(p, purpose),
                )
            elif role == "motherboard":
                group = (a.get("socket"), a.get("memory_type"), a.get("form_factor"))
            elif role == "memory":
                group = (
                    a.get("memory_type"),
                    (a.get("module_count") or 0) > 2,
                    (a.get("capacity") or 0) > 64,
                )
            elif role == "case":
                group = (a.get("case_type"),)
            elif role == "cpu-cooler":
                group = compat.cooler_sockets(p)
            else:
                group = ()
            self._groups[key] = group
        return self._groups[key]

    @staticmethod
    def _extra(p: Product, role: str) -> tuple[float, ...]:
        """Costs besides the price that make a part worse: a graphics card's draw (it needs a
        bigger power supply), a power supply's missing watts."""
        if role == "video-card":
            return (gpu_watts(p),)
        if role == "power-supply":
            return (-float(p.attributes.get("wattage") or 0),)
        return ()

    def _pool(self, role: str, request: Request, purpose: scoring.Purpose, location_id: int) -> list[tuple]:
        """(product, score, extra costs, group) of every allowed part of a role, cheapest first;
        cached per location, purpose and constraint, refreshed with the stock."""
        c = request.constraints
        sellable = self.sellable(location_id)
        required = tuple(sorted(c.require.get(role, {}).items()))
        key = (role, location_id, id(sellable), purpose.key, c.brands.get(role), c.colour, required)
        pool = self._pools.get(key)
        if pool is None:
            pool = [
                (p, self.score(p, role, purpose), self._extra(p, role), self._group(p, role, purpose))
                for p in self.by_role.get(role, ())
                if self._allowed(p, role, request, purpose, sellable)
            ]
            with self._lock:
                if len(self._pools) > 512:
                    self._pools.clear()
                    self._fronts.clear()
                self._pools[key] = pool
        return pool

    def candidates(
        self, role: str, request: Request, purpose: scoring.Purpose, max_price: float
    ) -> list[Product]:
        """The Pareto front of each group of the role's allowed parts up to `max_price`. A part's
        place on the front depends only on cheaper parts, so the front of the whole pool, cut at
        the price, is the front of the parts up to that price: it is computed once per pool."""
        pool = self._pool(role, request, purpose, request.constraints.location_id)
        exclude = set(request.constraints.exclude)
        # an upgrade buys one part: its exact front is a small model, so nothing is pruned
        epsilon = 0.0 if request.upgrade_role else self.epsilon
        part_epsilon = epsilon / max(purpose.weights.get(role, 0.0), 0.01)
        if exclude:
            return self._front([t for t in pool if t[0].sku not in exclude], max_price, part_epsilon)
        key = (id(pool), part_epsilon)
        if key not in self._fronts or self._fronts[key][0] is not pool:
            self._fronts[key] = (pool, self._front(pool, math.inf, part_epsilon))
        return [p for p in self._fronts[key][1] if p.price <= max_price]

    @staticmethod
    def _front(pool: list[tuple], max_price: float, epsilon: float) -> list[Product]:
        groups: dict[tuple, list] = defaultdict(list)
        for p, score, extra, group in pool:
            if p.price > max_price:
                break  # cheapest first
            groups[group].append((p, score, extra))
        return sorted(
            (p for items in groups.values() for p in _pareto(items, epsilon)), key=lambda p: p.price
        )

    # --- planning ----------------------------------------------------------------------------------
    def plan(self, request: Request) -> Build:
        """The best valid build for the request, or NoBuild saying why there is none."""
        started = time.perf_counter()
        base = scoring.purpose(request.purpose)
        purpose = base.emphasised(dict(request.emphasis))
        c = request.constraints
        owned: dict[str, Product] = {}
        fixed: dict[str, Product] = {}
        for skus, into in ((c.have, owned), (c.fixed, fixed)):
            for sku in skus:
                p = self.product(sku)
                role = scoring.role_of(p)
                if role in owned or role in fixed:
                    en, zh = (part_type_name(p.part_type, lang) for lang in ("en", "zh"))
                    raise NoBuild(
                        "two_parts_one_role",
                        f"A build takes one {en}; {p.name} would be a second.",
                        f"一台电脑只需要一个{zh}，{p.name}是多余的。",
                    )
                into[role] = p
        if request.upgrade_role:
            roles = [r for r in scoring.ROLES if r in owned or r in fixed or r == request.upgrade_role]
        else:
            roles = list(scoring.ROLES)
        budget = request.budget_usd - sum(p.price for p in fixed.values())
        open_roles = [r for r in roles if r not in owned and r not in fixed]
        optional = {"cpu-cooler"} | (
            {"video-card"} if purpose.integrated_graphics_ok and "cpu" in roles else set()
        )
        if request.upgrade_role:
            optional = set()
        optional -= set(owned) | set(fixed)  # a fixed or owned cooler is part of the build
        cheapest: dict[str, float] = {}
        for role in open_roles:
            first = next(
                (p for p, *_ in self._pool(role, request, purpose, c.location_id) if p.sku not in c.exclude),
                None,
            )
            if first is None and role not in optional:
                en, zh = (part_type_name(scoring.part_type_of(role), lang) for lang in ("en", "zh"))
                raise NoBuild(
                    "no_part", f"No {en} in stock meets the request.", f"没有符合要求且有货的{zh}。"
                )
            cheapest[role] = first.price if first else 0.0
        floor = sum(v for r, v in cheapest.items() if r not in optional)

        def table_up_to(limit_of) -> dict[str, list[tuple[Product, bool]]]:
            table: dict[str, list[tuple[Product, bool]]] = {}
            for role in roles:
                if role in owned:
                    table[role] = [(owned[role], True)]
                elif role in fixed:
                    table[role] = [(fixed[role], False)]
                else:
                    table[role] = [
                        (p, False) for p in self.candidates(role, request, purpose, limit_of(role))
                    ]
            if "cpu" in table and len(table["cpu"]) > 1 and self.epsilon > 0:
                table["cpu"] = self._platform_front(table, purpose)
            return table

        build = None
        if floor <= budget:
            table = table_up_to(lambda role: budget - floor + (0.0 if role in optional else cheapest[role]))
            build = self._solve(
                request, purpose, base, table, optional, budget_cents=round(request.budget_usd * 100)
            )
        if build is None:
            cheapest_total = self._cheapest(request, purpose, table_up_to(lambda role: math.inf), optional)
            if cheapest_total is not None and cheapest_total > request.budget_usd:
                raise NoBuild(
                    "budget",
                    f"The cheapest compatible build for this costs ${cheapest_total:,.2f}.",
                    f"满足这些条件的最便宜的兼容配置需要{cheapest_total:,.2f}美元。",
                    cheapest_total,
                )
            raise NoBuild(
                "infeasible",
                "No compatible build in stock meets all of these conditions.",
                "没有同时满足这些条件且有货的兼容配置。",
            )
        return replace(build, solve_ms=round((time.perf_counter() - started) * 1000, 2))

    def _platform_front(
        self, table: Mapping[str, list[tuple[Product, bool]]], purpose: scoring.Purpose
    ) -> list[tuple[Product, bool]]:
        """CPUs on the Pareto front across sockets, each priced with the cheapest board, memory
        and (when it needs one) cooler that fit it among the candidates: an old CPU that is cheap
        alone but whose platform costs more than a better CPU's is dropped. Like every pruning it
        may cost a little optimality, never validity."""

        def cheapest(role: str, fits) -> float:
            if role not in table:
                return 0.0
            # the candidates are cheapest first: the first that fits is the cheapest
            return next((p.price for p, own in table[role] if fits(p)), math.inf)

        platform: dict[str, float] = {}
        items = []
        for cpu, own in table["cpu"]:
            socket = cpu.attributes.get("socket")
            if socket not in platform:
                platform[socket] = (
                    min(
                        (
                            b.price
                            + cheapest("memory", lambda m, b=b: self.compatible(b, m))
                            + cheapest("case", lambda c, b=b: self.compatible(b, c))
                            for b, _ in table.get("motherboard", [])
                            if self.compatible(cpu, b)
                        ),
                        default=math.inf,
                    )
                    if "motherboard" in table and not table["motherboard"][0][1]
                    else 0.0
                )
            extra = cheapest("cpu-cooler", lambda c: True) if cooler_needed(cpu, purpose) else 0.0
            cost = (0.0 if own else cpu.price) + platform[socket] + extra
            if math.isfinite(cost):
                graphics = scoring.integrated_graphics_score(cpu) if purpose.integrated_graphics_ok else 0.0
                items.append(((cpu, own), cost, self.score(cpu, "cpu", purpose), graphics))
        kept: list[tuple] = []
        cpu_epsilon = self.epsilon / max(purpose.weights.get("cpu", 0.0), 0.01)
        for item in sorted(items, key=lambda t: (t[1], -t[2])):
            if any(k[2] + cpu_epsilon >= item[2] and k[3] >= item[3] for k in kept):
                continue
            kept.append(item)
        return [k[0] for k in kept] or table["cpu"]

    def _model(
        self, purpose: scoring.Purpose, table: Mapping[str, list[tuple[Product, bool]]], optional: set[str]
    ) -> tuple[cp_model.CpModel, dict[str, list], list]:
        """Variables and rules shared by the best-build and cheapest-build models."""
        m = cp_model.CpModel()
        x = {role: [m.NewBoolVar(f"{role}_{i}") for i in range(len(parts))] for role, parts in table.items()}
        for role, xs in x.items():
            (m.AddAtMostOne if role in optional else m.AddExactlyOne)(xs)
        for a, b in RULE_PAIRS:
            if a not in table or b not in table or b in optional:  # an absent cooler needs nothing
                continue
            # parts of `a` that accept the same parts of `b` share one constraint: when one of
            # them is chosen (at most one is), one of those parts of `b` is chosen too
            by_allowed: dict[tuple[int, ...], list] = defaultdict(list)
            for i, (pa, _) in enumerate(table[a]):
                allowed = tuple(j for j, (pb, _) in enumerate(table[b]) if self.compatible(pa, pb))
                by_allowed[allowed].append(x[a][i])
            for allowed, chosen in by_allowed.items():
                if len(allowed) < len(table[b]):
                    others = [x[b][j] for j in allowed]
                    _linear(m, chosen + others, [1] * len(chosen) + [-1] * len(others), _LOWEST, 0)
        cpus = table.get("cpu", [])
        if "cpu-cooler" in table and cpus and "cpu-cooler" in optional:
            for i, (cpu, _) in enumerate(cpus):
                if cooler_needed(cpu, purpose):
                    m.AddBoolOr([x["cpu"][i].Not(), *x["cpu-cooler"]])
        igpu: list = []
        if "video-card" in optional and cpus:
            no_gpu = m.NewBoolVar("integrated")
            m.AddExactlyOne([*x["video-card"], no_gpu])
            for i, (cpu, _) in enumerate(cpus):
                if cpu.attributes.get("has_integrated_graphics"):
                    y = m.NewBoolVar(f"igpu_{i}")
                    m.AddImplication(y, x["cpu"][i])
                    m.AddImplication(y, no_gpu)
                    igpu.append((y, i))
            _linear(m, [y for y, _ in igpu] + [no_gpu], [1] * len(igpu) + [-1], 0, 0)
        if "power-supply" in table:
            terms = [(v, cpu_watts(p)) for (p, _), v in zip(cpus, x.get("cpu", []))]
            terms += [
                (v, gpu_watts(p)) for (p, _), v in zip(table.get("video-card", []), x.get("video-card", []))
            ]
            draw = m.NewIntVar(0, 10_000, "draw")  # the CPU's and graphics card's watts
            fixed_w = 0 if cpus else cpu_watts(None)
            _linear(m, [t for t, _ in terms] + [draw], [w for _, w in terms] + [-1], -fixed_w, -fixed_w)
            for (psu, _), v in zip(table["power-supply"], x["power-supply"]):
                _linear(m, [draw], [1], _LOWEST, _max_draw(int(psu.attributes["wattage"])), enforce=v)
        return m, x, igpu

    @staticmethod
    def _cost(table, x) -> tuple[list, list[int]]:
        """Cents the shopper pays (owned parts are free), as variables and coefficients."""
        pairs = [
            (v, round(p.price * 100))
            for role, parts in table.items()
            for (p, own), v in zip(parts, x[role])
            if not own
        ]
        return [v for v, _ in pairs], [c for _, c in pairs]

    def _solve(
        self,
        request: Request,
        purpose: scoring.Purpose,
        base: scoring.Purpose,
        table,
        optional: set[str],
        budget_cents: int,
    ) -> Build | None:
        """The best build by `purpose` (emphasis included); its score is reported by `base`, so
        that builds of one purpose compare whatever their emphasis."""
        m, x, igpu = self._model(purpose, table, optional)
        _linear(m, *self._cost(table, x), _LOWEST, budget_cents)
        variables, coefficients = [], []
        for role, parts in table.items():
            weight = purpose.weights.get(role, 0.0)
            for (p, own), v in zip(parts, x[role]):
                variables.append(v)
                coefficients.append(
                    round(SCORE_SCALE * weight * self.score(p, role, purpose))
                    - (0 if own else round(p.price))
                )
        w_gpu = purpose.weights.get("video-card", 0.0)
        for y, i in igpu:
            variables.append(y)
            coefficients.append(
                round(SCORE_SCALE * w_gpu * scoring.integrated_graphics_score(table["cpu"][i][0]))
            )
        _objective(m, variables, coefficients, maximise=True)
        solver = _solver()
        status = solver.Solve(m)
        if status == cp_model.UNKNOWN:  # out of time before a first build
            solver = _solver(4 * SOLVE_WORK)
            status = solver.Solve(m)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        solution = solver.ResponseProto().solution  # solver.Value per variable costs more
        chosen = {
            role: next(((p, own) for (p, own), v in zip(parts, x[role]) if solution[v.Index()]), None)
            for role, parts in table.items()
        }
        return self._build(request, base, chosen, status == cp_model.OPTIMAL)

    def _cheapest(
        self, request: Request, purpose: scoring.Purpose, table, optional: set[str]
    ) -> float | None:
        """Total of the cheapest valid build over the same candidates (to tell the shopper)."""
        m, x, _ = self._model(purpose, table, optional)
        variables, cents = self._cost(table, x)
        _objective(m, variables, cents, maximise=False)
        solver = _solver()
        if solver.Solve(m) not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None
        solution = solver.ResponseProto().solution
        return sum(c for v, c in zip(variables, cents) if solution[v.Index()]) / 100.0

    # --- the result --------------------------------------------------------------------------------
    def _build(self, request: Request, purpose: scoring.Purpose, chosen, optimal: bool) -> Build:
        products = {role: pc[0] for role, pc in chosen.items() if pc is not None}
        cpu_w, gpu_w = compat.estimated_draw(products.values())
        draw = int(cpu_w + gpu_w + compat.system_base_w())
        need = compat.recommended_psu(cpu_w, gpu_w)
        parts = []
        for role in scoring.ROLES:
            if role not in chosen:
                continue
            pc = chosen[role]
            if pc is None:
                if role == "video-card" and "cpu" in products:
                    en, zh = reason("integrated", None, purpose, products, draw, need)
                    parts.append(
                        BuildPart(
                            role, None, 0.0, False, scoring.integrated_graphics_score(products["cpu"]), en, zh
                        )
                    )
                continue
            p, own = pc
            en, zh = reason("owned" if own else role, p, purpose, products, draw, need)
            parts.append(
                BuildPart(role, p, 0.0 if own else p.price, own, self.score(p, role, purpose), en, zh)
            )
        total = round(sum(p.price for p in parts), 2)
        return Build(
            request=request,
            parts=tuple(parts),
            total=total,
            score=round(scoring.build_score(products, purpose), 3),
            draw_w=draw,
            recommended_psu_w=need,
            optimal=optimal,
            solve_ms=0.0,
        )

    # --- refinements -------------------------------------------------------------------------------
    def restore(self, request: Request, parts: Mapping[str, tuple[str, bool] | None]) -> Build:
        """The build a conversation showed, from its request and its parts (role → (SKU, owned), None
        for integrated graphics), with reasons and scores recomputed: re-planning the request could
        pick an equally good but different build, and a change must start from what was shown."""
        purpose = scoring.purpose(request.purpose).emphasised(dict(request.emphasis))
        chosen = {
            role: (None if pc is None else (self.product(pc[0]), bool(pc[1]))) for role, pc in parts.items()
        }
        return self._build(request, purpose, chosen, optimal=False)

    def refine(self, build: Build, change: Change) -> Build:
        """A new build from the previous one's request changed as asked (see Change)."""
        r, c = build.request, build.request.constraints
        kind = change.kind
        if kind == "cheaper":
            r = replace(r, budget_usd=math.floor(build.total * (change.value or 0.85)), conversion=None)
        elif kind == "budget":
            r = replace(r, budget_usd=float(change.value), conversion=None)
        elif kind == "emphasis":
            steps = dict(r.emphasis)
            for role, step in dict(change.value).items():
                steps[role] = steps.get(role, 0) + int(step)
            r = replace(r, emphasis=tuple(sorted(steps.items())))
        elif kind == "brand":
            role = change.role or ("video-card" if str(change.value).lower() == "nvidia" else "cpu")
            fixed = tuple(s for s in c.fixed if scoring.role_of(self.product(s)) != role)
            r = replace(r, constraints=replace(c, brands={**c.brands, role: str(change.value)}, fixed=fixed))
        elif kind in ("use", "have"):
            p = self.product(str(change.value))
            role = scoring.role_of(p)
            keep = lambda skus: tuple(s for s in skus if scoring.role_of(self.product(s)) != role)  # noqa: E731
            fixed, have = keep(c.fixed), keep(c.have)
            fixed, have = (fixed + (p.sku,), have) if kind == "use" else (fixed, have + (p.sku,))
            brands = {k: v for k, v in c.brands.items() if k != role}
            r = replace(r, constraints=replace(c, fixed=fixed, have=have, brands=brands))
        elif kind == "line":
            role = change.role or ""
            fixed = tuple(s for s in c.fixed if scoring.role_of(self.product(s)) != role)
            brands = {k: v for k, v in c.brands.items() if k != role}
            require = {**c.require, role: dict(change.value)}
            r = replace(r, constraints=replace(c, fixed=fixed, brands=brands, require=require))
        elif kind == "colour":
            r = replace(r, constraints=replace(c, colour=change.value))
        elif kind == "store":
            r = replace(r, constraints=replace(c, store_id=change.value))
        elif kind == "purpose":
            r = replace(r, purpose=scoring.normalise_purpose(str(change.value)))
        elif kind == "swap":
            current = build.part(change.role or "")
            if current is None or current.product is None or current.owned:
                raise NoBuild(
                    "nothing_to_swap", "That part is not one the build buys.", "这个配件不在购买清单里。"
                )
            fixed = tuple(s for s in c.fixed if s != current.product.sku)
            r = replace(r, constraints=replace(c, exclude=c.exclude + (current.product.sku,), fixed=fixed))
        else:
            raise ValueError(f"unknown change {kind!r}")
        return self.plan(r)


DESCRIBED = "SPEC:"


def described_sku(role: str, attributes: Mapping[str, object], label: str = "") -> str:
    """A part the shopper owns but described rather than named ("a 550 W power supply", "a B660
    board"), as a pseudo-SKU for Constraints.have: "SPEC:power-supply:wattage=550". Only the
    attributes given take part in the rules; the others are unknown, so they never block."""
    fields = ";".join(f"{k}={v}" for k, v in sorted(attributes.items()))
    return f"{DESCRIBED}{role}:{fields}" + (f":{label}" if label else "")


def described_product(sku: str) -> Product:
    """The Product of a described part (see described_sku): price 0, the given attributes."""
    try:
        _, role, fields, *label = sku.split(":", 3)
        attributes: dict[str, object] = {}
        for item in filter(None, fields.split(";")):
            key, value = item.split("=", 1)
            attributes[key] = int(value) if value.isdigit() else value
    except ValueError:
        raise NoBuild("unknown_part", f"{sku} is not a part description.", f"{sku}不是配件描述。") from None
    part_type = scoring.part_type_of(role)
    name = " ".join(
        x
        for x in (label[0] if label else "", f"{attributes['wattage']} W" if "wattage" in attributes else "")
        if x
    )
    return Product(
        sku=sku,
        name=(name + " " if name else "") + part_type_name(part_type, "en"),
        brand=None,
        price=0.0,
        category_id="",
        part_type=part_type,
        attributes=attributes,
    )


_LOWEST = -(2**53)  # the open lower end of a linear constraint


def _linear(m: cp_model.CpModel, variables, coefficients, lo: int, hi: int, enforce=None) -> None:
    """lo ≤ Σ coefficient·variable ≤ hi (only when `enforce` is true), written straight into the
    model's proto: building cp_model's expression objects cost more CPU than solving these models
    (cProfile of the benchmark grid)."""
    ct = m.Proto().constraints.add()
    if enforce is not None:
        ct.enforcement_literal.append(enforce.Index())
    ct.linear.vars.extend(v.Index() for v in variables)
    ct.linear.coeffs.extend(coefficients)
    ct.linear.domain.extend((lo, hi))


def _objective(m: cp_model.CpModel, variables, coefficients, maximise: bool) -> None:
    """The objective, written into the proto as cp_model.Maximize / Minimize would."""
    objective = m.Proto().objective
    objective.vars.extend(v.Index() for v in variables)
    objective.coeffs.extend(-c if maximise else c for c in coefficients)
    objective.scaling_factor = -1 if maximise else 1


_draw_cache: dict[int, int] = {}


def _max_draw(watts: int) -> int:
    """The largest CPU + GPU draw a power supply of `watts` covers by compat.recommended_psu
    (which adds the rest of the system and the headroom)."""
    if watts not in _draw_cache:
        lo, hi = -1, watts
        while lo < hi:  # largest d with recommended_psu(d, 0) <= watts
            mid = (lo + hi + 1) // 2
            if compat.recommended_psu(mid, 0) <= watts:
                lo = mid
            else:
                hi = mid - 1
        _draw_cache[watts] = lo
    return _draw_cache[watts]


def _solver(work: float = SOLVE_WORK) -> cp_model.CpSolver:
    """One worker (the cores are shared with the other processes), limited by deterministic time,
    so that the same request gets the same build however loaded the machine is."""
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 1
    solver.parameters.max_deterministic_time = work
    solver.parameters.max_time_in_seconds = SOLVE_TIME_S
    # measured: on these models (a few hundred Booleans) presolve's probing alone takes longer
    # than solving the unpresolved model to optimality
    solver.parameters.cp_model_presolve = False
    # measured on the benchmark grid: the full LP relaxation (level 2) proves optimality sooner on
    # the hard cells (max CPU 273 → 173 ms) at the same builds
    solver.parameters.linearization_level = 2
    return solver


def diff(old: Build, new: Build) -> BuildDiff:
    """What changed from one build to the next, role by role."""
    changes = []
    for role in scoring.ROLES:
        a, b = old.part(role), new.part(role)
        if (a.sku if a else "-") != (b.sku if b else "-") or (a is None) != (b is None):
            changes.append(PartChange(role, a, b))
    return BuildDiff(tuple(changes), round(new.total - old.total, 2), round(new.score - old.score, 3))


# --- reasons -------------------------------------------------------------------------------------------


def _fmt(n: float) -> str:
    return f"{n:g}"


def reason(
    kind: str,
    p: Product | None,
    purpose: scoring.Purpose,
    products: Mapping[str, Product],
    draw: int,
    need: int,
) -> tuple[str, str]:
    """The one-line reason of a part (data/build/profiles.yaml `reasons`), English and Chinese."""
    if kind == "cpu-cooler" and purpose.cooler_always:
        kind = "cpu-cooler-quiet"
    templates = scoring.profiles()["reasons"][kind]
    a = p.attributes if p else {}
    cpu = products.get("cpu")
    board = products.get("motherboard")
    noise = a.get("noise_level")
    capacity = float(a.get("capacity") or 0)
    kinds = {
        "nvme": ("NVMe SSD", "NVMe固态硬盘"),
        "ssd": ("SATA SSD", "SATA固态硬盘"),
        "hdd": ("hard drive", "机械硬盘"),
    }
    kind_en, kind_zh = (
        kinds[scoring.storage_kind(p)] if p is not None and p.part_type == "internal-hard-drive" else ("", "")
    )
    colour = a.get("color")
    fields = {
        "purpose": purpose.en,
        "purpose_zh": purpose.zh,
        "cores": a.get("core_count", "?"),
        "clock_ghz": _fmt(round((a.get("boost_clock") or a.get("core_clock") or 0) / 1000, 1)),
        "socket": a.get("socket", ""),
        "share": round(purpose.weights.get("cpu", 0) * 100),
        "tdp": cpu_watts(cpu) if cpu else "?",
        "noise": f", {_fmt(noise)} dB at most" if noise else "",
        "noise_zh": f"，最高{_fmt(noise)}分贝" if noise else "",
        "memory_type": a.get("memory_type", ""),
        "form_factor": a.get("form_factor") or (board.attributes.get("form_factor") if board else ""),
        "wifi": " and Wi-Fi" if a.get("wifi") else "",
        "wifi_zh": "，带无线网卡" if a.get("wifi") else "",
        "capacity": _fmt(capacity),
        "speed": a.get("speed", ""),
        "capacity_text": f"{_fmt(capacity / 1000)} TB" if capacity >= 1000 else f"{_fmt(capacity)} GB",
        "kind": kind_en,
        "kind_zh": kind_zh,
        "chipset": a.get("chipset", ""),
        "g3d": scoring.g3d(a.get("chipset")) if p is not None else "",
        "graphics": cpu.attributes.get("integrated_graphics", "") if cpu else "",
        "wattage": a.get("wattage", ""),
        "efficiency": a.get("efficiency") or "unrated",
        "draw": draw,
        "need": need,
        "case_type": a.get("case_type", ""),
        "colour": f", {colour.lower()}" if colour else "",
        "colour_zh": f"，{value_text(colour, 'zh')}" if colour else "",
    }
    return templates["en"].format(**fields), templates["zh"].format(**fields)


def convert(amount: float, currency: str, cny_per_usd: float) -> tuple[float, Conversion | None]:
    """A budget in USD, and how it was converted when it was given in yuan."""
    cur = currency.strip().upper()
    if cur in ("USD", "$", "DOLLAR", "DOLLARS"):
        return float(amount), None
    if cur in ("CNY", "RMB", "YUAN", "元", "人民币"):
        usd = round(amount / cny_per_usd, 2)
        return usd, Conversion(float(amount), "CNY", cny_per_usd, usd)
    raise ValueError(f"unknown currency {currency!r}; use USD or CNY")


def request(
    budget: float,
    purpose: str,
    constraints: Constraints | None = None,
    currency: str = "USD",
    cny_per_usd: float | None = None,
    upgrade_role: str | None = None,
) -> Request:
    """A Request from what a shopper says: a budget in USD or CNY (converted at settings.kg_cny_per_usd)."""
    if cny_per_usd is None:
        from daogou.config import get_settings

        cny_per_usd = get_settings().kg_cny_per_usd
    usd, conversion = convert(budget, currency, cny_per_usd)
    return Request(
        budget_usd=usd,
        purpose=scoring.normalise_purpose(purpose),
        constraints=constraints or Constraints(),
        upgrade_role=upgrade_role,
        conversion=conversion,
    )
