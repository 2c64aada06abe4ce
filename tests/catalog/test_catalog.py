"""The catalogue import on the real shop data."""

from __future__ import annotations

import gzip
import json
from collections import Counter

import pytest

import catalog
from catalog import pcparts
from catalog.bestbuy import parse_hours
from catalog.reference import brand_matcher, cpu_socket, motherboard_memory_type


@pytest.fixture(scope="module")
def products():
    return catalog.load_products()


@pytest.fixture(scope="module")
def by_name(products):
    return {p.name: p for p in products}


def test_every_priced_part_is_imported_once(products):
    from daogou.config import get_settings

    raw = [json.loads(line) for line in gzip.open(get_settings().data_dir / pcparts.PC_PARTS_FILE, "rt")]
    priced = {pcparts.stable_sku(r) for r in raw if r.get("price")}
    pc = [p for p in products if p.part_type]
    assert {p.sku for p in pc} == priced
    assert len(pc) > 15_000
    assert len({p.sku for p in products}) == len(products)
    assert sum(1 for p in products if p.sku.startswith("BB-")) == 187


def test_sku_is_stable_and_ignores_price():
    raw = {"part_type": "cpu", "name": "AMD Ryzen 7 9800X3D", "price": 451.5, "core_count": 8}
    assert pcparts.stable_sku(raw) == pcparts.stable_sku({**raw, "price": 399.0})
    assert pcparts.stable_sku(raw) != pcparts.stable_sku({**raw, "core_count": 16})
    assert catalog.load_products()[0].sku == catalog.load_products()[0].sku


def test_brands_from_curated_list(products, by_name):
    assert all(p.brand for p in products if p.part_type)
    assert {p.brand for p in products if p.name.startswith("Western Digital")} == {"Western Digital"}
    matcher = brand_matcher()
    assert matcher.match("be quiet! Pure Rock 2") == "be quiet!"
    assert matcher.match("Cooler Master Hyper 212") == "Cooler Master"
    assert matcher.match("Arctic MX-4") == "ARCTIC"
    assert matcher.match("Coolermaster X") is None
    assert matcher.canonical("Insignia™") == "Insignia"


def test_typed_attributes_in_canonical_units(products, by_name):
    cpu = by_name["AMD Ryzen 7 9800X3D"]
    assert cpu.part_type == "cpu" and cpu.category_id == "abcat0507010"
    assert cpu.attributes["core_count"] == 8
    assert cpu.attributes["boost_clock"] == 5200  # MHz
    assert cpu.attributes["socket"] == "AM5"
    board = by_name["Asus PRIME B650-PLUS WIFI"]
    assert board.attributes["socket"] == "AM5" and board.attributes["memory_type"] == "DDR5"
    ram = next(
        p for p in products if p.name == "Corsair Vengeance RGB 32 GB" and p.attributes["speed"] == 6000
    )
    assert ram.attributes["memory_type"] == "DDR5" and ram.attributes["capacity"] == 32
    assert ram.attributes["speed"] == 6000
    monitor = by_name["KOORUI 24E3"]
    assert monitor.attributes["resolution"] == "1080p" and monitor.attributes["refresh_rate"] == 165


def test_categories_placed_in_best_buy_tree(products):
    categories = catalog.load_categories()
    assert all(p.category_id in categories for p in products)
    counts = Counter(p.category_id for p in products if p.part_type == "internal-hard-drive")
    assert set(counts) == {"pcmcat201300050005", "pcmcat270900050001"}  # SSD / HDD
    assert categories["abcat0507010"].path_ids == ("abcat0500000", "abcat0507000", "abcat0507010")


def test_cpu_socket_table():
    assert cpu_socket("Zen 4", "AMD Ryzen 5 7600X") == "AM5"
    assert cpu_socket("Zen 2", "AMD Threadripper 3970X") == "sTRX4"
    assert cpu_socket("Skylake", "Intel Core i9-7900X") == "LGA2066"
    assert cpu_socket("Skylake", "Intel Core i7-6700K") == "LGA1151"
    assert cpu_socket("Piledriver", "AMD FX-8350") == "AM3+"
    assert cpu_socket("Unknown Arch", "x") is None
    assert motherboard_memory_type("LGA1700", "MSI PRO B760M-P DDR4") == "DDR4"
    assert motherboard_memory_type("LGA1700", "Asus PRIME H610I-PLUS D4-CSM") == "DDR4"
    assert motherboard_memory_type("LGA1700", "MSI MAG Z790 TOMAHAWK WIFI") == "DDR5"


def test_every_cpu_has_a_socket(products):
    assert all("socket" in p.attributes for p in products if p.part_type == "cpu")


def test_stores_and_hours():
    stores = catalog.load_stores()
    assert len(stores) == 1565
    moa = next(s for s in stores if s.id == 1000)
    assert moa.hours["mon"] == ("10:00", "21:30") and moa.hours["sun"] == ("11:00", "19:00")
    assert "Geek Squad Services" in moa.services
    assert parse_hours("Mon: 0-11:59")["mon"] == ("00:00", "23:59")
    assert parse_hours("Mon: 10-9")["sun"] is None
    with pytest.raises(ValueError):
        parse_hours("Mon: closed")


def test_missing_data_dir_gives_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="not found"):
        catalog.load_products(tmp_path)
