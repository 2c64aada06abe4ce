"""Product cards and numbered product lists: the one place that turns products into what the
channels render (the `product_cards` custom payload) and into the numbered text lines that
"the first one" refers to. Every action that shows products uses these, so a list always looks the
same and its order is the order references resolve against."""

from __future__ import annotations

import json
from collections.abc import Sequence

from catalog.models import Product
from daogou.cards import CardButton, ProductCard, ProductCardsPayload
from knowledge_graph import api
from knowledge_graph.graph import ProductGraph
from knowledge_graph.vocab import format_price
from order_service.schemas import StoreOut

MAX_CARDS = 5


def card(graph: ProductGraph, product: Product, lang: str) -> ProductCard:
    """A product card with buttons (payloads are intents with the SKU entity); the contract is
    daogou.cards."""
    sku = json.dumps({"sku": product.sku})
    labels = {"en": ("Details", "Similar", "Accessories"), "zh": ("详情", "类似商品", "搭配配件")}[lang]
    buttons: list[CardButton] = [
        {"title": labels[0], "payload": f"/product_details{sku}"},
        {"title": labels[1], "payload": f"/show_similar{sku}"},
    ]
    if product.part_type:
        buttons.append({"title": labels[2], "payload": f"/show_accessories{sku}"})
    return {**api.product_card(graph, product, lang), "currency": "USD", "buttons": buttons}


def cards_payload(graph: ProductGraph, products: Sequence[Product], lang: str) -> ProductCardsPayload:
    """The cards of the first MAX_CARDS products."""
    return product_cards([card(graph, p, lang) for p in products[:MAX_CARDS]])


def product_cards(cards: list[ProductCard]) -> ProductCardsPayload:
    """The ``custom`` payload that carries these cards."""
    return {"type": "product_cards", "products": cards}


def product_line(product: Product, lang: str, differing: frozenset[str] = frozenset()) -> str:
    """ "AMD Ryzen 5 7600X — $170.49 (cores 6, boost clock 5.3 GHz)": name, price and the specs that
    tell apart products of the same name (the 1 TB and the 2 TB "Samsung 990 Pro"; `differing` names
    the specs in which same-named products of a list differ, such as a colour: they come first)."""
    if differing:
        specs_all = api.key_specs(product, lang, 8)
        chosen = [s for s in specs_all if s.name in differing] + [
            s for s in specs_all if s.name not in differing
        ]
        specs = ("，" if lang == "zh" else ", ").join(f"{s.name} {s.text}" for s in chosen[:3])
    else:
        specs = api.spec_line(product, lang, limit=3)
    line = f"{product.name} — {format_price(product.price, lang)}"
    if specs:
        line += f"（{specs}）" if lang == "zh" else f" ({specs})"
    return line


def _differing(products: Sequence[Product], lang: str) -> dict[str, frozenset[str]]:
    """For each name that several of `products` share, the specs in which those products differ."""
    by_name: dict[str, list[Product]] = {}
    for p in products:
        by_name.setdefault(p.name, []).append(p)
    differing: dict[str, frozenset[str]] = {}
    for name, same in by_name.items():
        if len(same) > 1:
            texts = [{s.name: s.text for s in api.key_specs(p, lang, 8)} for p in same]
            keys = {k for t in texts for k in t}
            differing[name] = frozenset(k for k in keys if len({t.get(k) for t in texts}) > 1)
    return differing


def listing(products: Sequence[Product], lang: str, start: int = 1) -> str:
    """Numbered lines, one per product, numbered from `start`; products sharing a name show first the
    specs they differ in, so no two lines read the same."""
    differing = _differing(products, lang)
    return "\n".join(
        f"{i}. {product_line(p, lang, differing.get(p.name, frozenset()))}"
        for i, p in enumerate(products, start)
    )


def button_titles(products: Sequence[Product], lang: str, limit: int = 60) -> list[str]:
    """Numbered button titles; a product sharing its name with another in the list adds the values of
    the specs they differ in ("2. Samsung 990 Pro · 4 TB"), so no two buttons read the same."""
    differing = _differing(products, lang)
    titles = []
    for i, p in enumerate(products, 1):
        keys = differing.get(p.name, frozenset())
        values = [s.text for s in api.key_specs(p, lang, 8) if s.name in keys][:2]
        if not values and p.name in differing:  # same name, same key specs: the price tells them apart
            values = [format_price(p.price, lang)]
        suffix = "".join(f" · {v}" for v in values)
        name = f"{i}. {p.name}"
        titles.append(name[: max(limit - len(suffix), 12)] + suffix if suffix else name[:limit])
    return titles


def store_label(store: StoreOut) -> str:
    """A store as the shopper can tell it from others of the same name: name, street, city, state."""
    return f"{store.name} ({store.address}, {store.city}, {store.state})"
