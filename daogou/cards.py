"""The product-card payload: what the actions put in a bot message's ``custom`` field and the channels
read (the web widget renders it, WeChat turns it into a news article or text with links). Typed here
once, in the shared base, because both sides import it: the actions (application environment) build
``ProductCardsPayload`` values and mypy checks them; the channels (the Rasa environment) read them
with ``payload_problems`` and refuse what does not match.

Why a checker over the TypedDicts rather than a validation library: the two environments have
different pydantic majors (1 in Rasa's, 2 in the application's) and no JSON-schema validator in
common, and a second description of the same shape (a schema) could drift from the types. The checker
reads the TypedDicts' own annotations, so the contract is written once, here. Standard library only:
the Rasa environment imports this module.
"""

import types
from typing import (
    Any,
    Literal,
    NotRequired,
    TypedDict,
    Union,
    get_args,
    get_origin,
    get_type_hints,
    is_typeddict,
)

PAYLOAD_TYPE = "product_cards"


class CardSpec(TypedDict):
    """One key spec as shown on a card: "Cores" / "8"."""

    name: str
    value: str


class CardButton(TypedDict):
    """A button under a card: its title and the message it sends (an intent with the SKU entity)."""

    title: str
    payload: str


class CardData(TypedDict):
    """What the product graph knows of a product for a card (knowledge_graph.api.product_card)."""

    sku: str
    name: str
    brand: str | None
    price: float
    price_text: str  # formatted in the shopper's language ("$449.00", "¥449.00")
    kind: str  # the kind of product in the shopper's language ("CPU", "显卡")
    specs: list[CardSpec]
    image: str | None  # None when the catalogue has no picture
    url: str | None  # None when the catalogue has no product page


class ProductCard(CardData):
    """A card as sent: the graph's data, the currency of ``price`` and the buttons
    (actions.cards.card)."""

    currency: str  # ISO 4217 ("USD")
    buttons: list[CardButton]
    reason: NotRequired[str]  # why it is recommended (the recommender's lists)


class ComparisonRow(TypedDict):
    """One row of a comparison table: the spec, each product's value, the best product's index."""

    name: str
    values: list[str]  # formatted, "–" when a product lacks it
    best: int | None


class ComparisonTable(TypedDict):
    """The table a comparison answer adds to its cards (the products' names as the header)."""

    header: list[str]
    rows: list[ComparisonRow]


class ProductCardsPayload(TypedDict):
    """A bot message's ``custom`` payload carrying products, in the order the numbered list shows
    them ("the first one" resolves against it)."""

    type: Literal["product_cards"]
    products: list[ProductCard]
    kind: NotRequired[str]  # "recommendations" for the recommender's lists (the event record reads it)
    comparison: NotRequired[ComparisonTable]  # a comparison answer's table


def payload_problems(custom: Any) -> list[str]:
    """What makes ``custom`` differ from ``ProductCardsPayload``: a missing or unknown field, a value
    of the wrong type (paths such as ``products[1].price``). Empty when it matches."""
    return _problems(custom, ProductCardsPayload, "custom")


def is_cards_payload(custom: Any) -> bool:
    """Whether ``custom`` claims to be a product-card payload (its ``type``), valid or not."""
    return isinstance(custom, dict) and custom.get("type") == PAYLOAD_TYPE


def _problems(value: Any, expected: Any, path: str) -> list[str]:
    origin = get_origin(expected)
    if is_typeddict(expected):
        return _dict_problems(value, expected, path)
    if origin is NotRequired:
        return _problems(value, get_args(expected)[0], path)
    if origin is Literal:
        allowed = get_args(expected)
        return [] if value in allowed else [f"{path}: {value!r} is not one of {allowed!r}"]
    if origin in (Union, types.UnionType):
        options = [_problems(value, option, path) for option in get_args(expected)]
        return [] if any(not found for found in options) else options[0]
    if origin is list:
        if not isinstance(value, list):
            return [f"{path}: expected a list, got {type(value).__name__}"]
        (item,) = get_args(expected)
        return [p for i, v in enumerate(value) for p in _problems(v, item, f"{path}[{i}]")]
    if expected is float:  # JSON has one number type; a bool is not a number here
        ok = isinstance(value, int | float) and not isinstance(value, bool)
    else:
        ok = isinstance(value, expected) and not (expected is int and isinstance(value, bool))
    return [] if ok else [f"{path}: expected {expected.__name__}, got {type(value).__name__}"]


def _dict_problems(value: Any, expected: Any, path: str) -> list[str]:
    if not isinstance(value, dict):
        return [f"{path}: expected an object, got {type(value).__name__}"]
    hints = get_type_hints(expected)
    found = [f"{path}.{key}: missing" for key in sorted(expected.__required_keys__ - value.keys())]
    found += [f"{path}.{key}: unknown field" for key in sorted(value.keys() - hints.keys())]
    for key in sorted(value.keys() & hints.keys()):
        found += _problems(value[key], hints[key], f"{path}.{key}")
    return found
