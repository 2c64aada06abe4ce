"""Answers shared by several actions: an attribute question that names a value instead of the attribute."""

from __future__ import annotations

from actions.answers import attribute_of_value
from catalog.models import Category, Product
from knowledge_graph import store as kg

MONITORS = [
    Product(
        "M-OLED",
        "Test OLED monitor",
        "LG",
        999.0,
        "mon",
        "monitor",
        {"panel_type": "OLED", "resolution": "1440p"},
    ),
    Product(
        "M-IPS",
        "Test IPS monitor",
        "Dell",
        299.0,
        "mon",
        "monitor",
        {"panel_type": "IPS", "resolution": "4K"},
    ),
    Product("M-BARE", "Test monitor without specs", "Acer", 99.0, "mon", "monitor", {}),
]
GRAPH = kg.build_graph(MONITORS, {"mon": Category("mon", "Monitors", None, ("mon",))})


def test_a_value_names_its_attribute_whichever_product_has_it():
    # "OLED" is a panel type in this catalogue: asked of the IPS monitor, the answer is still its panel type
    for sku in ("M-OLED", "M-IPS"):
        assert attribute_of_value(GRAPH, GRAPH.products[sku], "第二个是OLED的吗") == "panel_type"
        assert attribute_of_value(GRAPH, GRAPH.products[sku], "is the first one 4k?") == "resolution"


def test_no_value_no_attribute():
    assert attribute_of_value(GRAPH, GRAPH.products["M-IPS"], "第二个怎么样") is None
    assert (
        attribute_of_value(GRAPH, GRAPH.products["M-BARE"], "is it OLED?") is None
    )  # it has no panel type to tell
