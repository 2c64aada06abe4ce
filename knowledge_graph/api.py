"""The typed query API the actions call: product details and attribute answers, comparison,
compatibility and "what fits", similar products and alternatives, accessories, product cards, and
a question router used for the Q&A benchmark. Every function takes the graph explicitly so tests
and benchmarks can build their own; actions use `get_graph()`."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from catalog import part_rules
from catalog.models import Product
from catalog.reference import load_yaml, part_types
from daogou.cards import CardData
from knowledge_graph.graph import ProductGraph, node
from knowledge_graph.linker import link
from knowledge_graph.parse import find_attribute, parse_search
from knowledge_graph.search import SearchQuery, search
from knowledge_graph.vocab import (
    attribute_name,
    attributes,
    category_name,
    format_price,
    format_value,
    part_type_name,
)

Lang = Literal["en", "zh"]


@dataclass(frozen=True)
class Spec:
    key: str
    name: str
    value: Any
    text: str


@dataclass(frozen=True)
class ProductDetails:
    product: Product
    kind: str  # part type or category name, in the language asked
    category_path: tuple[str, ...]
    specs: tuple[Spec, ...]  # key specs first, then the rest


def _spec(key: str, value: Any, lang: str) -> Spec:
    return Spec(key, attribute_name(key, lang), value, format_value(key, value, lang))


def key_spec_keys(product: Product) -> list[str]:
    spec = part_types().get(product.part_type or "", {})
    return [k for k in spec.get("key_specs", []) if k in product.attributes]


def key_specs(product: Product, lang: str, limit: int = 4) -> list[Spec]:
    keys = key_spec_keys(product) or [k for k in product.attributes if k not in ("upc", "product_type")]
    return [_spec(k, product.attributes[k], lang) for k in keys[:limit]]


def kind_name(graph: ProductGraph, product: Product, lang: str) -> str:
    if product.part_type:
        return part_type_name(product.part_type, lang)
    return category_name(graph.categories[product.category_id], lang)


def details(graph: ProductGraph, sku: str, lang: str = "en") -> ProductDetails:
    p = graph.product(sku)
    first = key_spec_keys(p)
    rest = [k for k in p.attributes if k not in first]
    return ProductDetails(
        product=p,
        kind=kind_name(graph, p, lang),
        category_path=tuple(category_name(c, lang) for c in graph.category_chain(p.category_id)),
        specs=tuple(_spec(k, p.attributes[k], lang) for k in first + rest),
    )


@dataclass(frozen=True)
class AttributeAnswer:
    product: Product
    attribute: str
    name: str
    value: Any  # None when the product has no such attribute
    text: str  # the value formatted with its unit, or "" when unknown


# an attribute that is absent when the answer is "none", and the yes/no attribute that says so
_ANSWERED_BY = {"integrated_graphics": "has_integrated_graphics"}


def attribute_answer(graph: ProductGraph, sku: str, attribute: str, lang: str = "en") -> AttributeAnswer:
    """One attribute of one product ("price" and "brand" included)."""
    p = graph.product(sku)
    if attribute == "price":
        return AttributeAnswer(
            p, "price", "价格" if lang == "zh" else "price", p.price, format_price(p.price, lang)
        )
    if attribute == "brand":
        return AttributeAnswer(p, "brand", "品牌" if lang == "zh" else "brand", p.brand, p.brand or "")
    if attribute not in attributes():
        raise ValueError(f"unknown attribute {attribute!r}")
    if attribute not in p.attributes and _ANSWERED_BY.get(attribute) in p.attributes:
        attribute = _ANSWERED_BY[attribute]  # "which integrated graphics?" on a CPU without: "no"
    value = p.attributes.get(attribute)
    return AttributeAnswer(
        p,
        attribute,
        attribute_name(attribute, lang),
        value,
        "" if value is None else format_value(attribute, value, lang),
    )


@dataclass(frozen=True)
class ComparisonRow:
    key: str
    name: str
    values: tuple[str, ...]  # formatted, "–" when a product lacks it
    best: int | None  # index of the best product on this row, when there is an order


@dataclass(frozen=True)
class Comparison:
    products: tuple[Product, ...]
    rows: tuple[ComparisonRow, ...]

    def table(self) -> list[list[str]]:
        head = [""] + [p.name for p in self.products]
        return [head] + [[r.name, *r.values] for r in self.rows]


def compare(graph: ProductGraph, skus: list[str], lang: str = "en") -> Comparison:
    """2–4 products side by side on price and the attributes that matter for their type."""
    unique = list(dict.fromkeys(s.strip().upper() for s in skus))
    if not 2 <= len(unique) <= 4:
        raise ValueError("compare needs 2 to 4 different products")
    products = [graph.product(s) for s in unique]
    keys: list[str] = []
    for p in products:
        keys.extend(k for k in key_spec_keys(p) if k not in keys)
    if not keys:
        keys = [
            k
            for k in dict.fromkeys(k for p in products for k in p.attributes)
            if k not in ("upc", "product_type")
        ][:6]
    rows = [
        ComparisonRow(
            "price",
            "价格" if lang == "zh" else "price",
            tuple(format_price(p.price, lang) for p in products),
            min(range(len(products)), key=lambda i: products[i].price),
        )
    ]
    info = attributes()
    for key in keys:
        values = [p.attributes.get(key) for p in products]
        better = load_yaml("attributes.yaml").get(key, {}).get("better")
        numeric = [
            (i, v) for i, v in enumerate(values) if isinstance(v, (int, float)) and not isinstance(v, bool)
        ]
        best = None
        if better and len(numeric) >= 2 and len({v for _, v in numeric}) > 1:
            pick = max if better == "higher" else min
            best = pick(numeric, key=lambda iv: iv[1])[0]
        rows.append(
            ComparisonRow(
                key,
                info[key].name(lang) if key in info else key,
                tuple("–" if v is None else format_value(key, v, lang) for v in values),
                best,
            )
        )
    return Comparison(tuple(products), tuple(rows))


def compatibility(graph: ProductGraph, sku_a: str, sku_b: str) -> part_rules.Compatibility:
    return part_rules.check(graph.product(sku_a), graph.product(sku_b))


@dataclass(frozen=True)
class BuildCheck:
    """A set of parts checked together: every pair rule, plus the power supply against the whole
    system's estimated draw."""

    skus: tuple[str, ...]
    compatible: bool | None
    reasons: tuple[part_rules.Reason, ...]
    estimated_draw_w: int
    recommended_psu_w: int

    def text(self, lang: str) -> str:
        return " ".join(r.text(lang) for r in self.reasons)


