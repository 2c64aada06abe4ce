"""The capabilities the actions call, created once per action-server process.

Heavy objects (the product graph, the FAQ index, the recommender) load once and are shared by every
conversation; `warm_up()` loads them when the action server starts, before it accepts requests.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from functools import lru_cache

from daogou.config import get_settings
from knowledge_graph.graph import ProductGraph
from knowledge_graph.store import get_graph
from order_service.client import OrderServiceClient, OrderServiceError

log = logging.getLogger(__name__)


@lru_cache
def orders() -> OrderServiceClient:
    """One HTTP client (and connection pool) for the order service per process."""
    return OrderServiceClient()


def graph() -> ProductGraph:
    return get_graph()


def recommender(in_stock: Callable[[str], bool] | None = None):
    """The shop recommender (model loaded once per process, a retrained one picked up on the next
    call), with the knowledge graph's compatibility rules against the cart and the stock filter of
    `in_stock_filter()`. Raises FileNotFoundError until `daogou recommend train` has run."""
    from recommender.filters import cart_compatibility
    from recommender.shop import get_shop_recommender

    return get_shop_recommender(in_stock=in_stock, compatible_with_cart=cart_compatibility(graph().products))


_UNAVAILABLE: tuple[float, frozenset[str]] | None = None


async def in_stock_filter() -> Callable[[str], bool]:
    """ "Available somewhere" for the recommender: the order service's set of SKUs available nowhere,
    asked once per `recommender_stock_ttl_s` (one request, not one per candidate). When the service
    cannot say, nothing is filtered: a suggestion is still better than none, and stock questions
    check each product anyway."""
    global _UNAVAILABLE
    from recommender.filters import in_stock_from_snapshot

    now = time.monotonic()
    if _UNAVAILABLE is None or now - _UNAVAILABLE[0] > get_settings().recommender_stock_ttl_s:
        try:
            _UNAVAILABLE = (now, frozenset(await orders().unavailable_skus()))
        except OrderServiceError as exc:
            log.warning("stock filter of recommendations skipped: %s", exc)
            return in_stock_from_snapshot(_UNAVAILABLE[1] if _UNAVAILABLE else ())
    return in_stock_from_snapshot(_UNAVAILABLE[1])


def faq():
    """The FAQ retriever (embedding model + FAISS + BM25); it reloads edited FAQ files by itself."""
    from faq.retriever import get_retriever

    return get_retriever()


def warm_up() -> None:
    products = graph().products
    if products:  # the vocabularies behind specs and names load on first use: load them now, not in a turn
        from knowledge_graph import api

        sku = next(iter(products))
        for lang in ("en", "zh"):
            api.details(graph(), sku, lang)
    faq()
    try:
        recommender()
    except FileNotFoundError as exc:  # the bot still runs; recommendation actions say they are unavailable
        log.warning("recommender not loaded: %s", exc)
