"""Constrained product search: category (with subcategories), brand, price range, typed attribute
filters, free text; sorting and pages. When nothing matches, the least important constraint is
relaxed, one at a time, and the result says which."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np

from catalog.models import Product
from knowledge_graph.graph import ProductGraph
from knowledge_graph.vocab import (
    attribute_name,
    attributes,
    category_name,
    format_price,
    format_value,
    part_type_name,
    tokens,
    value_text,
)

Op = Literal["eq", "ne", "gte", "lte", "contains", "in"]
Sort = Literal["relevance", "price_asc", "price_desc"]
_EMPTY = np.zeros(0, dtype=np.int64)
_OP_TEXT = {
    "eq": ("", ""),
    "ne": ("not ", "非"),
    "gte": ("≥ ", "≥"),
    "lte": ("≤ ", "≤"),
    "contains": ("", ""),
    "in": ("", ""),
}


@dataclass(frozen=True)
class AttributeFilter:
    """One typed condition on an attribute, in its canonical unit (data/catalog/attributes.yaml)."""

    key: str
    op: Op
    value: Any

    def __post_init__(self) -> None:
        if self.op not in _OP_TEXT:
            raise ValueError(f"unknown filter operator {self.op!r}; use one of {sorted(_OP_TEXT)}")
        if self.op in ("gte", "lte") and not isinstance(self.value, (int, float)):
            raise ValueError(f"{self.key} {self.op} needs a number, got {self.value!r}")

    def matches(self, attrs: dict[str, Any]) -> bool:
        have = attrs.get(self.key)
        if have is None:
            return self.op == "ne"
        if self.op in ("gte", "lte"):
            if not isinstance(have, (int, float)) or isinstance(have, bool):
                return False
            return have >= self.value if self.op == "gte" else have <= self.value
        if self.op == "in":
            return str(have).lower() in {str(v).lower() for v in self.value}
        if isinstance(self.value, bool) or isinstance(have, bool):
            same = have == self.value
        elif isinstance(have, (int, float)) and isinstance(self.value, (int, float)):
            same = math.isclose(have, self.value, rel_tol=1e-6)
        elif self.op == "contains":
            same = str(self.value).lower() in str(have).lower()
        else:
            same = str(have).lower() == str(self.value).lower()
        return not same if self.op == "ne" else same

    def describe(self, lang: str) -> str:
        name = attribute_name(self.key, lang)
        if isinstance(self.value, bool):
            return (
                (("" if self.value else "非") + name)
                if lang == "zh"
                else (("" if self.value else "no ") + name)
            )
        if self.op == "in":
            return (
                f"{name}{'：' if lang == 'zh' else ': '}{'/'.join(value_text(v, lang) for v in self.value)}"
            )
        prefix = _OP_TEXT[self.op][1 if lang == "zh" else 0]
        sep = "" if lang == "zh" else " "
        return f"{name}{sep}{prefix}{format_value(self.key, self.value, lang)}"


@dataclass(frozen=True)
class SearchQuery:
    category: str | None = None  # Best Buy category id; subcategories included
    part_type: str | None = None
    brands: tuple[str, ...] = ()
    price_min: float | None = None
    price_max: float | None = None
    filters: tuple[AttributeFilter, ...] = ()
    text: str | None = None  # words that must all appear in the name
    exclude: tuple[str, ...] = ()  # SKUs not to show (e.g. the product being compared against)
    sort: Sort = "relevance"
    page: int = 1
    page_size: int = 5

    def __post_init__(self) -> None:
        if self.page < 1 or not 1 <= self.page_size <= 100:
            raise ValueError("page must be ≥ 1 and page_size between 1 and 100")
        if self.price_min is not None and self.price_max is not None and self.price_min > self.price_max:
            raise ValueError(f"price_min {self.price_min} is above price_max {self.price_max}")
        if self.sort not in ("relevance", "price_asc", "price_desc"):
            raise ValueError(f"unknown sort {self.sort!r}")

    def describe(self, graph: ProductGraph, lang: str) -> str:
        """The constraints in words, e.g. "AMD CPU, ≤ $300" / "AMD处理器，≤300.00美元"."""
        parts = []
        what = ""
        if self.part_type:
            what = part_type_name(self.part_type, lang)
        elif self.category and self.category in graph.categories:
            what = category_name(graph.categories[self.category], lang)
        if self.brands:
            what = "/".join(self.brands) + ("" if lang == "zh" else " ") + what
        if what.strip():
            parts.append(what.strip())
        if self.price_min is not None and self.price_max is not None:
            parts.append(f"{format_price(self.price_min, lang)}–{format_price(self.price_max, lang)}")
        elif self.price_max is not None:
            parts.append(
                f"≤ {format_price(self.price_max, lang)}"
                if lang == "en"
                else f"≤{format_price(self.price_max, lang)}"
            )
        elif self.price_min is not None:
            parts.append(
                f"≥ {format_price(self.price_min, lang)}"
                if lang == "en"
                else f"≥{format_price(self.price_min, lang)}"
            )
        parts.extend(f.describe(lang) for f in self.filters)
        if self.text:
            parts.append(f"“{self.text}”")
        return ("，" if lang == "zh" else ", ").join(parts)


@dataclass(frozen=True)
class Relaxation:
    """A constraint dropped because nothing matched with it."""

    constraint: str  # "text", "filter:<key>", "brand", "price_min", "price_max"
    en: str
    zh: str

    def text(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class SearchResult:
    items: tuple[Product, ...]
    total: int
    query: SearchQuery  # the query that produced the items (after relaxation)
    relaxed: tuple[Relaxation, ...] = field(default_factory=tuple)

    @property
    def has_more(self) -> bool:
        return self.query.page * self.query.page_size < self.total


def _filter_mask(graph: ProductGraph, f: AttributeFilter, idx: np.ndarray) -> np.ndarray:
    """AttributeFilter.matches, vectorised over the products at positions idx."""
    cols = graph.columns
    if f.key in cols.numeric and (isinstance(f.value, (int, float)) or f.op in ("gte", "lte")):
        values = cols.numeric[f.key][idx]
        target = float(f.value)
        with np.errstate(invalid="ignore"):
            if f.op == "gte":
                return values >= target
            if f.op == "lte":
                return values <= target
            same = np.isclose(values, target, rtol=1e-6, atol=0.0)
        return ~same if f.op == "ne" else same
    if f.key in cols.text and f.op not in ("gte", "lte"):
        values = cols.text[f.key][idx]
        if f.op == "in":
            return np.isin(values, [str(v).lower() for v in f.value])
        wanted = str(f.value).lower()
        if f.op == "contains":
            return np.char.find(values, wanted) >= 0
        same = values == wanted
        return ~same if f.op == "ne" else same
    # the attribute holds no value of this kind anywhere: only "ne" can match
    return np.full(len(idx), f.op == "ne")


def _positions(graph: ProductGraph, q: SearchQuery) -> np.ndarray:
    """Catalogue positions matching every constraint, in catalogue (popularity) order."""
    cols = graph.columns
    pools: list[np.ndarray] = []
    if q.category:
        if q.category not in graph.categories:
            raise ValueError(f"unknown category id {q.category!r}")
        pools.append(cols.category_idx.get(q.category, _EMPTY))
    if q.part_type:
        pools.append(cols.part_type_idx.get(q.part_type, _EMPTY))
    if q.brands:
        pools.append(np.unique(np.concatenate([cols.brand_idx.get(b.lower(), _EMPTY) for b in q.brands])))
    if q.text:
        words = tokens(q.text)
        postings = sorted((graph.token_index.get(w, _EMPTY) for w in words), key=len) if words else [_EMPTY]
        hit = postings[0]
        for other in postings[1:]:
            hit = hit[np.isin(hit, other, assume_unique=True)]
        pools.append(hit)
    if pools:
        pools.sort(key=len)
        idx = pools[0]
        for other in pools[1:]:
            idx = idx[np.isin(idx, other, assume_unique=True)]
    else:
        idx = np.arange(len(cols.skus))
    if q.exclude:
        idx = idx[~np.isin(idx, [graph.rank[s] for s in q.exclude if s in graph.rank])]
    if q.price_min is not None:
        idx = idx[cols.price[idx] >= q.price_min]
    if q.price_max is not None:
        idx = idx[cols.price[idx] <= q.price_max]
    for f in q.filters:
        if not len(idx):
            break
        idx = idx[_filter_mask(graph, f, idx)]
    return np.sort(idx)


def _order(graph: ProductGraph, q: SearchQuery, idx: np.ndarray) -> np.ndarray:
    if q.sort == "price_asc":
        return idx[np.argsort(graph.columns.price[idx], kind="stable")]
    if q.sort == "price_desc":
        return idx[np.argsort(-graph.columns.price[idx], kind="stable")]
    # relevance: the catalogue's own order (the source lists popular items first); with text,
    # names where the words make up more of the name come first
    if q.text and len(idx):
        words = set(tokens(q.text))
        share = -len(words) / np.maximum(graph.name_size[idx], 1)
        return idx[np.argsort(share, kind="stable")]
    return idx


def _relaxations(graph: ProductGraph, q: SearchQuery) -> list[tuple[SearchQuery, Relaxation]]:
    """Candidate single relaxations, least important first."""
    steps: list[tuple[SearchQuery, Relaxation]] = []
    if q.text:
        steps.append(
            (replace(q, text=None), Relaxation("text", f"the words “{q.text}”", f"关键词“{q.text}”"))
        )
    info = attributes()
    for f in sorted(q.filters, key=lambda f: info[f.key].importance if f.key in info else 3):
        rest = tuple(x for x in q.filters if x is not f)
        steps.append(
            (replace(q, filters=rest), Relaxation(f"filter:{f.key}", f.describe("en"), f.describe("zh")))
        )
    if q.brands:
        names = "/".join(q.brands)
        steps.append((replace(q, brands=()), Relaxation("brand", f"the brand {names}", f"品牌{names}")))
    if q.price_min is not None:
        steps.append(
            (
                replace(q, price_min=None, sort="price_desc" if q.sort == "relevance" else q.sort),
                Relaxation(
                    "price_min",
                    f"the minimum price {format_price(q.price_min, 'en')}",
                    f"最低价格{format_price(q.price_min, 'zh')}",
                ),
            )
        )
    if q.price_max is not None:
        steps.append(
            (
                replace(q, price_max=None, sort="price_asc" if q.sort == "relevance" else q.sort),
                Relaxation(
                    "price_max",
                    f"the budget of {format_price(q.price_max, 'en')}",
                    f"{format_price(q.price_max, 'zh')}的预算",
                ),
            )
        )
    return steps


def search(graph: ProductGraph, query: SearchQuery, relax: bool = True) -> SearchResult:
    """Products matching every constraint, sorted and paginated. With `relax`, when nothing
    matches, drop the least important constraint (text, then filters by importance, brand, minimum
    price, budget) until something does; the category is never dropped."""
    q = query
    relaxed: list[Relaxation] = []
    idx = _positions(graph, q)
    while not len(idx) and relax:
        steps = _relaxations(graph, q)
        if not steps:
            break
        for candidate, why in steps:
            found = _positions(graph, candidate)
            if len(found):
                q, idx = candidate, found
                relaxed.append(why)
                break
        else:
            q, why = steps[0]
            relaxed.append(why)
            idx = _positions(graph, q)
    ordered = _order(graph, q, idx)
    start = (q.page - 1) * q.page_size
    page = ordered[start : start + q.page_size]
    return SearchResult(
        tuple(graph.products[graph.columns.skus[i]] for i in page), int(len(ordered)), q, tuple(relaxed)
    )


def query_to_dict(q: SearchQuery) -> dict[str, Any]:
    """JSON-safe form of a query (kept in a dialogue slot for refinement across turns)."""
    return {
        "category": q.category,
        "part_type": q.part_type,
        "brands": list(q.brands),
        "price_min": q.price_min,
        "price_max": q.price_max,
        "filters": [
            [f.key, f.op, list(f.value) if isinstance(f.value, tuple) else f.value] for f in q.filters
        ],
        "text": q.text,
        "exclude": list(q.exclude),
        "sort": q.sort,
        "page": q.page,
        "page_size": q.page_size,
    }


def query_from_dict(data: dict[str, Any]) -> SearchQuery:
    """Inverse of query_to_dict; raises ValueError on a malformed dict."""
    try:
        filters = tuple(
            AttributeFilter(k, op, tuple(v) if isinstance(v, list) else v)
            for k, op, v in data.get("filters", [])
        )
        return SearchQuery(
            category=data.get("category"),
            part_type=data.get("part_type"),
            brands=tuple(data.get("brands") or ()),
            price_min=data.get("price_min"),
            price_max=data.get("price_max"),
            filters=filters,
            text=data.get("text"),
            exclude=tuple(data.get("exclude") or ()),
            sort=data.get("sort") or "relevance",
            page=int(data.get("page") or 1),
            page_size=int(data.get("page_size") or 5),
        )
    except (TypeError, AttributeError) as exc:
        raise ValueError(f"not a search query: {data!r}") from exc
