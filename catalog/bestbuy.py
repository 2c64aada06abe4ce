"""Import of the Best Buy open data: category tree, stores (hours parsed) and the product sample."""

from __future__ import annotations

import csv
import gzip
import json
import re
from pathlib import Path

from catalog.models import Category, Product, Store
from catalog.reference import brand_matcher

CATEGORIES_FILE = Path("bestbuy") / "categories_flat.csv.gz"
STORES_FILE = Path("bestbuy") / "stores_flat.csv.gz"
PRODUCTS_FILE = Path("bestbuy") / "products_sample_first187.jsonl.gz"

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DAY_ALIASES = {
    "mon": "mon",
    "tue": "tue",
    "tues": "tue",
    "wed": "wed",
    "thu": "thu",
    "thur": "thu",
    "thurs": "thu",
    "fri": "fri",
    "sat": "sat",
    "sun": "sun",
}
_SPAN = re.compile(r"^(\d{1,2})(?::(\d{2}))?\s*-\s*(\d{1,2})(?::(\d{2}))?$")


def _open(data_dir: Path, relative: Path):
    path = data_dir / relative
    if not path.exists():
        raise FileNotFoundError(f"shop data file not found: {path}")
    return gzip.open(path, "rt", encoding="utf-8", newline="")


def load_categories(data_dir: Path) -> dict[str, Category]:
    categories: dict[str, Category] = {}
    with _open(data_dir, CATEGORIES_FILE) as fh:
        for row in csv.DictReader(fh):
            categories[row["id"]] = Category(
                id=row["id"],
                name=row["name"] or "",
                parent_id=row["parent_id"] or None,
                path_ids=tuple(p for p in (row["path_ids"] or "").split("/") if p),
            )
    return categories


def parse_hours(text: str) -> dict[str, tuple[str, str] | None]:
    """ "Mon: 10-9; … Sun: 11-7" → {"mon": ("10:00", "21:00"), …}. Store hours in the data are
    12-hour times without am/pm: opening times are morning, closing times are afternoon/evening.
    Days not listed are closed (None)."""
    hours: dict[str, tuple[str, str] | None] = {day: None for day in DAYS}
    for part in filter(None, (p.strip() for p in (text or "").split(";"))):
        day, _, span = part.partition(":")
        key = _DAY_ALIASES.get(day.strip().lower())
        m = _SPAN.match(span.strip())
        if key is None or m is None:
            raise ValueError(f"unreadable store hours {part!r} in {text!r}")
        open_h, open_m, close_h, close_m = int(m[1]), int(m[2] or 0), int(m[3]), int(m[4] or 0)
        if close_h < 12:  # no store closes in the morning ("0-11:59" is the airport kiosks' 24 h)
            close_h += 12
        hours[key] = (f"{open_h:02d}:{open_m:02d}", f"{close_h:02d}:{close_m:02d}")
    return hours


def load_stores(data_dir: Path) -> list[Store]:
    stores = []
    with _open(data_dir, STORES_FILE) as fh:
        for row in csv.DictReader(fh):
            address = ", ".join(p for p in (row["address"], row["address2"]) if p)
            stores.append(
                Store(
                    id=int(row["id"]),
                    type=row["type"],
                    name=row["name"],
                    address=address,
                    city=row["city"],
                    state=row["state"],
                    zip=row["zip"],
                    lat=float(row["lat"]),
                    lon=float(row["lon"]),
                    hours_text=row["hours"] or "",
                    hours=parse_hours(row["hours"] or ""),
                    services=tuple(s for s in (row["services"] or "").split("|") if s),
                )
            )
    return stores


def load_bestbuy_products(data_dir: Path, categories: dict[str, Category]) -> list[Product]:
    """The product sample; SKU "BB-<sku>". The leaf category is used when the tree has it,
    otherwise the deepest ancestor that it has."""
    matcher = brand_matcher()
    products = []
    with _open(data_dir, PRODUCTS_FILE) as fh:
        for line in fh:
            if not line.strip():
                continue
            raw = json.loads(line)
            if raw.get("price") is None:
                continue
            path = [c["id"] for c in raw.get("category") or []]
            category_id = next((c for c in reversed(path) if c in categories), None)
            if category_id is None:
                raise ValueError(f"Best Buy product {raw['sku']} has no category in the tree: {path}")
            brand = raw.get("manufacturer")
            attributes = {k: raw[k] for k in ("model", "upc", "type") if raw.get(k)}
            if raw.get("shipping") not in (None, ""):
                attributes["shipping_cost"] = float(raw["shipping"])
            products.append(
                Product(
                    sku=f"BB-{raw['sku']}",
                    name=raw["name"].strip(),
                    brand=matcher.canonical(brand) if brand else matcher.match(raw["name"]),
                    price=float(raw["price"]),
                    category_id=category_id,
                    part_type=None,
                    attributes={("product_type" if k == "type" else k): v for k, v in attributes.items()},
                    image=raw.get("image") or None,
                    url=raw.get("url") or None,
                    description=raw.get("description") or None,
                )
            )
    return products