def check_build(graph: ProductGraph, skus: list[str]) -> BuildCheck:
    """Do these parts work together as one PC?"""
    parts = [graph.product(s) for s in dict.fromkeys(s.strip().upper() for s in skus)]
    if len(parts) < 2:
        raise ValueError("a build check needs at least 2 different products")
    reasons: list[part_rules.Reason] = []
    psus = [p for p in parts if p.part_type == "power-supply"]
    for i, a in enumerate(parts):
        for b in parts[i + 1 :]:
            if "power-supply" in (a.part_type, b.part_type):
                continue  # judged below against the whole system
            reasons.extend(r for r in part_rules.check(a, b).reasons if r.code != "no_rule")
    cpu_w, gpu_w = part_rules.estimated_draw(parts)
    draw = int(cpu_w + gpu_w + part_rules.system_base_w())
    need = part_rules.recommended_psu(cpu_w, gpu_w)
    for psu in psus:
        watts = psu.attributes.get("wattage")
        if watts:
            ok = watts >= need
            reasons.append(
                part_rules.Reason(
                    "psu_wattage",
                    ok,
                    f"The build draws about {draw} W; we recommend at least {need} W and {psu.name} gives {watts} W"
                    + ("." if ok else ", which is not enough."),
                    f"整机功耗约{draw}瓦，建议电源至少{need}瓦，{psu.name}为{watts}瓦"
                    + ("，够用。" if ok else "，功率不够。"),
                )
            )
    verdicts = [r.ok for r in reasons]
    verdict = None if not reasons else False if False in verdicts else None if None in verdicts else True
    return BuildCheck(tuple(p.sku for p in parts), verdict, tuple(reasons), draw, need)


