"""The capabilities the actions call, created once per action-server process.

Heavy objects (the product graph, the FAQ index, the recommender) load once and are shared by every
conversation; `warm_up()` loads them when the action server starts, before it accepts requests.
"""
from __future__ import annotations

from functools import lru_cache

from knowledge_graph.graph import ProductGraph, get_graph
from order_service.client import OrderServiceClient


@lru_cache
def orders() -> OrderServiceClient:
    """One HTTP client (and connection pool) for the order service per process."""
    return OrderServiceClient()


def graph() -> ProductGraph:
    return get_graph()


def recommender():
    """The shop recommender (model loaded once per process, a retrained one picked up on the next
    call), with the knowledge graph's compatibility rules against the cart. Raises FileNotFoundError
    until `daogou recommend train` has run."""
    from recommender.filters import cart_compatibility
    from recommender.shop import get_shop_recommender
    return get_shop_recommender(compatible_with_cart=cart_compatibility(graph().products))


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
        import logging
        logging.getLogger(__name__).warning("recommender not loaded: %s", exc)
