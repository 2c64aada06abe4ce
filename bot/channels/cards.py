"""Product cards inside a bot message's ``custom`` payload, read the same way by every channel that
renders them itself (WeChat turns them into a news article or text with links).

The payload's contract is daogou.cards (``ProductCardsPayload``, built by actions.cards). It is read
strictly: a payload that claims to carry product cards but breaks the contract (a field missing, one
the contract does not know, a value of the wrong type) is logged with what is wrong and shows no cards,
so a change on the actions' side that the channels were not updated for is seen at once rather than
half-rendered. A ``custom`` payload of another kind carries no cards.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

from daogou.cards import ProductCard, is_cards_payload, payload_problems

logger = logging.getLogger(__name__)


@dataclass
class Card:
    """What a channel shows of a product card."""

    name: str
    sku: str
    price_text: str
    image: str = ""
    url: str = ""
    specs: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, card: ProductCard) -> Card:
        return cls(
            name=card["name"],
            sku=card["sku"],
            price_text=card["price_text"],
            image=card["image"] or "",
            url=card["url"] or "",
            specs=[f"{s['name']}: {s['value']}" for s in card["specs"]],
        )

    def link(self, url_template: str = "") -> str:
        if self.url:
            return self.url
        if url_template and self.sku:
            return url_template.replace("{sku}", self.sku)
        return ""


def cards_in(custom: Any) -> list[Card]:
    """The product cards of a ``custom`` payload: those of a valid product-card payload, none for a
    payload of another kind, none (and an error logged) for one that breaks the contract."""
    if not is_cards_payload(custom):
        return []
    problems = payload_problems(custom)
    if problems:
        logger.error("product cards not shown, the payload breaks daogou.cards: %s", "; ".join(problems))
        return []
    return [Card.of(card) for card in custom["products"]]


def text_of(custom: Any) -> str:
    """Plain text a ``custom`` payload of another kind carries (a heading, a note)."""
    if isinstance(custom, dict) and not is_cards_payload(custom):
        value = custom.get("text")
        return str(value) if value else ""
    return ""
