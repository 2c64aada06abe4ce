"""Constrained search and the query parser on the real catalogue; expected results are computed
from the catalogue records directly."""

from __future__ import annotations

import pytest

from knowledge_graph.linker import link
from knowledge_graph.parse import parse_search, price_from_entity, refine_query
from knowledge_graph.search import AttributeFilter, SearchQuery, query_from_dict, query_to_dict, search


def _all(graph, q):
    return search(graph, SearchQuery(**{**q.__dict__, "page_size": 100}), relax=False)


@pytest.mark.parametrize(
    "text", ["an AMD CPU under $300", "300美元以下的AMD处理器", "AMD processors below 300 dollars"]
)
def test_vertical_slice_amd_cpu_under_300(graph, text):
    q = parse_search(graph, text).query
    assert q.part_type == "cpu" and q.brands == ("AMD",) and q.price_max == 300
    result = search(graph, q)
    expected = {
        p.sku for p in graph.products.values() if p.part_type == "cpu" and p.brand == "AMD" and p.price <= 300
    }
    assert result.total == len(expected) > 10
    assert all(p.sku in expected for p in result.items)
    assert not result.relaxed


def test_attribute_filters_with_units(graph):
    result = search(graph, parse_search(graph, "DDR5 memory at least 32 GB").query)
    assert result.total == sum(
        1
        for p in graph.products.values()
        if p.part_type == "memory"
        and p.attributes.get("memory_type") == "DDR5"
        and p.attributes.get("capacity", 0) >= 32
    )
    q = parse_search(graph, "1440p monitor 144 Hz or more").query
    assert set(q.filters) == {
        AttributeFilter("resolution", "eq", "1440p"),
        AttributeFilter("refresh_rate", "gte", 144),
    }
    for p in _all(graph, q).items:
        assert p.attributes["resolution"] == "1440p" and p.attributes["refresh_rate"] >= 144


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2TB SSD", [("capacity", "eq", 2000)]),
        ("5 GHz CPU", [("boost_clock", "gte", 5000)]),
        ("8 cores or more", [("core_count", "gte", 8)]),
        ("27英寸显示器", [("screen_size", "eq", 27)]),
        ("144Hz以上的2K显示器", [("resolution", "eq", "1440p"), ("refresh_rate", "gte", 144)]),
        (
            "27英寸144Hz以上显示器",
            [("screen_size", "eq", 27), ("refresh_rate", "gte", 144)],
        ),  # no space between units
        (
            "850W gold fully modular power supply",
            [("efficiency", "eq", "80+ Gold"), ("modular", "eq", "Full"), ("wattage", "eq", 850)],
        ),
        ("AM5 motherboard", [("socket", "eq", "AM5")]),
        ("wireless mouse", []),  # the category "Wireless & Bluetooth Mice" carries it
        ("white keyboard", [("color", "contains", "White")]),
    ],
)
def test_parser_reads_attribute_conditions(graph, text, expected):
    q = parse_search(graph, text).query
    assert sorted((f.key, f.op, f.value) for f in q.filters) == sorted(expected)


def test_subcategories_are_included(graph):
    q = SearchQuery(category="abcat0507000", page_size=100)  # Computer Cards & Components
    result = search(graph, q)
    assert result.total == len(graph.by_category["abcat0507000"])
    assert search(graph, SearchQuery(category="abcat0507000", part_type="cpu")).total == len(
        graph.by_part_type["cpu"]
    )


def test_sort_and_pages(graph):
    q = SearchQuery(part_type="cpu", sort="price_asc", page_size=10)
    first, second = (
        search(graph, q),
        search(graph, SearchQuery(part_type="cpu", sort="price_asc", page_size=10, page=2)),
    )
    prices = [p.price for p in first.items + second.items]
    assert prices == sorted(prices)
    assert not {p.sku for p in first.items} & {p.sku for p in second.items}
    assert first.has_more


def test_relaxation_says_what_was_dropped(graph):
    result = search(graph, parse_search(graph, "AMD CPU under $20").query)
    assert result.items and [r.constraint for r in result.relaxed] == ["brand"]
    assert all(p.price <= 20 for p in result.items)
    result = search(graph, parse_search(graph, "monitor with 1000 Hz").query)
    assert [r.constraint for r in result.relaxed] == ["filter:refresh_rate"]
    assert "刷新率" in result.relaxed[0].zh
    assert search(graph, parse_search(graph, "AMD CPU under $20").query, relax=False).total == 0


def test_bad_queries_are_refused(graph):
    with pytest.raises(ValueError):
        SearchQuery(price_min=300, price_max=100)
    with pytest.raises(ValueError):
        search(graph, SearchQuery(category="no-such-category"))
    with pytest.raises(ValueError):
        AttributeFilter("capacity", "gte", "big")
    with pytest.raises(ValueError):
        parse_search(graph, "   ")


def test_refinement_across_turns(graph):
    first = parse_search(graph, "an AMD CPU under $300").query
    shown = [p.price for p in search(graph, first).items]
    cheaper = refine_query(first, parse_search(graph, "cheaper").query, "cheaper", shown)
    assert cheaper.price_max < max(shown) and cheaper.brands == ("AMD",)
    only = refine_query(first, parse_search(graph, "only Intel").query, "only Intel")
    assert only.brands == ("Intel",) and only.price_max == 300 and only.text is None
    other = refine_query(first, parse_search(graph, "what about motherboards").query)
    assert other.part_type == "motherboard" and other.brands == () and other.price_max == 300
    assert query_from_dict(query_to_dict(cheaper)) == cheaper


def test_products_are_found_by_name(graph):
    mentions = link(graph, "will the Ryzen 7 9800X3D fit the Asus PRIME B650-PLUS WIFI?")
    assert {graph.products[m.sku].name for m in mentions} == {
        "AMD Ryzen 7 9800X3D",
        "Asus PRIME B650-PLUS WIFI",
    }
    assert link(graph, "compare the first and the second one") == []
    assert (
        price_from_entity("$1,200") == 1200
        and price_from_entity("300美元") == 300
        and price_from_entity("") is None
    )


def test_chinese_budgets_and_units_do_not_mix(graph):
    from daogou.config import get_settings

    q = parse_search(graph, "16GB DDR4内存 3200MHz").query
    assert q.part_type == "memory" and q.price_max is None
    assert {(f.key, f.op, f.value) for f in q.filters} == {
        ("memory_type", "eq", "DDR4"),
        ("capacity", "eq", 16),
        ("speed", "gte", 3200),
    }
    yuan = parse_search(graph, "2000元以内的显示器").query
    assert yuan.price_max == round(2000 / get_settings().kg_cny_per_usd, 2)
    assert parse_search(graph, "100到200美元的鼠标").query.price_min == 100
    aio = parse_search(graph, "AIO 360mm").query
    assert aio.category == "pcmcat339900050008" and aio.filters == (
        AttributeFilter("radiator_size", "eq", 360),
    )
