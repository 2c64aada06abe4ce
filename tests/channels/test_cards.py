"""Channels read product cards strictly (bot.channels.cards over the contract in daogou.cards): a
valid payload gives its cards; a missing, unknown or mistyped field shows none and logs what is
wrong; a custom payload of another kind carries none."""

from __future__ import annotations

import logging

import pytest

from bot.channels.cards import cards_in, text_of
from tests.channels.conftest import CARD, cards_payload


def test_a_valid_payload_gives_its_cards_in_order():
    second = dict(CARD, sku="SKU-2", name="Second", image=None, url=None)
    cards = cards_in(cards_payload(CARD, second))
    assert [(c.name, c.sku, c.price_text) for c in cards] == [
        (CARD["name"], CARD["sku"], CARD["price_text"]),
        (second["name"], second["sku"], second["price_text"]),
    ]
    assert cards[0].specs == [f"{s['name']}: {s['value']}" for s in CARD["specs"]]
    assert (cards[0].link(), cards[1].link(), cards[1].link("https://shop/{sku}")) == (
        CARD["url"],
        "",
        "https://shop/SKU-2",
    )


@pytest.mark.parametrize("field", sorted(CARD))
def test_a_card_without_a_field_is_refused_and_logged(field, caplog):
    card = {k: v for k, v in CARD.items() if k != field}
    with caplog.at_level(logging.ERROR, logger="bot.channels.cards"):
        assert cards_in(cards_payload(CARD, card)) == []
    assert f"products[1].{field}: missing" in caplog.text


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"colour": "black"}, "products[0].colour: unknown field"),
        ({"price": "449"}, "products[0].price: expected float"),
        ({"specs": {"cores": "8"}}, "products[0].specs: expected a list"),
        ({"specs": [{"name": "cores"}]}, "products[0].specs[0].value: missing"),
        ({"buttons": [{"title": "Details", "payload": 3}]}, "products[0].buttons[0].payload: expected str"),
    ],
)
def test_an_unknown_or_mistyped_field_is_refused_and_logged(change, problem, caplog):
    with caplog.at_level(logging.ERROR, logger="bot.channels.cards"):
        assert cards_in(cards_payload(dict(CARD, **change))) == []
    assert problem in caplog.text


def test_payload_level_fields_are_checked_too(caplog):
    with caplog.at_level(logging.ERROR, logger="bot.channels.cards"):
        assert cards_in({**cards_payload(CARD), "heading": "Hi"}) == []
        assert cards_in({"type": "product_cards"}) == []
    assert "custom.heading: unknown field" in caplog.text and "custom.products: missing" in caplog.text
    assert cards_in({**cards_payload(CARD), "kind": "recommendations"})


def test_other_custom_payloads_carry_no_cards_and_keep_their_text(caplog):
    with caplog.at_level(logging.ERROR, logger="bot.channels.cards"):
        assert cards_in({"products": [CARD]}) == []  # no type: not a product-card payload
        assert cards_in([CARD]) == []
    assert caplog.text == ""
    assert text_of({"text": "A note"}) == "A note"
    assert text_of(cards_payload(CARD)) == ""
