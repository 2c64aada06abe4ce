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
import hashlib
import logging
import pickle
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable

import networkx as nx
import numpy as np

from catalog.models import Category, Product
from catalog.reference import load_yaml, part_types, reference_files
from knowledge_graph import compat
from knowledge_graph.vocab import attributes, tokens

log = logging.getLogger(__name__)

GRAPH_VERSION = "8"            # bump when the graph's shape changes, so caches rebuild
SIMILAR_K = 5
POWER_TIERS = tuple(range(300, 1650, 50))
# Categorical attributes that become value nodes (what a shopper filters or browses by).
VALUE_ATTRIBUTES = ("socket", "memory_type", "form_factor", "case_type", "panel_type", "resolution", "chipset",
                    "microarchitecture", "storage_type", "cooler_type", "efficiency", "modular", "gpu_maker",
                    "headphone_type", "connection_type", "style", "protocol", "color", "interface")


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
    def build(cls, products: list[Product], by_part_type: dict[str, list[str]], by_category: dict[str, list[str]],
              by_brand: dict[str, list[str]]) -> "Columns":
        n = len(products)
        position = {p.sku: i for i, p in enumerate(products)}
        numeric: dict[str, np.ndarray] = {}
        text: dict[str, list[str]] = {}
        for i, p in enumerate(products):
            for key, value in p.attributes.items():
                if isinstance(value, (bool, int, float)):
                    if key not in numeric:
                        numeric[key] = np.full(n, np.nan)
                    numeric[key][i] = float(value)
                elif isinstance(value, str):
                    if key not in text:
                        text[key] = [""] * n
                    text[key][i] = value.lower()
        index = lambda groups: {k: np.array([position[s] for s in v], dtype=np.int64) for k, v in groups.items()}  # noqa: E731
        return cls(skus=[p.sku for p in products], price=np.array([p.price for p in products]), numeric=numeric,
                   text={k: np.array(v, dtype=str) for k, v in text.items()},
                   part_type_idx=index(by_part_type), category_idx=index(by_category),
                   brand_idx=index(by_brand))


@dataclass
class ProductGraph:
    graph: nx.MultiDiGraph
    products: dict[str, Product]
    categories: dict[str, Category]
    by_category: dict[str, list[str]]          # category id -> SKUs in it or any subcategory
    by_part_type: dict[str, list[str]]
    by_brand: dict[str, list[str]]             # lower-case brand -> SKUs
    token_index: dict[str, set[str]]           # name token -> SKUs
    token_df: dict[str, int]
    similar: dict[str, list[str]]
    rank: dict[str, int]                       # catalogue order (the source lists popular items first)
    columns: "Columns"                         # attribute values as arrays, for vectorised filters
    edge_index: dict[tuple[str, str], np.ndarray]  # (edge type, target node) -> source positions, sorted
    name_tokens: dict[str, frozenset[str]]     # SKU -> tokens of name, brand and chipset
    fingerprint: str = ""
    built_at: float = field(default_factory=time.time)

    brands: tuple[str, ...] = ()               # every brand in the catalogue, sorted
    used_categories: tuple[str, ...] = ()      # categories holding products, with their ancestors

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
            arr = np.array([np.log1p(max(float(v), 0)) if isinstance(v, (int, float)) and not isinstance(v, bool)
                            else np.nan for v in values])
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
    norms = (matrix ** 2).sum(axis=1)
    result: dict[str, list[str]] = {}
    k = min(k, len(products) - 1)
    for start in range(0, len(products), 1024):
        block = matrix[start:start + 1024]
        dist = norms[start:start + 1024, None] + norms[None, :] - 2 * block @ matrix.T
        for row in range(block.shape[0]):
            dist[row, start + row] = np.inf
        nearest = np.argpartition(dist, k, axis=1)[:, :k]
        for row, cols in enumerate(nearest):
            order = cols[np.argsort(dist[row, cols])]
            result[products[start + row].sku] = [products[i].sku for i in order]
    return result


