"""What can be sold now: SKUs with units available (on hand minus reserved) at one location of the
order database, read in one query. The order service owns stock; the planner only reads it, the
same way the knowledge graph reads the catalogue (knowledge_graph/sources.py)."""

from __future__ import annotations


def sellable_skus(location_id: int, url: str | None = None) -> frozenset[str]:
    """SKUs with at least one available unit at `location_id` (0 = the online warehouse)."""
    import sqlalchemy as sa

    from order_service.core.db import make_engine, make_sessionmaker
    from order_service.models import StockLevel

    engine = make_engine(url, pool_size=1)
    try:
        with make_sessionmaker(engine, read_only=True)() as session:
            rows = session.execute(
                sa.select(StockLevel.sku).where(
                    StockLevel.location_id == location_id, StockLevel.on_hand - StockLevel.reserved > 0
                )
            ).scalars()
            return frozenset(rows)
    finally:
        engine.dispose()
