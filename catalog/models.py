"""Typed catalogue records shared by the order service, the knowledge graph and the actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Product:
    """One sellable item. `sku` is stable across imports so orders, stock and chat history keep
    pointing at the same product after a re-import or a price change."""

    sku: str
    name: str
    brand: str | None
    price: float  # USD
    category_id: str  # Best Buy category id (leaf or inner node)
    part_type: str | None  # PC part type (cpu, motherboard, …) or None for Best Buy items
    attributes: dict[str, Any] = field(
        hash=False, compare=False
    )  # canonical units, see data/catalog/attributes.yaml
    image: str | None = None
    url: str | None = None
    description: str | None = None


@dataclass(frozen=True)
class Store:
    id: int
    type: str
    name: str
    address: str
    city: str
    state: str
    zip: str
    lat: float
    lon: float
    hours_text: str
    hours: dict[str, tuple[str, str] | None] = field(hash=False, compare=False)  # "mon".."sun"
    services: tuple[str, ...] = ()


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    parent_id: str | None
    path_ids: tuple[str, ...]
