"""Names shoppers and the assistant use, in English and Chinese: categories, part types, attributes
(with units) and common values. Everything comes from the curated files in data/catalog/, so text
shown to users is data, not code."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from catalog.models import Category
from catalog.reference import load_yaml, part_types

LANGS = ("en", "zh")


@dataclass(frozen=True)
class AttributeInfo:
    key: str
    en: str
    zh: str
    unit: str | None
    importance: int

    def name(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en


@lru_cache(maxsize=1)
def attributes() -> dict[str, AttributeInfo]:
    return {
        key: AttributeInfo(key, spec["en"], spec["zh"], spec.get("unit"), int(spec.get("importance", 2)))
        for key, spec in load_yaml("attributes.yaml").items()
    }


@lru_cache(maxsize=1)
def zh_categories() -> dict[str, str]:
    return dict(load_yaml("zh_categories.yaml"))


@lru_cache(maxsize=1)
def _values() -> tuple[dict[str, str], dict[str, str]]:
    data = load_yaml("zh_values.yaml")
    return {str(k): v for k, v in data["values"].items()}, {
        str(k): str(v) for k, v in data["synonyms"].items()
    }


def zh_value_synonyms() -> dict[str, str]:
    return _values()[1]


def category_name(category: Category, lang: str) -> str:
    if lang == "zh":
        return zh_categories().get(category.id, category.name)
    return category.name


def part_type_name(part_type: str, lang: str) -> str:
    spec = part_types().get(part_type)
    if spec is None:
        return part_type
    return spec["zh"] if lang == "zh" else spec["en"]


def attribute_name(key: str, lang: str) -> str:
    info = attributes().get(key)
    if info is None:
        return key.replace("_", " ")
    return info.name(lang)


def value_text(value: Any, lang: str) -> str:
    """A categorical value in the user's language (compound colours word by word)."""
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, (list, tuple)):
        return ", ".join(value_text(v, lang) for v in value)
    text = str(value)
    if lang != "zh":
        return text
    table = _values()[0]
    if text in table:
        return table[text]
    if " / " in text:
        return "/".join(table.get(part, part) for part in text.split(" / "))
    return text


def _number(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}".rstrip("0").rstrip(".")


def format_value(key: str, value: Any, lang: str) -> str:
    """Value with its unit, in a readable scale (MHz → GHz for CPU clocks, GB → TB)."""
    info = attributes().get(key)
    unit = info.unit if info else None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value_text(value, lang)
    if (
        unit == "MHz"
        and value >= 1000
        and key in ("core_clock", "boost_clock")
        and value % 10 == 0
        and value <= 7000
    ):
        return f"{_number(value / 1000)} GHz"
    if unit == "GB" and value >= 1000 and key == "capacity":
        return f"{_number(value / 1000)} TB"
    if unit == "USD":
        return f"${value:,.2f}"
    if unit == "inch":
        return f'{_number(value)}"' if lang == "en" else f"{_number(value)}英寸"
    if unit in (None, "x"):
        return _number(value) + ("x" if unit == "x" else "")
    return f"{_number(value)} {unit}"


def format_price(price: float, lang: str) -> str:
    return f"${price:,.2f}" if lang == "en" else f"{price:,.2f}美元"


_WORD = re.compile(r"[a-z0-9][a-z0-9.+/-]*[a-z0-9+]|[a-z0-9]")


def tokens(text: str) -> list[str]:
    """Lower-case word tokens of a name or query; hyphenated model numbers give the whole token and
    its parts ("b650-plus" → b650-plus, b650, plus) so either spelling matches."""
    out: list[str] = []
    for tok in _WORD.findall(text.lower()):
        out.append(tok)
        if "-" in tok or "/" in tok:
            out.extend(p for p in re.split(r"[-/]", tok) if p)
    return out
