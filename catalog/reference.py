"""Curated reference data written by the team (data/catalog/*.yaml): brands, part types, sockets,
attribute names and units. Loaded once per process."""

from __future__ import annotations

import re
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import yaml

from daogou.config import ROOT

REFERENCE_DIR = ROOT / "data" / "catalog"


@cache
def load_yaml(name: str) -> Any:
    path = REFERENCE_DIR / name
    if not path.exists():
        raise FileNotFoundError(f"curated catalogue data file missing: {path}")
    with path.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def reference_files() -> list[Path]:
    """Every curated file; part of the knowledge graph's cache fingerprint."""
    return sorted(REFERENCE_DIR.glob("*.yaml"))


class BrandMatcher:
    """Finds the brand a product name starts with: longest curated entry, whole words only."""

    def __init__(self, brands: list[str], aliases: dict[str, str]):
        names = {b: b for b in brands}
        names.update(aliases)
        self._canonical = {k.lower(): v for k, v in names.items()}
        # one pattern per first letter: a single alternation of ~500 brands is tried entry by entry
        by_initial: dict[str, list[str]] = {}
        for n in sorted(names, key=len, reverse=True):
            by_initial.setdefault(n[0].lower(), []).append(n)
        self._patterns = {
            initial: re.compile(
                r"^(" + "|".join(re.escape(n) for n in group) + r")(?=$|[\s,(/-])", re.IGNORECASE
            )
            for initial, group in by_initial.items()
        }

    def match(self, name: str) -> str | None:
        name = name.strip()
        pattern = self._patterns.get(name[:1].lower())
        m = pattern.match(name) if pattern else None
        return self._canonical[m.group(1).lower()] if m else None

    def canonical(self, brand: str) -> str:
        """The curated spelling of a manufacturer field (Best Buy), or the field itself, cleaned."""
        cleaned = brand.replace("™", "").replace("®", "").strip()
        return self._canonical.get(cleaned.lower(), cleaned)


@lru_cache(maxsize=1)
def brand_matcher() -> BrandMatcher:
    data = load_yaml("brands.yaml")
    return BrandMatcher(list(data["brands"]), dict(data.get("aliases") or {}))


def part_types() -> dict[str, dict[str, Any]]:
    return load_yaml("part_types.yaml")


@lru_cache(maxsize=1)
def _socket_rules() -> dict[str, tuple[str, list[tuple[re.Pattern[str], str]]]]:
    table = load_yaml("cpu_sockets.yaml")
    return {
        arch: (spec["default"], [(re.compile(r["name"]), r["socket"]) for r in spec.get("rules", [])])
        for arch, spec in table.items()
    }


def cpu_socket(microarchitecture: str | None, name: str) -> str | None:
    """Socket of a CPU from its microarchitecture (data/catalog/cpu_sockets.yaml)."""
    if not microarchitecture or microarchitecture not in _socket_rules():
        return None
    default, rules = _socket_rules()[microarchitecture]
    for pattern, socket in rules:
        if pattern.search(name):
            return socket
    return default


@lru_cache(maxsize=1)
def _memory_rules() -> tuple[dict[str, str], list[tuple[re.Pattern[str], str]]]:
    table = load_yaml("memory_support.yaml")
    return dict(table["sockets"]), [
        (re.compile(r["name"]), r["memory_type"]) for r in table["name_overrides"]
    ]


def motherboard_memory_type(socket: str | None, name: str) -> str | None:
    """DDR generation a motherboard takes (data/catalog/memory_support.yaml)."""
    sockets, overrides = _memory_rules()
    for pattern, memory_type in overrides:
        if pattern.search(name):
            return memory_type
    return sockets.get(socket or "")