def build_graph(products: Iterable[Product], categories: dict[str, Category], fingerprint: str = "") -> ProductGraph:
    """Build the graph and its indexes from catalogue records (any source: files or the database).

    The cyclic garbage collector is paused meanwhile: the build allocates ~1M long-lived objects
    and would otherwise trigger repeated full collections that find nothing to free."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(list(products), categories, fingerprint)
    finally:
        if enabled:
            gc.enable()


def _settle() -> None:
    """Move the loaded graph out of the collector's sight (gc.freeze): a full collection over a
    heap this size takes tens of milliseconds and would land in the middle of a query."""
    gc.collect()
    gc.freeze()


def _build(products: list[Product], categories: dict[str, Category], fingerprint: str) -> ProductGraph:
    g = nx.MultiDiGraph()
    by_category: dict[str, list[str]] = defaultdict(list)
    by_part_type: dict[str, list[str]] = defaultdict(list)
    by_brand: dict[str, list[str]] = defaultdict(list)
    token_index: dict[str, set[str]] = defaultdict(set)
    tables = load_yaml("compatibility.yaml")

    for part_type, spec in part_types().items():
        g.add_node(node("part_type", part_type), kind="part_type", id=part_type, en=spec["en"], zh=spec["zh"])
    for part_type, rules in tables["accessories"].items():
        for rule in rules:
            g.add_edge(node("part_type", rule["part_type"]), node("part_type", part_type), key="accessory_for",
                       compatible=bool(rule.get("compatible")), en=rule["en"], zh=rule["zh"])
            # the same relation read from the other side, so a lookup does not scan the type's
            # thousands of incoming is_a edges
            g.add_edge(node("part_type", part_type), node("part_type", rule["part_type"]), key="needs_accessory",
                       compatible=bool(rule.get("compatible")), en=rule["en"], zh=rule["zh"])
    for watts in POWER_TIERS:
        g.add_node(node("power", str(watts)), kind="power", watts=watts)

    for p in products:
        pn = node("product", p.sku)
        g.add_node(pn, kind="product", sku=p.sku, name=p.name, price=p.price, part_type=p.part_type)
        if p.category_id not in categories:
            raise ValueError(f"{p.sku}: category {p.category_id} is not in the category tree")
        _add_category_chain(g, categories, p.category_id)
        g.add_edge(pn, node("category", p.category_id), key="in_category")
        for cid in categories[p.category_id].path_ids:
            by_category[cid].append(p.sku)
        if p.brand:
            g.add_node(node("brand", p.brand), kind="brand", name=p.brand)
            g.add_edge(pn, node("brand", p.brand), key="made_by")
            by_brand[p.brand.lower()].append(p.sku)
        if p.part_type:
            g.add_edge(pn, node("part_type", p.part_type), key="is_a")
            by_part_type[p.part_type].append(p.sku)
        for tok in set(tokens(p.name)) | set(tokens(p.brand or "")) | set(tokens(str(p.attributes.get("chipset", "")))):
            token_index[tok].add(p.sku)
        attrs = p.attributes
        for key in VALUE_ATTRIBUTES:
            value = attrs.get(key)
            if isinstance(value, str):
                g.add_node(node("value", f"{key}={value}"), kind="value", attribute=key, value=value)
                g.add_edge(pn, node("value", f"{key}={value}"), key="has_value")
        socket = attrs.get("socket")
        if p.part_type == "cpu" and socket:
            g.add_edge(pn, node("value", f"socket={socket}"), key="requires_socket")
        elif p.part_type == "motherboard":
            if socket:
                g.add_edge(pn, node("value", f"socket={socket}"), key="provides_socket")
            if attrs.get("memory_type"):
                g.add_edge(pn, node("value", f"memory_type={attrs['memory_type']}"), key="supports_memory")
            if attrs.get("form_factor"):
                g.add_edge(pn, node("value", f"form_factor={attrs['form_factor']}"), key="has_form_factor")
        elif p.part_type == "memory" and attrs.get("memory_type"):
            g.add_edge(pn, node("value", f"memory_type={attrs['memory_type']}"), key="requires_memory")
        elif p.part_type == "case":
            for ff in compat.case_form_factors(attrs.get("case_type")):
                g.add_node(node("value", f"form_factor={ff}"), kind="value", attribute="form_factor", value=ff)
                g.add_edge(pn, node("value", f"form_factor={ff}"), key="accepts_form_factor")
        elif p.part_type == "cpu-cooler":
            for s in compat.cooler_sockets(p):
                g.add_node(node("value", f"socket={s}"), kind="value", attribute="socket", value=s)
                g.add_edge(pn, node("value", f"socket={s}"), key="cooler_fits_socket")
        elif p.part_type == "video-card":
            need = compat.recommended_psu(None, compat.gpu_power(attrs.get("chipset")))
            tier = next((t for t in POWER_TIERS if t >= need), POWER_TIERS[-1])
            g.add_edge(pn, node("power", str(tier)), key="needs_power")
        elif p.part_type == "power-supply" and attrs.get("wattage"):
            for t in POWER_TIERS:
                if t <= attrs["wattage"]:
                    g.add_edge(pn, node("power", str(t)), key="supplies_power")

    similar: dict[str, list[str]] = {}
    groups: dict[str, list[Product]] = defaultdict(list)
    for p in products:
        groups[p.part_type or "bb:" + p.category_id].append(p)
    for key, members in groups.items():
        if key.startswith("bb:"):
            continue
        similar.update(_similar_neighbours(members, SIMILAR_K))
    for sku, others in similar.items():
        for rank, other in enumerate(others):
            g.add_edge(node("product", sku), node("product", other), key="similar_to", rank=rank)

    rank = {p.sku: i for i, p in enumerate(products)}
    sources: dict[tuple[str, str], list[int]] = defaultdict(list)
    for u, v, key in g.edges(keys=True):
        if u.startswith("product:") and key not in ("similar_to", "in_category", "made_by", "is_a"):
            sources[(key, v)].append(rank[u[len("product:"):]])
    edge_index = {k: np.array(sorted(v), dtype=np.int64) for k, v in sources.items()}
    name_tokens = {p.sku: frozenset(tokens(p.name)) | frozenset(tokens(p.brand or "")) for p in products}
    return ProductGraph(
        graph=g, products={p.sku: p for p in products}, categories=categories,
        by_category=dict(by_category), by_part_type=dict(by_part_type), by_brand=dict(by_brand),
        token_index=dict(token_index), token_df={t: len(s) for t, s in token_index.items()},
        similar=similar, rank=rank, columns=Columns.build(products, by_part_type, by_category, by_brand),
        edge_index=edge_index, name_tokens=name_tokens,
        brands=tuple(sorted({p.brand for p in products if p.brand})),
        used_categories=tuple(sorted(by_category)), fingerprint=fingerprint)


# --- loading with a cache under settings.state_dir -------------------------------------------------

def source_fingerprint(data_dir: Path) -> str:
    """Hash of what the graph is built from: the shop data files, the curated reference files and
    the code that imports and builds (so a code change never serves a stale cache)."""
    from catalog import bestbuy, pcparts

    h = hashlib.sha256(GRAPH_VERSION.encode())
    files = [data_dir / pcparts.PC_PARTS_FILE, data_dir / bestbuy.CATEGORIES_FILE, data_dir / bestbuy.PRODUCTS_FILE]
    code = sorted(Path(pcparts.__file__).parent.glob("*.py")) + [Path(__file__), Path(compat.__file__)]
    for path in files + reference_files() + code:
        h.update(str(path.name).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def source_fingerprint_for(data_dir: Path | None = None, source: str | None = None) -> tuple[str, list | None]:
    """(fingerprint, database rows or None) of the catalogue the graph would be built from now.
    source: 'files', 'database' or 'auto' (default settings.kg_source)."""
    from daogou.config import get_settings
    from knowledge_graph import sync

    settings = get_settings()
    source = source or settings.kg_source
    if source not in ("auto", "database", "files"):
        raise ValueError(f"kg_source must be auto, database or files, not {source!r}")
    fingerprint = source_fingerprint(Path(data_dir or settings.data_dir))
    if source == "files":
        return fingerprint, None
    rows = sync.database_rows()
    if not rows:
        if source == "database":
            raise RuntimeError("KG_SOURCE=database but the order database has no readable products table "
                               "(run `daogou db load-demo`)")
        return fingerprint, None
    return f"{fingerprint}-{sync.rows_fingerprint(rows)}", rows


def load_graph(data_dir: Path | None = None, cache: bool = True, source: str | None = None,
               rebuild: bool = False) -> ProductGraph:
    """The graph of the current catalogue (see source_fingerprint_for), from the pickle cache at
    $STATE_DIR/kg/graph-<fingerprint>.pkl when its inputs have not changed. `rebuild` ignores the
    cache but still writes it; `cache=False` neither reads nor writes it."""
    from catalog import load_categories, load_products
    from daogou.config import get_settings
    from knowledge_graph import sync

    settings = get_settings()
    data_dir = Path(data_dir or settings.data_dir)
    fingerprint, rows = source_fingerprint_for(data_dir, source)
    cache_dir = settings.state_dir / "kg"
    path = cache_dir / f"graph-{fingerprint}.pkl"
    if cache and not rebuild and path.exists():
        try:
            enabled = gc.isenabled()
            gc.disable()         # unpickling a million objects: no point collecting meanwhile
            try:
                with path.open("rb") as fh:
                    graph = pickle.load(fh)
            finally:
                if enabled:
                    gc.enable()
            if isinstance(graph, ProductGraph) and graph.fingerprint == fingerprint:
                _settle()
                return graph
        except Exception as exc:  # a corrupt or stale cache is rebuilt, never fatal
            log.warning("ignoring unreadable graph cache %s: %s", path, exc)
    products = load_products(data_dir)
    if rows:
        products = sync.merge(products, rows)
    graph = build_graph(products, load_categories(data_dir), fingerprint)
    if cache:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("wb") as fh:
            pickle.dump(graph, fh, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(path)
        for old in cache_dir.glob("graph-*.pkl"):
            if old != path:
                old.unlink(missing_ok=True)
    _settle()
    return graph


_lock = threading.Lock()
_current: ProductGraph | None = None
_refresher = None


def get_graph() -> ProductGraph:
    """The process-wide graph: loaded once, then refreshed in the background when the catalogue
    changes (knowledge_graph.sync; every settings.kg_refresh_s seconds)."""
    global _current, _refresher
    if _current is None:
        with _lock:
            if _current is None:
                from daogou.config import get_settings
                from knowledge_graph.sync import Refresher

                _current = load_graph()
                _refresher = Refresher(get_settings().kg_refresh_s)
    if _refresher is not None:
        _refresher.maybe_start(_current.fingerprint)
    return _current


def set_graph(graph: ProductGraph) -> None:
    """Swap in a new graph atomically (used after a catalogue change; readers keep the old one
    until their query ends)."""
    global _current
    gc.unfreeze()          # let the previous graph be collected once no query holds it
    _current = graph
    _settle()
