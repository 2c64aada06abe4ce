"""Details, attribute answers, comparison, compatibility, alternatives and accessories on real data."""

from __future__ import annotations

import pytest

from catalog import part_rules as compat
from knowledge_graph import api


def test_details_and_attribute_answers(graph, by_name):
    cpu = by_name["AMD Ryzen 7 9800X3D"]
    info = api.details(graph, cpu.sku, "zh")
    assert info.kind == "处理器" and info.category_path[-1] == "处理器"
    assert info.specs[0].key == "core_count"
    a = api.attribute_answer(graph, cpu.sku, "core_count")
    assert a.value == cpu.attributes["core_count"] == 8 and a.text == "8"
    assert api.attribute_answer(graph, cpu.sku, "boost_clock").text == "5.2 GHz"
    assert api.attribute_answer(graph, cpu.sku, "refresh_rate").value is None
    with pytest.raises(ValueError):
        api.attribute_answer(graph, cpu.sku, "colourfulness")
    with pytest.raises(KeyError):
        api.details(graph, "PC-NOPE")


@pytest.mark.parametrize(
    "question,lang,attribute",
    [
        ("how many cores does the Ryzen 7 9800X3D have?", "en", "core_count"),
        ("AMD Ryzen 7 9800X3D有几个核心？", "zh", "core_count"),
        ("what is the refresh rate of the KOORUI 24E3", "en", "refresh_rate"),
        ("Asus PRIME B650-PLUS WIFI支持什么内存？", "zh", "memory_type"),
    ],
)
def test_questions_are_answered_from_the_data(graph, question, lang, attribute):
    a = api.answer(graph, question, lang)
    product = graph.products[a.skus[0]]
    assert a.kind == "attribute" and a.value == product.attributes[attribute]


def test_compare_marks_the_better_value(graph, by_name):
    a, b = by_name["AMD Ryzen 7 9800X3D"], by_name["AMD Ryzen 7 7800X3D"]
    table = api.compare(graph, [a.sku, b.sku])
    rows = {r.key: r for r in table.rows}
    assert rows["price"].best == (0 if a.price < b.price else 1)
    assert rows["boost_clock"].best == 0  # 5.2 GHz > 5.0 GHz
    assert rows["socket"].best is None and rows["socket"].values == ("AM5", "AM5")
    with pytest.raises(ValueError):
        api.compare(graph, [a.sku])


def test_compatibility_with_reasons(graph, by_name):
    board = by_name["Asus PRIME B650-PLUS WIFI"]
    ok = api.compatibility(graph, by_name["AMD Ryzen 7 9800X3D"].sku, board.sku)
    assert ok.compatible is True and "AM5" in ok.text("en")
    bad = api.compatibility(graph, by_name["Intel Core i9-14900K"].sku, board.sku)
    assert bad.compatible is False and "LGA1700" in bad.text("en") and "不兼容" in bad.text("zh")
    ddr4 = next(
        p
        for p in graph.products.values()
        if p.part_type == "memory" and p.attributes.get("memory_type") == "DDR4"
    )
    assert api.compatibility(graph, ddr4.sku, board.sku).compatible is False
    mini = next(p for p in graph.products.values() if p.attributes.get("case_type") == "Mini ITX Tower")
    assert api.compatibility(graph, mini.sku, board.sku).compatible is False  # ATX board, ITX case
    mouse = graph.by_part_type["mouse"][0]
    assert api.compatibility(graph, mouse, board.sku).compatible is None


def test_power_supply_against_estimated_draw(graph):
    big_gpu = next(p for p in graph.products.values() if "RTX 4090" in p.attributes.get("chipset", ""))
    small_psu = next(
        p
        for p in graph.products.values()
        if p.part_type == "power-supply" and p.attributes.get("wattage") == 450
    )
    result = api.compatibility(graph, small_psu.sku, big_gpu.sku)
    assert result.compatible is False and result.reasons[0].code == "psu_wattage"
    assert compat.recommended_psu(120, 450) == 900  # (120 + 450 + 100) × 1.3 = 871 → 900


def test_what_fits(graph, by_name):
    cpu = by_name["AMD Ryzen 7 9800X3D"]
    groups = {g.part_type: g for g in api.compatible_with(graph, cpu.sku, limit=5)}
    boards = groups["motherboard"]
    assert boards.total == sum(
        1
        for p in graph.products.values()
        if p.part_type == "motherboard" and p.attributes.get("socket") == "AM5"
    )
    assert all(p.attributes["socket"] == "AM5" for p in boards.products)
    board = by_name["Asus PRIME B650-PLUS WIFI"]
    memory = api.compatible_with(graph, board.sku, "memory", limit=20)[0]
    assert all(p.attributes["memory_type"] == "DDR5" for p in memory.products)


