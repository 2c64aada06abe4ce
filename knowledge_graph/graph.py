"""The product knowledge graph: a networkx MultiDiGraph with typed nodes and edges, plus the
indexes the query API needs to answer in a few milliseconds.

Nodes (attribute `kind`): product, category (with its parent chain), brand, part_type, value
(categorical attribute values, e.g. value:socket=AM5), power (PSU wattage tiers).
Edges (key = edge type): in_category, subcategory_of, made_by, is_a, has_value,
requires_socket / provides_socket, requires_memory / supports_memory, has_form_factor /
accepts_form_factor, cooler_fits_socket, needs_power / supplies_power, accessory_for / needs_accessory (between part
types), similar_to (product → its nearest neighbours of the same type)."""

from __future__ import annotations

import gc
import logging
import math
import time
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from threadpoolctl import threadpool_limits

from catalog import part_rules
from catalog.models import Category, Product
from catalog.reference import load_yaml, part_types
from knowledge_graph.vocab import attributes, tokens

log = logging.getLogger(__name__)

GRAPH_VERSION = "9"  # bump when the graph's shape changes, so caches rebuild
SIMILAR_K = 5
POWER_TIERS = tuple(range(300, 1650, 50))
# Categorical attributes that become value nodes (what a shopper filters or browses by).
VALUE_ATTRIBUTES = (
    "socket",
    "memory_type",
    "form_factor",
    "case_type",
    "panel_type",
    "resolution",
    "chipset",
    "microarchitecture",
    "storage_type",
    "cooler_type",
    "efficiency",
    "modular",
    "gpu_maker",
    "headphone_type",
    "connection_type",
    "style",
    "protocol",
    "color",
    "interface",
)


def node(kind: str, key: str) -> str:
    return f"{kind}:{key}"


@dataclass
class Columns:
    """Column store of the catalogue, aligned with `skus` (catalogue order = popularity rank):
    numbers (float, NaN when missing; booleans as 1/0) and lower-cased strings ("" when missing).
    Search filters run as numpy operations over these instead of a Python loop per product."""

    skus: list[str]
    price: np.ndarray
    numeric: dict[str, np.ndarray]
    text: dict[str, np.ndarray]
    part_type_idx: dict[str, np.ndarray]
    category_idx: dict[str, np.ndarray]
    brand_idx: dict[str, np.ndarray]

    @classmethod
    def build(
        cls,
        products: list[Product],
        by_part_type: dict[str, list[str]],
        by_category: dict[str, list[str]],
        by_brand: dict[str, list[str]],
    ) -> Columns:
        n = len(products)
        position = {p.sku: i for i, p in enumerate(products)}
        numeric: dict[str, tuple[list[int], list[float]]] = defaultdict(lambda: ([], []))
        text: dict[str, tuple[list[int], list[str]]] = defaultdict(lambda: ([], []))
        for i, p in enumerate(products):
            for key, value in p.attributes.items():
                kind = type(value)
                if kind is str:
                    rows, values = text[key]
                    rows.append(i)
                    values.append(value.lower())
                elif kind is int or kind is float or kind is bool:
                    rows, values = numeric[key]
                    rows.append(i)
                    values.append(float(value))

        def scatter(rows: list[int], values: list, fill: float | str, dtype) -> np.ndarray:
            column = np.full(n, fill, dtype=dtype)
            column[rows] = values
            return column

        def index(groups):
            return {k: np.array([position[s] for s in v], dtype=np.int64) for k, v in groups.items()}

        return cls(
            skus=[p.sku for p in products],
            price=np.array([p.price for p in products]),
            numeric={k: scatter(r, v, np.nan, float) for k, (r, v) in numeric.items()},
            text={k: scatter(r, v, "", f"<U{max(map(len, v))}") for k, (r, v) in text.items()},
            part_type_idx=index(by_part_type),
            category_idx=index(by_category),
            brand_idx=index(by_brand),
        )


