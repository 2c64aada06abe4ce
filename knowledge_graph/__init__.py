"""Product knowledge graph built from the catalogue (networkx), with the typed query API the
actions call. See docs/knowledge-graph.md."""

from __future__ import annotations

from catalog.part_rules import Compatibility, Reason
from knowledge_graph.api import (
    AccessoryGroup,
    Answer,
    AttributeAnswer,
    BuildCheck,
    Comparison,
    FitGroup,
    ProductDetails,
    accessories,
    answer,
    attribute_answer,
    check_build,
    compare,
    compatibility,
    compatible_with,
    details,
    key_specs,
    product_card,
    similar,
    spec_line,
)
from knowledge_graph.graph import ProductGraph, build_graph
from knowledge_graph.linker import link
from knowledge_graph.parse import find_attribute, parse_search
from knowledge_graph.search import AttributeFilter, Relaxation, SearchQuery, SearchResult, search
from knowledge_graph.store import get_graph, load_graph, set_graph

__all__ = [
    "AccessoryGroup",
    "Answer",
    "AttributeAnswer",
    "AttributeFilter",
    "BuildCheck",
    "check_build",
    "Comparison",
    "Compatibility",
    "FitGroup",
    "ProductDetails",
    "ProductGraph",
    "Reason",
    "Relaxation",
    "SearchQuery",
    "SearchResult",
    "accessories",
    "answer",
    "attribute_answer",
    "build_graph",
    "compare",
    "compatibility",
    "compatible_with",
    "details",
    "find_attribute",
    "link",
    "get_graph",
    "key_specs",
    "load_graph",
    "parse_search",
    "product_card",
    "search",
    "set_graph",
    "similar",
    "spec_line",
]
