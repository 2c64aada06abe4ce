"""Typed reads of the order database for the packages above the order service that read it in
process rather than over HTTP: the product graph reads the sellable catalogue from here
(knowledge_graph.sources). The order service owns the tables and their ORM models; a reader gets typed
rows and never the models or SQL, so a change of schema is made here once.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from order_service.core.db import make_engine, make_sessionmaker
from order_service.models import Product as ProductRow


@dataclass(frozen=True)
class CatalogueRow:
    """What the database says of one sellable product."""

    sku: str
    name: str
    brand: str | None
    price: float
    category_id: str | None
    part_type: str | None


def catalogue_rows(url: str | None = None) -> list[CatalogueRow]:
    """The products table (read-only). Raises sqlalchemy.exc.SQLAlchemyError when the database
    cannot be read (not set up yet, no such table)."""
    engine = make_engine(url, pool_size=1)
    try:
        with make_sessionmaker(engine, read_only=True)() as session:
            rows = session.execute(
                sa.select(
                    ProductRow.sku,
                    ProductRow.name,
                    ProductRow.brand,
                    ProductRow.price,
                    ProductRow.category_id,
                    ProductRow.part_type,
                )
            ).all()
    finally:
        engine.dispose()
    return [
        CatalogueRow(r.sku, r.name, r.brand or None, float(r.price), r.category_id, r.part_type) for r in rows
    ]