@dataclass(frozen=True)
class ProductGroup:
    """Products of one part type related to a product (what fits it, what to buy with it), with
    why, in both languages."""

    part_type: str
    reason_en: str
    reason_zh: str
    products: tuple[Product, ...]
    total: int

    def reason(self, lang: str) -> str:
        return self.reason_zh if lang == "zh" else self.reason_en


FitGroup = AccessoryGroup = ProductGroup


def _fitting(graph: ProductGraph, p: Product, part_type: str) -> np.ndarray | None:
    """Catalogue positions (popular first) of the `part_type` products that fit p, read off the
    graph's compatibility edges (each edge type links one part type); None when no rule links
    the two types."""
    cols = graph.columns

    def via(out_edge: str, in_edge: str) -> np.ndarray:
        found = [graph.sources(in_edge, target) for target in graph.neighbours(p.sku, out_edge)]
        if not found:
            return np.zeros(0, dtype=np.int64)
        return found[0] if len(found) == 1 else np.unique(np.concatenate(found))

    def memory_fits(boards: np.ndarray, rams: np.ndarray) -> np.ndarray:
        """Capacity and module count within the board's limits (the generation is the edge)."""
        num = cols.numeric
        with np.errstate(invalid="ignore"):
            too_big = num["capacity"][rams] > num["max_memory"][boards]
            too_many = num["module_count"][rams] > num["memory_slots"][boards]
        return ~(too_big | too_many)

    pair = (p.part_type, part_type)
    here = np.int64(graph.rank[p.sku])
    if pair == ("cpu", "motherboard"):
        return via("requires_socket", "provides_socket")
    if pair == ("motherboard", "cpu"):
        return via("provides_socket", "requires_socket")
    if pair == ("motherboard", "memory"):
        found = via("supports_memory", "requires_memory")
        return found[memory_fits(np.full(len(found), here), found)]
    if pair == ("memory", "motherboard"):
        found = via("requires_memory", "supports_memory")
        return found[memory_fits(found, np.full(len(found), here))]
    if pair == ("motherboard", "case"):
        return via("has_form_factor", "accepts_form_factor")
    if pair == ("case", "motherboard"):
        return via("accepts_form_factor", "has_form_factor")
    if pair in (("cpu", "cpu-cooler"), ("motherboard", "cpu-cooler")):
        return via("requires_socket" if p.part_type == "cpu" else "provides_socket", "cooler_fits_socket")
    if pair == ("video-card", "power-supply"):
        return via("needs_power", "supplies_power")
    if pair == ("power-supply", "video-card"):
        return via("supplies_power", "needs_power")
    if pair == ("cpu", "power-supply"):
        need = part_rules.recommended_psu(p.attributes.get("tdp"), 0)
        idx = cols.part_type_idx.get("power-supply", np.zeros(0, dtype=np.int64))
        with np.errstate(invalid="ignore"):
            return np.sort(idx[cols.numeric["wattage"][idx] >= need])
    return None


_FIT_TYPES = {
    "cpu": ["motherboard", "cpu-cooler", "power-supply"],
    "motherboard": ["cpu", "memory", "case"],
    "memory": ["motherboard"],
    "case": ["motherboard"],
    "video-card": ["power-supply"],
    "power-supply": ["video-card"],
    "cpu-cooler": [],
}


def compatible_with(
    graph: ProductGraph,
    sku: str,
    part_type: str | None = None,
    limit: int = 5,
    price_max: float | None = None,
) -> list[FitGroup]:
    """What fits with a part: per related part type, the fitting products (popular first)."""
    p = graph.product(sku)
    wanted = [part_type] if part_type else _FIT_TYPES.get(p.part_type or "", [])
    groups = []
    for pt in wanted:
        idx = _fitting(graph, p, pt)
        if idx is None:
            continue
        if price_max is not None:
            idx = idx[graph.columns.price[idx] <= price_max]
        en, zh = _fit_reason(p, pt)
        groups.append(
            ProductGroup(
                pt, en, zh, tuple(graph.products[graph.columns.skus[i]] for i in idx[:limit]), len(idx)
            )
        )
    return groups


