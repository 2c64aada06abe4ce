"""Where the product graph's catalogue comes from: the order/inventory database holds the sellable
catalogue (which SKUs exist, their names, brands, prices, categories); the shop files add what the
database does not store (typed attributes, images, descriptions). The graph is built from the
database's rows, enriched with the file import's attributes for the same SKU (`merge`).

The fingerprints say when the catalogue (or the code that builds the graph) changed, so that the
store (knowledge_graph/store.py) rebuilds the cached graph and swaps in a new one.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import replace
from pathlib import Path

from sqlalchemy.exc import SQLAlchemyError

from catalog.models import Product
from catalog.reference import reference_files
from knowledge_graph import graph
from order_service.reads import CatalogueRow, catalogue_rows

log = logging.getLogger(__name__)


def database_rows(url: str | None = None) -> list[CatalogueRow] | None:
    """The products table of the order database (order_service.reads), or None when it cannot be
    read (service not set up yet, no such table)."""
    try:
        return catalogue_rows(url)
    except SQLAlchemyError as exc:
        log.info("order database not readable, graph uses the shop files: %s", exc)
        return None


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


def source_fingerprint(data_dir: Path) -> str:
    """Hash of what the graph is built from: the shop data files, the curated reference files and
    the code that imports and builds (so a code change never serves a stale cache)."""
    from catalog import bestbuy, pcparts

    h = hashlib.sha256(graph.GRAPH_VERSION.encode())
    files = [
        data_dir / pcparts.PC_PARTS_FILE,
        data_dir / bestbuy.CATEGORIES_FILE,
        data_dir / bestbuy.PRODUCTS_FILE,
    ]
    code = sorted(Path(pcparts.__file__).parent.glob("*.py")) + [Path(graph.__file__), Path(__file__)]
    for path in files + reference_files() + code:
        h.update(str(path.name).encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def source_fingerprint_for(
    data_dir: Path | None = None, source: str | None = None
) -> tuple[str, list[CatalogueRow] | None]:
    """(fingerprint, database rows or None) of the catalogue the graph would be built from now.
    source: 'files', 'database' or 'auto' (default settings.kg_source)."""
    from daogou.config import get_settings

    settings = get_settings()
    source = source or settings.kg_source
    if source not in ("auto", "database", "files"):
        raise ValueError(f"kg_source must be auto, database or files, not {source!r}")
    fingerprint = source_fingerprint(Path(data_dir or settings.data_dir))
    if source == "files":
        return fingerprint, None
    rows = database_rows()
    if not rows:
        if source == "database":
            raise RuntimeError(
                "KG_SOURCE=database but the order database has no readable products table "
                "(run `daogou db load-demo`)"
            )
        return fingerprint, None
    return f"{fingerprint}-{rows_fingerprint(rows)}", rows
