"""The generated NLU lookup tables follow the catalogue, and every synonym means what the text means."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import yaml

from knowledge_graph.parse import find_brands, find_category

ROOT = Path(__file__).resolve().parents[2]


def _module():
    spec = importlib.util.spec_from_file_location(
        "generate_nlu_lookups", ROOT / "scripts" / "generate_nlu_lookups.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _synonyms(text: str) -> dict[str, list[str]]:
    out = {}
    for item in yaml.safe_load(text)["nlu"]:
        if "synonym" in item:
            out[str(item["synonym"])] = [
                line[2:] for line in item["examples"].splitlines() if line.startswith("- ")
            ]
    return out


def test_committed_files_are_up_to_date(graph):
    module = _module()
    for name, text in module.generate(graph).items():
        assert (ROOT / "data" / "nlu" / "lookups" / name).read_text(encoding="utf-8") == text, name
    userdict = module.jieba_userdict(graph)
    assert (module.JIEBA_DIR / "userdict.txt").read_text(encoding="utf-8") == userdict
    assert "华硕 100000\n" in userdict and "刷新率 100000\n" in userdict


def test_category_synonyms_round_trip(graph):
    generated = _module().generate(graph)
    for canonical, phrases in _synonyms(generated["category.yml"]).items():
        target = find_category(graph, canonical)[:2]
        assert target != (None, None), canonical
        for phrase in phrases:
            assert find_category(graph, phrase.strip('"'))[:2] == target, (phrase, canonical)


def test_brand_lookup_has_every_brand_and_chinese_names(graph):
    text = _module().generate(graph)["brand.yml"]
    assert all(re.search(r"- \"?" + re.escape(b), text) for b in graph.brands)
    synonyms = _synonyms(text)
    assert "华硕" in synonyms["Asus"]
    assert find_brands(graph, "Asus")[0] == ["Asus"]


def test_no_phrase_maps_to_two_values(graph):
    generated = _module().generate(graph)
    seen: dict[str, str] = {}
    for text in generated.values():
        for canonical, phrases in _synonyms(text).items():
            for phrase in phrases:
                assert seen.setdefault(phrase.lower(), canonical) == canonical, phrase
