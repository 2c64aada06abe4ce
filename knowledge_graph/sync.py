"""One source of truth: the order/inventory database holds the sellable catalogue (which SKUs exist,
their names, brands, prices, categories); the shop files add what the database does not store
(typed attributes, images, descriptions). The graph is built from the database's rows, enriched
with the file import's attributes for the same SKU.

A catalogue change reaches the bot without a restart: the action server checks the database's
catalogue fingerprint every `kg_refresh_s` seconds (in a background thread), rebuilds the graph
when it changed and swaps it in atomically; conversations keep using the old graph until then.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
from dataclasses import dataclass, replace

from catalog.models import Product

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CatalogueRow:
    sku: str
    name: str
    brand: str | None
    price: float
    category_id: str | None
    part_type: str | None


def database_rows(url: str | None = None) -> list[CatalogueRow] | None:
    """The products table of the order database, or None when it cannot be read (service not set
    up yet, no such table)."""
    try:
        import sqlalchemy as sa

        from order_service.core.db import make_engine, make_sessionmaker
        from order_service.models import Product as ProductRow
    except ImportError as exc:  # order service not installed in this checkout
        log.info("order service unavailable, graph uses the shop files: %s", exc)
        return None
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
    except sa.exc.SQLAlchemyError as exc:
        log.info("order database not readable, graph uses the shop files: %s", exc)
        return None
    finally:
        engine.dispose()
    return [
        CatalogueRow(r.sku, r.name, r.brand or None, float(r.price), r.category_id, r.part_type) for r in rows
    ]


def rows_fingerprint(rows: list[CatalogueRow]) -> str:
    h = hashlib.sha256()
    for r in sorted(rows, key=lambda r: r.sku):
        h.update(
            f"{r.sku}\x1f{r.name}\x1f{r.brand}\x1f{r.price:.2f}\x1f{r.category_id}\x1f{r.part_type}\x1e".encode()
        )
    return h.hexdigest()[:16]


def merge(
    file_products: list[Product], rows: list[CatalogueRow], default_category: str = "abcat0500000"
) -> list[Product]:
    """The database's products (its order: file order first, then SKUs only the database has),
    with the file import's attributes, image, URL and description for SKUs it knows."""
    known = {p.sku: p for p in file_products}
    order = {p.sku: i for i, p in enumerate(file_products)}
    merged = []
    for r in sorted(rows, key=lambda r: (order.get(r.sku, len(order)), r.sku)):
        base = known.get(r.sku)
        if base is not None:
            merged.append(
                replace(
                    base,
                    name=r.name,
                    brand=r.brand,
                    price=r.price,
                    category_id=r.category_id or base.category_id,
                    part_type=r.part_type or base.part_type,
                )
            )
        else:
            merged.append(
                Product(
                    sku=r.sku,
                    name=r.name,
                    brand=r.brand,
                    price=r.price,
                    category_id=r.category_id or default_category,
                    part_type=r.part_type,
                    attributes={},
                )
            )
    return merged


class Refresher:
    """Checks for catalogue changes at most every `interval_s` seconds, off the caller's thread."""

    def __init__(self, interval_s: float):
        self.interval_s = interval_s
        self._last = time.monotonic()
        self._running = threading.Lock()

    def maybe_start(self, current_fingerprint: str) -> None:
        if self.interval_s <= 0 or time.monotonic() - self._last < self.interval_s:
            return
        if not self._running.acquire(blocking=False):
            return
        self._last = time.monotonic()
        threading.Thread(
            target=self._run, args=(current_fingerprint,), name="kg-refresh", daemon=True
        ).start()

    def _run(self, current_fingerprint: str) -> None:
        from knowledge_graph.graph import load_graph, set_graph, source_fingerprint_for

        try:
            fingerprint, _ = source_fingerprint_for()
            if fingerprint != current_fingerprint:
                log.info(
                    "catalogue changed (%s → %s): rebuilding the product graph",
                    current_fingerprint,
                    fingerprint,
                )
                set_graph(load_graph())
        except Exception:  # a failed refresh keeps the current graph; the next check retries
            log.exception("product graph refresh failed")
        finally:
            self._running.release()
