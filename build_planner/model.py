"""The typed records of the build planner: what a shopper asks (Request, Constraints, Change) and
what they get (Build, BuildPart, BuildDiff). Frozen, so a conversation can keep the previous build
and refine it without the planner ever changing it in place."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from catalog.models import Product
from knowledge_graph.vocab import format_price, part_type_name

WAREHOUSE_ID = 0  # the online warehouse in the order database (order_service.models)


@dataclass(frozen=True)
class Constraints:
    """brands: role → brand ("cpu": "Intel"; for "video-card" the chip maker: NVIDIA, AMD, Intel).
    have: SKUs the shopper already owns: not bought, but every other part must fit them.
    fixed: SKUs that must be bought. colour: "white" / "black" for every part whose data names a
    colour. store_id: every part in stock at this store for pick-up; None means online."""

    brands: Mapping[str, str] = field(default_factory=dict)
    have: tuple[str, ...] = ()
    fixed: tuple[str, ...] = ()
    colour: str | None = None
    store_id: int | None = None
    exclude: tuple[str, ...] = ()
    # role → attribute values the part must have ("换成4070": {"video-card": {"chipset": "GeForce RTX 4070"}})
    require: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    @property
    def location_id(self) -> int:
        return WAREHOUSE_ID if self.store_id is None else self.store_id


@dataclass(frozen=True)
class Conversion:
    """A budget the shopper gave in another currency, and the rate it was converted at."""

    amount: float
    currency: str
    rate: float  # units of `currency` per US dollar
    usd: float

    def text(self, lang: str) -> str:
        if lang == "zh":
            return f"预算{self.amount:,.0f}元按1美元={self.rate:g}元换算为{format_price(self.usd, 'zh')}"
        return f"{self.amount:,.0f} {self.currency} is {format_price(self.usd, 'en')} at {self.rate:g} {self.currency} per US dollar"


@dataclass(frozen=True)
class Request:
    budget_usd: float
    purpose: str
    constraints: Constraints = Constraints()
    emphasis: tuple[
        tuple[str, int], ...
    ] = ()  # (role, steps): "more GPU, less CPU" = ((video-card, 1), (cpu, -1))
    upgrade_role: str | None = None  # upgrade mode: only this role is bought
    conversion: Conversion | None = None


@dataclass(frozen=True)
class BuildPart:
    role: str
    product: Product | None  # None: the CPU's integrated graphics stand in for a graphics card
    price: float  # what the shopper pays for it (0 when they own it)
    owned: bool
    score: float  # the part's 0–100 score for the purpose
    reason_en: str
    reason_zh: str

    def reason(self, lang: str) -> str:
        return self.reason_zh if lang == "zh" else self.reason_en

    @property
    def sku(self) -> str | None:
        return self.product.sku if self.product else None


@dataclass(frozen=True)
class Build:
    request: Request
    parts: tuple[BuildPart, ...]
    total: float  # what the shopper pays (owned parts excluded)
    score: float  # purpose score 0–100 (scoring.build_score of the parts)
    draw_w: int  # estimated draw (catalog.part_rules)
    recommended_psu_w: int
    optimal: bool  # the solver proved no better build exists within the budget
    solve_ms: float

    def part(self, role: str) -> BuildPart | None:
        return next((p for p in self.parts if p.role == role), None)

    def products(self) -> dict[str, Product]:
        """Role → product of every physical part, owned ones included."""
        return {p.role: p.product for p in self.parts if p.product is not None}

    @property
    def bought(self) -> tuple[str, ...]:
        """SKUs to put in the cart."""
        return tuple(p.product.sku for p in self.parts if p.product is not None and not p.owned)

    def text(self, lang: str = "en") -> str:
        """The build as plain text (command line, WeChat)."""
        lines = []
        if self.request.conversion:
            lines.append(self.request.conversion.text(lang) + ("。" if lang == "zh" else "."))
        for p in self.parts:
            role = part_type_name(p.product.part_type if p.product else "video-card", lang)
            if p.product is None:
                lines.append(f"- {role}: {p.reason(lang)}")
                continue
            price = ("已有" if lang == "zh" else "owned") if p.owned else format_price(p.price, lang)
            lines.append(f"- {role}: {p.product.name} ({p.product.sku}) — {price} — {p.reason(lang)}")
        if lang == "zh":
            lines.append(
                f"合计{format_price(self.total, 'zh')}（预算{format_price(self.request.budget_usd, 'zh')}），评分{self.score:.1f}/100"
            )
        else:
            lines.append(
                f"Total {format_price(self.total, 'en')} (budget {format_price(self.request.budget_usd, 'en')}), score {self.score:.1f}/100"
            )
        return "\n".join(lines)


ChangeKind = Literal[
    "cheaper", "budget", "emphasis", "brand", "use", "have", "colour", "store", "purpose", "swap", "line"
]


@dataclass(frozen=True)
class Change:
    """A refinement of a build. cheaper: value = fraction of the current total to aim for
    (default 0.85); budget: new USD budget; emphasis: {role: steps}; brand: a brand name (role
    inferred when None: NVIDIA → graphics card, else the CPU); use / have: a SKU; colour: a colour
    or None; store: a store id or None; purpose: a purpose; swap: the role whose part to replace;
    line: {attribute: value} the role's part must have (a model line: "换成4070")."""

    kind: ChangeKind
    value: Any = None
    role: str | None = None


@dataclass(frozen=True)
class PartChange:
    role: str
    before: BuildPart | None
    after: BuildPart | None

    @property
    def price_delta(self) -> float:
        return (self.after.price if self.after else 0.0) - (self.before.price if self.before else 0.0)


@dataclass(frozen=True)
class BuildDiff:
    changes: tuple[PartChange, ...]
    total_delta: float
    score_delta: float

    def text(self, lang: str = "en") -> str:
        def name(p: BuildPart | None) -> str:
            if p is None:
                return "—"
            if p.product is None:
                return "核显" if lang == "zh" else "integrated graphics"
            return p.product.name

        lines = [
            f"- {part_type_name(c.role if c.role != 'storage' else 'internal-hard-drive', lang)}: "
            f"{name(c.before)} → {name(c.after)} ({c.price_delta:+,.2f})"
            for c in self.changes
        ]
        if lang == "zh":
            lines.append(f"合计变化{self.total_delta:+,.2f}美元，评分变化{self.score_delta:+.1f}")
        else:
            lines.append(f"Total {self.total_delta:+,.2f} USD, score {self.score_delta:+.1f}")
        return "\n".join(lines)


class NoBuild(Exception):
    """No valid build meets the request; the reason says why in both languages, and
    `cheapest_usd` is the cheapest valid build's total when only the budget is too small."""

    def __init__(self, code: str, en: str, zh: str, cheapest_usd: float | None = None):
        super().__init__(en)
        self.code, self.en, self.zh, self.cheapest_usd = code, en, zh, cheapest_usd

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en