def _fit_reason(p: Product, part_type: str) -> tuple[str, str]:
    a = p.attributes
    if part_type in ("motherboard", "cpu") and a.get("socket"):
        return f"socket {a['socket']}", f"{a['socket']}插槽"
    if part_type == "memory" or (part_type == "motherboard" and p.part_type == "memory"):
        return f"{a.get('memory_type', '')} memory", f"{a.get('memory_type', '')}内存"
    if part_type == "case":
        return f"takes {a.get('form_factor')} boards", f"能装{a.get('form_factor')}主板"
    if part_type == "motherboard" and p.part_type == "case":
        return f"fits a {a.get('case_type')}", f"装得进{a.get('case_type')}"
    if part_type == "power-supply":
        cpu_w, gpu_w = part_rules.estimated_draw([p])
        need = part_rules.recommended_psu(cpu_w, gpu_w)
        return f"at least {need} W", f"至少{need}瓦"
    if part_type == "video-card":
        return f"within {a.get('wattage')} W", f"{a.get('wattage')}瓦以内"
    if part_type == "cpu-cooler":
        return f"mounts on {a.get('socket')}", f"支持{a.get('socket')}扣具"
    return "", ""


def similar(
    graph: ProductGraph, sku: str, mode: Literal["similar", "cheaper", "better"] = "similar", limit: int = 5
) -> list[Product]:
    """Similar products (nearest on key specs and price), cheaper alternatives (same essentials,
    lower price, closest first) or better ones (same essentials, higher primary spec, at most 1.5×
    the price, cheapest first)."""
    p = graph.product(sku)
    if mode == "similar":
        return [graph.products[s] for s in graph.similar.get(p.sku, [])][:limit]
    if mode not in ("cheaper", "better"):
        raise ValueError(f"unknown mode {mode!r}; use similar, cheaper or better")
    cols = graph.columns
    idx = cols.part_type_idx.get(p.part_type) if p.part_type else cols.category_idx.get(p.category_id)
    idx = idx[idx != graph.rank[p.sku]]
    spec = part_types().get(p.part_type or "", {})
    for key in spec.get("same_for_alternatives", []):
        value = p.attributes.get(key)
        if value is None:
            continue
        if isinstance(value, str):
            idx = idx[cols.text[key][idx] == value.lower()]
        else:
            idx = idx[np.isclose(cols.numeric[key][idx], float(value))]
    primary = spec.get("primary_spec")
    mine = p.attributes.get(primary) if primary else None
    numeric = isinstance(mine, (int, float)) and not isinstance(mine, bool) and primary in cols.numeric
    prices = cols.price[idx]
    if mode == "cheaper":
        idx = idx[prices < p.price]
        if numeric:
            gap = np.abs(cols.numeric[primary][idx] - mine) / max(abs(mine), 1)
            gap = np.where(np.isnan(gap), np.inf, gap)
        else:
            gap = np.zeros(len(idx))
        order = np.lexsort((-cols.price[idx], gap))
    else:
        if not numeric:
            return []
        with np.errstate(invalid="ignore"):
            keep = (cols.numeric[primary][idx] > mine) & (prices >= p.price) & (prices <= p.price * 1.5)
        idx = idx[keep]
        order = np.lexsort((idx, cols.price[idx]))
    return [graph.products[cols.skus[i]] for i in idx[order[:limit]]]


def accessories(graph: ProductGraph, sku: str, per_type: int = 3) -> list[AccessoryGroup]:
    """What to buy with a product, from the needs_accessory edges between part types; for parts
    that must match (memory for a motherboard…) only compatible ones."""
    p = graph.product(sku)
    if not p.part_type:
        return []
    groups = []
    for _, acc_node, key, data in graph.graph.out_edges(node("part_type", p.part_type), keys=True, data=True):
        if key != "needs_accessory":
            continue
        acc_type = graph.graph.nodes[acc_node]["id"]
        if data.get("compatible"):
            idx = _fitting(graph, p, acc_type)
            skus = [] if idx is None else [graph.columns.skus[i] for i in idx]
        else:
            skus = graph.by_part_type.get(acc_type, [])
        groups.append(
            ProductGroup(
                acc_type, data["en"], data["zh"], tuple(graph.products[s] for s in skus[:per_type]), len(skus)
            )
        )
    return groups


