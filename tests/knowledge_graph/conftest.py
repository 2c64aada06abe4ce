from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def graph():
    """The graph of the real catalogue (from the state-dir cache when current)."""
    from knowledge_graph.store import load_graph

    return load_graph(source="files")


@pytest.fixture(scope="session")
def by_name(graph):
    """First product of each name (names repeat across colour variants)."""
    out = {}
    for p in graph.products.values():
        out.setdefault(p.name, p)
    return out
