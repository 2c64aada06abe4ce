"""Ready-made filter predicates for ShopRecommender, built from the other capabilities.

The recommender calls its predicates synchronously, candidate by candidate, inside a worker thread.
Stock should therefore come from a snapshot (the set of SKUs out of stock everywhere, fetched from
the order service once per request or cached briefly), not from one HTTP call per candidate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from recommender.shop import CompatibleWithCart, InStock


def in_stock_from_snapshot(out_of_stock_everywhere: Iterable[str]) -> InStock:
    gone = frozenset(out_of_stock_everywhere)
    return lambda sku: sku not in gone


def cart_compatibility(
    products: Mapping[str, Any], check: Callable[[Any, Any], Any] | None = None
) -> CompatibleWithCart:
    """A candidate fits the cart unless the knowledge graph's rules say it conflicts with an item in
    it (`check(a, b).compatible is False`); unknown SKUs and "cannot tell" count as fitting."""
    if check is None:
        from catalog.part_rules import check

    def compatible(sku: str, cart: Sequence[str]) -> bool:
        candidate = products.get(sku)
        if candidate is None:
            return True
        return all(check(candidate, products[c]).compatible is not False for c in cart if c in products)

    return compatible
