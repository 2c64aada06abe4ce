"""Product cards inside a bot message's ``custom`` payload, read the same way by every channel.

The actions put product cards in ``custom``; channels that cannot show rich content (WeChat) turn them
into news articles or text with links. Reading is lenient about where the list sits (``products``,
``cards`` or ``items``) and about field names, so that a card the actions add a field to still renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

LIST_KEYS = ("products", "cards", "items", "elements")


@dataclass
class Card:
    name: str
    sku: str = ""
    price: float | None = None
    currency: str = ""
    image: str = ""
    url: str = ""
    specs: list[str] = field(default_factory=list)

    def price_text(self) -> str:
        if self.price is None:
            return ""
        symbol = {"USD": "$", "CNY": "¥", "RMB": "¥", "EUR": "€"}.get(self.currency.upper(), "")
        amount = f"{self.price:,.2f}"
        return f"{symbol}{amount}" if symbol else f"{amount} {self.currency}".strip()

    def link(self, url_template: str = "") -> str:
        if self.url:
            return self.url
        if url_template and self.sku:
            return url_template.replace("{sku}", self.sku)
        return ""


def _first(data: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        value = data.get(key)
        if value not in (None, ""):
            return value
    return None


def _specs(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [f"{k}: {v}" for k, v in value.items() if v not in (None, "")]
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict):
                label = _first(item, "label", "name", "key")
                out.append(f"{label}: {item.get('value')}" if label else str(item.get("value", "")))
            elif item not in (None, ""):
                out.append(str(item))
        return out
    return [str(value)] if value else []


def parse_card(data: dict[str, Any]) -> Card | None:
    name = _first(data, "name", "title")
    if not name:
        return None
    price = _first(data, "price", "sale_price")
    if isinstance(price, dict):  # {"amount": .., "currency": ..}
        currency = str(price.get("currency") or "")
        price = price.get("amount")
    else:
        currency = str(_first(data, "currency") or "")
    try:
        price = float(price) if price is not None else None
    except (TypeError, ValueError):
        price = None
    return Card(
        name=str(name),
        sku=str(_first(data, "sku", "id") or ""),
        price=price,
        currency=currency,
        image=str(_first(data, "image", "image_url", "img") or ""),
        url=str(_first(data, "url", "link", "product_url") or ""),
        specs=_specs(_first(data, "key_specs", "specs", "subtitle", "summary")),
    )


def cards_in(custom: Any) -> list[Card]:
    """Every product card found in a ``custom`` payload (empty when it carries none)."""
    if isinstance(custom, list):
        items = custom
    elif isinstance(custom, dict):
        items = next((custom[k] for k in LIST_KEYS if isinstance(custom.get(k), list)), None)
        if items is None:
            items = [custom] if _first(custom, "name", "title") and "price" in custom else []
    else:
        items = []
    return [card for card in (parse_card(i) for i in items if isinstance(i, dict)) if card]


def text_of(custom: Any) -> str:
    """Plain text a ``custom`` payload carries besides its cards (a heading, a note)."""
    if isinstance(custom, dict):
        value = _first(custom, "text", "title_text", "heading")
        return str(value) if value else ""
    return ""