# --- cards for rich channels ---------------------------------------------------------------------


def product_card(graph: ProductGraph, product: Product, lang: str = "en") -> CardData:
    """Data of one product card (daogou.cards, the payload the channels read): name, price, key
    specs, image when there is one."""
    return {
        "sku": product.sku,
        "name": product.name,
        "brand": product.brand,
        "price": product.price,
        "price_text": format_price(product.price, lang),
        "kind": kind_name(graph, product, lang),
        "specs": [{"name": s.name, "value": s.text} for s in key_specs(product, lang)],
        "image": product.image,
        "url": product.url,
    }


def spec_line(product: Product, lang: str, limit: int = 3) -> str:
    """ "8 cores, 5.2 GHz, AM5" style summary of the key specs."""
    specs = key_specs(product, lang, limit)
    sep = "，" if lang == "zh" else ", "
    return sep.join(f"{s.name} {s.text}" for s in specs)


# --- question answering (benchmark and free-form questions) ---------------------------------------


@dataclass(frozen=True)
class Answer:
    kind: Literal["attribute", "compatibility", "comparison", "search", "unknown"]
    value: Any
    text: str
    skus: tuple[str, ...] = field(default_factory=tuple)


_COMPAT_WORDS = re.compile(
    r"(?i)\b(fit|fits|compatible|work with|works with|go with|support|supports)\b|兼容|适配|能用|能装|装得上|支持吗|配得上|搭配"
)
_COMPARE_WORDS = re.compile(r"(?i)\b(compare|vs\.?|versus|difference|better)\b|对比|比较|区别|哪个好|哪个更")


def answer(graph: ProductGraph, text: str, lang: str = "en") -> Answer:
    """Route a free-form question: two products + fit words → compatibility; two + compare words →
    comparison; one product + an attribute word → that attribute; otherwise a search."""
    # the best reading of each product named (the conversation asks which one; a one-shot answer cannot)
    mentions = [graph.products[m.sku] for m in link(graph, text, limit=2)]
    if len(mentions) == 2 and _COMPAT_WORDS.search(text):
        result = compatibility(graph, mentions[0].sku, mentions[1].sku)
        return Answer(
            "compatibility", result.compatible, result.text(lang), (mentions[0].sku, mentions[1].sku)
        )
    if len(mentions) == 2 and _COMPARE_WORDS.search(text):
        table = compare(graph, [m.sku for m in mentions], lang)
        return Answer(
            "comparison",
            table,
            "\n".join(" | ".join(r) for r in table.table()),
            tuple(p.sku for p in table.products),
        )
    if mentions:
        product = mentions[0]
        attribute = find_attribute(text, product)
        if attribute:
            a = attribute_answer(graph, product.sku, attribute, lang)
            if a.value is None:
                text_out = (
                    f"我们的数据里没有{product.name}的{a.name}。"
                    if lang == "zh"
                    else f"Our data does not list the {a.name} of the {product.name}."
                )
            else:
                text_out = (
                    f"{product.name}的{a.name}是{a.text}。"
                    if lang == "zh"
                    else f"{product.name} — {a.name}: {a.text}."
                )
            return Answer("attribute", a.value, text_out, (product.sku,))
    try:
        parsed = parse_search(graph, text)
    except ValueError:
        return Answer("unknown", None, "")
    result = search(graph, parsed.query)
    return Answer(
        "search", result, ", ".join(p.name for p in result.items), tuple(p.sku for p in result.items)
    )


__all__ = [
    "AccessoryGroup",
    "Answer",
    "BuildCheck",
    "ProductGroup",
    "check_build",
    "AttributeAnswer",
    "Comparison",
    "ComparisonRow",
    "FitGroup",
    "ProductDetails",
    "SearchQuery",
    "Spec",
    "accessories",
    "answer",
    "attribute_answer",
    "compare",
    "compatibility",
    "compatible_with",
    "details",
    "key_specs",
    "product_card",
    "similar",
    "spec_line",
]