def test_alternatives(graph, by_name):
    cpu = by_name["AMD Ryzen 7 9800X3D"]
    cheaper = api.similar(graph, cpu.sku, "cheaper")
    assert cheaper and all(p.price < cpu.price and p.attributes["socket"] == "AM5" for p in cheaper)
    better = api.similar(graph, cpu.sku, "better")
    assert better and all(
        p.attributes["boost_clock"] > cpu.attributes["boost_clock"]
        and cpu.price <= p.price <= cpu.price * 1.5
        for p in better
    )
    assert all(p.part_type == "cpu" for p in api.similar(graph, cpu.sku))
    with pytest.raises(ValueError):
        api.similar(graph, cpu.sku, "fancier")


def test_accessories(graph):
    cooler = graph.by_part_type["cpu-cooler"][0]
    groups = {g.part_type: g for g in api.accessories(graph, cooler)}
    assert groups["thermal-paste"].products and groups["thermal-paste"].reason("zh")
    board = next(p for p in graph.products.values() if p.name == "Asus PRIME B650-PLUS WIFI")
    memory = {g.part_type: g for g in api.accessories(graph, board.sku)}["memory"]
    assert all(p.attributes["memory_type"] == "DDR5" for p in memory.products)


def test_card_has_name_price_specs(graph, by_name):
    card = api.product_card(graph, by_name["KOORUI 24E3"], "zh")
    assert card["price_text"].endswith("美元") and card["kind"] == "显示器"
    assert {"name": "刷新率", "value": "165 Hz"} in card["specs"]


def test_whole_build_check(graph, by_name):
    cpu, board = by_name["AMD Ryzen 7 9800X3D"], by_name["Asus PRIME B650-PLUS WIFI"]
    ram = next(
        p
        for p in graph.products.values()
        if p.part_type == "memory"
        and p.attributes.get("memory_type") == "DDR5"
        and p.attributes.get("capacity") == 32
    )
    gpu = next(p for p in graph.products.values() if "RTX 4090" in p.attributes.get("chipset", ""))
    small = next(
        p
        for p in graph.products.values()
        if p.part_type == "power-supply" and p.attributes.get("wattage") == 650
    )
    big = next(
        p
        for p in graph.products.values()
        if p.part_type == "power-supply" and p.attributes.get("wattage") == 1000
    )
    ok = api.check_build(graph, [cpu.sku, board.sku, ram.sku, gpu.sku, big.sku])
    assert ok.compatible is True and ok.recommended_psu_w == compat.recommended_psu(
        cpu.attributes["tdp"], 450
    )
    bad = api.check_build(graph, [cpu.sku, board.sku, ram.sku, gpu.sku, small.sku])
    assert bad.compatible is False and [r.code for r in bad.reasons if r.ok is False] == ["psu_wattage"]
    with pytest.raises(ValueError):
        api.check_build(graph, [cpu.sku])


def test_cooler_fits_socket_where_the_name_says(graph, by_name):
    cooler = by_name["Noctua NH-L9A-AM5"]  # its name ties it to AM5 (AM4 mounts too)
    fits = api.compatibility(graph, cooler.sku, by_name["AMD Ryzen 7 9800X3D"].sku)
    assert fits.compatible is True and fits.reasons[0].code == "cooler_socket" and "AM5" in fits.text("en")
    assert api.compatibility(graph, cooler.sku, by_name["Intel Core i9-14900K"].sku).compatible is False
    unknown = next(
        p for p in graph.products.values() if p.part_type == "cpu-cooler" and not compat.cooler_sockets(p)
    )
    maybe = api.compatibility(graph, unknown.sku, by_name["Asus PRIME B650-PLUS WIFI"].sku)
    assert maybe.compatible is None and "AM5" in maybe.text("en") and "扣具" in maybe.text("zh")
    coolers = {g.part_type: g for g in api.compatible_with(graph, by_name["AMD Ryzen 7 9800X3D"].sku)}[
        "cpu-cooler"
    ]
    assert (
        coolers.total
        == sum(
            1
            for p in graph.products.values()
            if p.part_type == "cpu-cooler" and "AM5" in compat.cooler_sockets(p)
        )
        > 0
    )


def test_compare_up_to_four(graph):
    cpus = graph.by_part_type["cpu"][:5]
    table = api.compare(graph, cpus[:4], "zh")
    assert len(table.products) == 4 and all(len(r.values) == 4 for r in table.rows)
    assert table.rows[0].name == "价格" and {r.key for r in table.rows} >= {"core_count", "boost_clock"}
    with pytest.raises(ValueError):
        api.compare(graph, cpus)