@dataclass
class ProductGraph:
    graph: nx.MultiDiGraph
    products: dict[str, Product]
    categories: dict[str, Category]
    by_category: dict[str, list[str]]  # category id -> SKUs in it or any subcategory
    by_part_type: dict[str, list[str]]
    by_brand: dict[str, list[str]]  # lower-case brand -> SKUs
    token_index: dict[str, np.ndarray]  # name/brand/chipset token -> catalogue positions, sorted
    token_df: dict[str, int]
    token_idf: dict[str, float]  # log((N + 1) / (df + 1)): how much a word identifies a product
    name_index: dict[str, np.ndarray]  # name/brand token -> catalogue positions (no chipset words)
    similar: dict[str, list[str]]
    rank: dict[str, int]  # catalogue order (the source lists popular items first)
    columns: Columns  # attribute values as arrays, for vectorised filters
    edge_index: dict[tuple[str, str], np.ndarray]  # (edge type, target node) -> source positions, sorted
    name_tokens: dict[str, frozenset[str]]  # SKU -> tokens of name and brand
    name_idf: np.ndarray  # per position: summed idf of its name tokens
    name_size: np.ndarray  # per position: number of name tokens
    fingerprint: str = ""
    built_at: float = field(default_factory=time.time)

    brands: tuple[str, ...] = ()  # every brand in the catalogue, sorted
    used_categories: tuple[str, ...] = ()  # categories holding products, with their ancestors

    def product(self, sku: str) -> Product:
        try:
            return self.products[sku.strip().upper()]
        except KeyError:
            raise KeyError(f"unknown SKU {sku!r}") from None

    def category_chain(self, category_id: str) -> list[Category]:
        """Root → category."""
        return [self.categories[c] for c in self.categories[category_id].path_ids if c in self.categories]

    def neighbours(self, sku: str, edge: str) -> list[str]:
        return [v for _, v, k in self.graph.out_edges(node("product", sku), keys=True) if k == edge]

    def sources(self, edge: str, target: str) -> np.ndarray:
        """Catalogue positions of the products with an `edge` to `target` (e.g. provides_socket →
        value:socket=AM5), popular first; `columns.skus[i]` is the SKU."""
        return self.edge_index.get((edge, target), np.zeros(0, dtype=np.int64))


def _add_category_chain(g: nx.MultiDiGraph, categories: dict[str, Category], cid: str) -> None:
    cat = categories[cid]
    if g.has_node(node("category", cid)):
        return
    g.add_node(node("category", cid), kind="category", id=cid, name=cat.name)
    if cat.parent_id and cat.parent_id in categories:
        _add_category_chain(g, categories, cat.parent_id)
        g.add_edge(node("category", cid), node("category", cat.parent_id), key="subcategory_of")


