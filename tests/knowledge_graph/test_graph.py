"""Graph structure on the real catalogue."""

from __future__ import annotations

from collections import Counter

import catalog
from catalog.reference import part_types
from knowledge_graph.graph import build_graph, node
from knowledge_graph.vocab import attributes, zh_categories


def test_every_product_is_a_typed_node_with_category_and_brand(graph):
    g = graph.graph
    kinds = Counter(d["kind"] for _, d in g.nodes(data=True))
    assert kinds["product"] == len(graph.products) > 15_000
    assert {"category", "brand", "part_type", "value", "power"} <= set(kinds)
    for p in list(graph.products.values())[::500]:
        out = {k: v for _, v, k in g.out_edges(node("product", p.sku), keys=True)}
        assert out["in_category"] == node("category", p.category_id)
        assert out["made_by"] == node("brand", p.brand)


def test_category_parent_chain_is_in_the_graph(graph):
    g = graph.graph
    chain = [
        v for _, v, k in g.out_edges(node("category", "abcat0507010"), keys=True) if k == "subcategory_of"
    ]
    assert chain == [node("category", "abcat0507000")]
    assert graph.by_category["abcat0500000"]  # root holds all its descendants' products
    assert set(graph.by_category["abcat0507010"]) <= set(graph.by_category["abcat0507000"])


def test_compatibility_edges(graph):
    edges = Counter(k for _, _, k in graph.graph.edges(keys=True))
    for kind in (
        "requires_socket",
        "provides_socket",
        "requires_memory",
        "supports_memory",
        "has_form_factor",
        "accepts_form_factor",
        "cooler_fits_socket",
        "needs_power",
        "supplies_power",
        "accessory_for",
        "similar_to",
    ):
        assert edges[kind] > 0, kind
    assert edges["requires_socket"] == len(graph.by_part_type["cpu"])


def test_similar_edges_stay_within_the_part_type(graph):
    for sku in graph.by_part_type["monitor"][:50]:
        others = graph.similar[sku]
        assert len(others) == 5 and sku not in others
        assert {graph.products[s].part_type for s in others} == {"monitor"}


def test_chinese_names_cover_categories_attributes_and_types(graph):
    names = zh_categories()
    assert all(c in names for c in graph.used_categories)
    used_keys = {k for p in graph.products.values() for k in p.attributes}
    assert used_keys <= set(attributes())
    assert all(spec["zh"] for spec in part_types().values())


def test_build_from_any_product_list():
    """The graph builds from whatever catalogue it is given (e.g. the order service's)."""
    products = [p for p in catalog.load_products() if p.part_type in ("cpu", "motherboard")][:200]
    small = build_graph(products, catalog.load_categories())
    assert len(small.products) == 200
    assert small.by_part_type.keys() <= {"cpu", "motherboard"}
