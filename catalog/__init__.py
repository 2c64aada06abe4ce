"""The retailer's catalogue from the shop data: products (PC parts + Best Buy sample), the Best Buy
category tree and the stores, as typed records. Pure Python, no database: the order service loads
these into its tables and the knowledge graph is built from the same records."""

from __future__ import annotations

from pathlib import Path

from catalog import bestbuy, pcparts
from catalog.models import Category, Product, Store

__all__ = ["Category", "Product", "Store", "load_categories", "load_products", "load_stores"]


def _dir(data_dir: Path | None) -> Path:
    if data_dir is not None:
        return Path(data_dir)
    from daogou.config import get_settings

    return get_settings().data_dir


def load_categories(data_dir: Path | None = None) -> dict[str, Category]:
    """Every Best Buy category by id (4,723, including unlisted ancestors)."""
    return bestbuy.load_categories(_dir(data_dir))


def load_products(data_dir: Path | None = None) -> list[Product]:
    """Every priced product: PC parts first, then the Best Buy sample. SKUs are unique."""
    root = _dir(data_dir)
    categories = bestbuy.load_categories(root)
    products = pcparts.load_pc_parts(root) + bestbuy.load_bestbuy_products(root, categories)
    missing = {p.category_id for p in products} - categories.keys()
    if missing:
        raise ValueError(f"products placed in categories missing from the tree: {sorted(missing)}")
    return products


def load_stores(data_dir: Path | None = None) -> list[Store]:
    """All Best Buy stores with parsed opening hours and services."""
    return bestbuy.load_stores(_dir(data_dir))
