"""`daogou kg …` and `daogou catalog …` on the real data."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from catalog.cli import app as catalog_app
from knowledge_graph.cli import app

runner = CliRunner()


def test_kg_search_json_and_chinese(graph):
    result = runner.invoke(app, ["search", "AMD", "CPU", "under", "$300", "--json", "--page-size", "3"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["total"] > 10 and len(data["items"]) == 3
    assert all(graph.products[i["sku"]].brand == "AMD" and i["price"] <= 300 for i in data["items"])
    zh = runner.invoke(app, ["search", "300美元以下的AMD处理器", "--lang", "zh", "--page-size", "2"])
    assert zh.exit_code == 0 and "AMD处理器" in zh.output and "美元" in zh.output


def test_kg_product_compat_compare_ask(graph, by_name):
    cpu, board = by_name["AMD Ryzen 7 9800X3D"], by_name["Asus PRIME B650-PLUS WIFI"]
    shown = runner.invoke(app, ["product", cpu.sku, "--fits", "--alternatives"])
    assert shown.exit_code == 0 and "AM5" in shown.output and "cheaper:" in shown.output
    assert "compatible" in runner.invoke(app, ["compat", cpu.sku, board.sku]).output
    assert (
        "boost clock" in runner.invoke(app, ["compare", cpu.sku, by_name["AMD Ryzen 7 7800X3D"].sku]).output
    )
    assert (
        "8"
        in runner.invoke(
            app, ["ask", "how", "many", "cores", "does", "the", "Ryzen", "7", "9800X3D", "have?"]
        ).output
    )


def test_bad_input_is_a_clear_error():
    result = runner.invoke(app, ["product", "NOPE"])
    assert result.exit_code != 0 and "unknown SKU" in result.output
    assert runner.invoke(app, ["search", "cpu", "--lang", "fr"]).exit_code != 0


def test_catalog_summary():
    result = runner.invoke(catalog_app, ["summary"])
    assert result.exit_code == 0 and "stores: 1565" in result.output