def _similar_neighbours(products: list[Product], k: int) -> dict[str, list[str]]:
    """Nearest products of the same part type on key specs (numbers log-scaled and standardised,
    categories one-hot) and log price."""
    if len(products) < 2:
        return {}
    specs = part_types()[products[0].part_type].get("key_specs", [])
    columns: list[np.ndarray] = []
    for key in specs:
        values = [p.attributes.get(key) for p in products]
        numeric = [v for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
        if numeric and len(numeric) >= len([v for v in values if v is not None]) * 0.9:
            arr = np.array(
                [
                    np.log1p(max(float(v), 0))
                    if isinstance(v, (int, float)) and not isinstance(v, bool)
                    else np.nan
                    for v in values
                ]
            )
            mean, std = np.nanmean(arr), np.nanstd(arr) or 1.0
            columns.append(np.nan_to_num((arr - mean) / std, nan=0.0))
        else:
            weight = attributes()[key].importance / 3 if key in attributes() else 1.0
            labels = np.array(["" if v is None else str(v) for v in values])
            uniques, inverse = np.unique(labels, return_inverse=True)
            onehot = np.zeros((len(values), len(uniques)))
            onehot[np.arange(len(values)), inverse] = weight
            onehot[:, uniques == ""] = 0.0
            columns.extend(onehot.T)
    price = np.log([p.price for p in products])
    columns.append((price - price.mean()) / (price.std() or 1.0))
    matrix = np.stack(columns, axis=1).astype(np.float32)
    norms = (matrix**2).sum(axis=1)
    skus = np.array([p.sku for p in products], dtype=object)
    result: dict[str, list[str]] = {}
    k = min(k, len(products) - 1)
    for start in range(0, len(products), 1024):
        block = matrix[start : start + 1024]
        rows = np.arange(block.shape[0])
        dist = norms[start : start + 1024, None] + norms[None, :] - 2 * block @ matrix.T
        dist[rows, start + rows] = np.inf  # not its own neighbour
        nearest = np.argpartition(dist, k - 1, axis=1)[:, :k]  # the k closest, unordered
        closest_first = np.argsort(np.take_along_axis(dist, nearest, axis=1), axis=1, kind="stable")
        nearest = np.take_along_axis(nearest, closest_first, axis=1)
        result.update(zip(skus[start : start + len(rows)].tolist(), skus[nearest].tolist()))
    return result


def build_graph(
    products: Iterable[Product], categories: dict[str, Category], fingerprint: str = ""
) -> ProductGraph:
    """Build the graph and its indexes from catalogue records (any source: files or the database).

    The cyclic garbage collector is paused meanwhile: the build allocates ~1M long-lived objects
    and would otherwise trigger repeated full collections that find nothing to free."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        # One BLAS thread: the similarity products are small, and on shared cores a second BLAS
        # thread mostly spins waiting for the first (measured: 4x the wall time under load).
        with threadpool_limits(limits=1, user_api="blas"):
            return _build(list(products), categories, fingerprint)
    finally:
        if enabled:
            gc.enable()


def settle() -> None:
    """Move the loaded graph out of the collector's sight (gc.freeze): a full collection over a
    heap this size takes tens of milliseconds and would land in the middle of a query."""
    gc.collect()
    gc.freeze()


def _build(products: list[Product], categories: dict[str, Category], fingerprint: str) -> ProductGraph:
    g = nx.MultiDiGraph()
    by_category: dict[str, list[str]] = defaultdict(list)
    by_part_type: dict[str, list[str]] = defaultdict(list)
    by_brand: dict[str, list[str]] = defaultdict(list)
    token_index: dict[str, list[int]] = defaultdict(list)
    name_index: dict[str, list[int]] = defaultdict(list)
    tables = load_yaml("compatibility.yaml")

    for part_type, spec in part_types().items():
        g.add_node(node("part_type", part_type), kind="part_type", id=part_type, en=spec["en"], zh=spec["zh"])
    for part_type, rules in tables["accessories"].items():
        for rule in rules:
            g.add_edge(
                node("part_type", rule["part_type"]),
                node("part_type", part_type),
                key="accessory_for",
                compatible=bool(rule.get("compatible")),
                en=rule["en"],
                zh=rule["zh"],
            )
            # the same relation read from the other side, so a lookup does not scan the type's
            # thousands of incoming is_a edges
            g.add_edge(
                node("part_type", part_type),
                node("part_type", rule["part_type"]),
                key="needs_accessory",
                compatible=bool(rule.get("compatible")),
                en=rule["en"],
                zh=rule["zh"],
            )
    for watts in POWER_TIERS:
        g.add_node(node("power", str(watts)), kind="power", watts=watts)

    # Hot loop over ~16k products: nodes are added once (tracked in `known`), and the edges that
    # "what fits" looks up by target are indexed as they are added instead of in a second pass.
    add_edge = g.add_edge
    known: set[str] = set(g)
    sources: dict[tuple[str, str], list[int]] = defaultdict(list)
    name_tokens: dict[str, frozenset[str]] = {}

    def value_node(key: str, value: str) -> str:
        name = f"value:{key}={value}"
        if name not in known:
            g.add_node(name, kind="value", attribute=key, value=value)
            known.add(name)
        return name

    value_keys = frozenset(VALUE_ATTRIBUTES)
    word_sets: dict[str, frozenset[str]] = {}

    def word_set(text: str) -> frozenset[str]:
        """Tokens of a brand or chipset (a few hundred distinct ones, repeated across products)."""
        if text not in word_sets:
            word_sets[text] = frozenset(tokens(text))
        return word_sets[text]

    def fact(i: int, pn: str, edge: str, target: str) -> None:
        add_edge(pn, target, key=edge)
        sources[(edge, target)].append(i)

    for i, p in enumerate(products):
        pn = f"product:{p.sku}"
        g.add_node(pn, kind="product", sku=p.sku, name=p.name, price=p.price, part_type=p.part_type)
        cn = f"category:{p.category_id}"
        if cn not in known:
            if p.category_id not in categories:
                raise ValueError(f"{p.sku}: category {p.category_id} is not in the category tree")
            _add_category_chain(g, categories, p.category_id)
            known.update(f"category:{c}" for c in categories[p.category_id].path_ids)
            known.add(cn)
        add_edge(pn, cn, key="in_category")
        for cid in categories[p.category_id].path_ids:
            by_category[cid].append(p.sku)
        if p.brand:
            bn = f"brand:{p.brand}"
            if bn not in known:
                g.add_node(bn, kind="brand", name=p.brand)
                known.add(bn)
            add_edge(pn, bn, key="made_by")
            by_brand[p.brand.lower()].append(p.sku)
        if p.part_type:
            add_edge(pn, f"part_type:{p.part_type}", key="is_a")
            by_part_type[p.part_type].append(p.sku)
        attrs = p.attributes
        own = frozenset(tokens(p.name)) | word_set(p.brand or "")
        name_tokens[p.sku] = own
        for tok in own:
            name_index[tok].append(i)
        for tok in own | word_set(str(attrs.get("chipset", ""))):
            token_index[tok].append(i)
        for key, value in attrs.items():
            if key in value_keys and type(value) is str:
                fact(i, pn, "has_value", value_node(key, value))
        part_type = p.part_type
        socket = attrs.get("socket")
        if part_type == "cpu" and socket:
            fact(i, pn, "requires_socket", f"value:socket={socket}")
        elif part_type == "motherboard":
            if socket:
                fact(i, pn, "provides_socket", f"value:socket={socket}")
            if attrs.get("memory_type"):
                fact(i, pn, "supports_memory", f"value:memory_type={attrs['memory_type']}")
            if attrs.get("form_factor"):
                fact(i, pn, "has_form_factor", f"value:form_factor={attrs['form_factor']}")
        elif part_type == "memory" and attrs.get("memory_type"):
            fact(i, pn, "requires_memory", f"value:memory_type={attrs['memory_type']}")
        elif part_type == "case":
            for ff in part_rules.case_form_factors(attrs.get("case_type")):
                fact(i, pn, "accepts_form_factor", value_node("form_factor", ff))
        elif part_type == "cpu-cooler":
            for s in part_rules.cooler_sockets(p):
                fact(i, pn, "cooler_fits_socket", value_node("socket", s))
        elif part_type == "video-card":
            need = part_rules.recommended_psu(None, part_rules.gpu_power(attrs.get("chipset")))
            tier = next((t for t in POWER_TIERS if t >= need), POWER_TIERS[-1])
            fact(i, pn, "needs_power", f"power:{tier}")
        elif part_type == "power-supply" and attrs.get("wattage"):
            for t in POWER_TIERS:
                if t <= attrs["wattage"]:
                    fact(i, pn, "supplies_power", f"power:{t}")

    similar: dict[str, list[str]] = {}
    groups: dict[str, list[Product]] = defaultdict(list)
    for p in products:
        if p.part_type:
            groups[p.part_type].append(p)
    for members in groups.values():
        similar.update(_similar_neighbours(members, SIMILAR_K))
    for sku, others in similar.items():
        pn = f"product:{sku}"
        for rank, other in enumerate(others):
            add_edge(pn, f"product:{other}", key="similar_to", rank=rank)

    rank = {p.sku: i for i, p in enumerate(products)}
    edge_index = {k: np.unique(np.array(v, dtype=np.int64)) for k, v in sources.items()}
    token_df = {t: len(v) for t, v in token_index.items()}
    idf = {t: math.log((len(products) + 1) / (df + 1)) for t, df in token_df.items()}
    return ProductGraph(
        graph=g,
        products={p.sku: p for p in products},
        categories=categories,
        by_category=dict(by_category),
        by_part_type=dict(by_part_type),
        by_brand=dict(by_brand),
        token_index={t: np.array(v, dtype=np.int64) for t, v in token_index.items()},
        token_df=token_df,
        token_idf=idf,
        name_index={t: np.array(v, dtype=np.int64) for t, v in name_index.items()},
        name_idf=np.array([sum(idf[t] for t in name_tokens[p.sku]) for p in products]),
        name_size=np.array([len(name_tokens[p.sku]) for p in products]),
        similar=similar,
        rank=rank,
        columns=Columns.build(products, by_part_type, by_category, by_brand),
        edge_index=edge_index,
        name_tokens=name_tokens,
        brands=tuple(sorted({p.brand for p in products if p.brand})),
        used_categories=tuple(sorted(by_category)),
        fingerprint=fingerprint,
    )
