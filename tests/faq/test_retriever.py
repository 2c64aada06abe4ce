"""End-to-end retrieval with the bundled model (slow: loads sentence-transformers)."""

from __future__ import annotations

import json
import shutil

import pytest
import yaml

from faq.index import build_language_indexes
from faq.retriever import FaqRetriever, RetrieverConfig
from tests.faq.conftest import FAQ_DIR

pytestmark = pytest.mark.slow


@pytest.mark.parametrize(
    "query, expected",
    [
        ("how can I send back a blender I bought online", "returns-how"),
        ("do you guys ship to Germany", "shipping-international"),
        ("my gift card - how do i spend it on the website", "giftcard-use"),
        ("退款一般几天能收到", "returns-refund-time"),
        ("可以找真人客服吗", "contact-human"),
    ],
)
def test_paraphrases_rank_the_right_entry_first(retriever, query, expected):
    result = retriever.search(query)
    assert result.best.entry.id == expected, [(c.entry.id, round(c.fused, 3)) for c in result.candidates]


@pytest.mark.parametrize(
    "query",
    ["what's the best budget graphics card for 1080p", "讲个笑话吧", "how do I return a library book"],
)
def test_out_of_scope_is_not_answered_confidently(retriever, query):
    result = retriever.search(query)
    assert not result.confident
    assert result.as_json()["answer"] is None
    assert len(result.suggestions(3)) == 3


def test_confident_answer_is_in_the_query_language(retriever):
    result = retriever.search("你们支持哪些付款方式？")
    assert result.lang == "zh" and result.confident
    assert result.as_json()["answer"] == result.best.entry.answers["zh"]


def test_empty_query_is_an_error(retriever):
    with pytest.raises(ValueError):
        retriever.search("   ")


def test_index_is_reused_and_rebuilt_only_when_questions_or_model_change(retriever, state_dir, tmp_path):
    entries = retriever.entries
    _, fp, built = build_language_indexes(entries, "", "Flat", state_dir)
    assert fp == retriever.fingerprint and not built
    faq_dir = tmp_path / "faq"
    shutil.copytree(FAQ_DIR, faq_dir)
    path = faq_dir / "entries" / "shipping.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data[0]["answer"]["en"] = "Shipping is $6.99."
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    answer_edit = FaqRetriever.load(RetrieverConfig(faq_dir=faq_dir, state_dir=state_dir))
    assert answer_edit.fingerprint == retriever.fingerprint  # answers are not embedded
    assert answer_edit.entry("shipping-cost").answers["en"] == "Shipping is $6.99."
    data[0]["questions"]["en"].append("What does delivery cost me?")
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    question_edit = FaqRetriever.load(RetrieverConfig(faq_dir=faq_dir, state_dir=state_dir))
    assert question_edit.fingerprint != retriever.fingerprint
    assert (state_dir / "faq" / question_edit.fingerprint / "dense_en.faiss").exists()
    assert not (state_dir / "faq" / retriever.fingerprint).exists()  # the stale index was removed


def test_approximate_index_is_configurable(retriever, tmp_path):
    approx = FaqRetriever.load(RetrieverConfig(faq_dir=FAQ_DIR, state_dir=tmp_path, faiss_spec="HNSW16"))
    assert type(approx.indexes["en"].faiss_index).__name__.startswith("IndexHNSW")
    assert approx.search("how do I track my package").best.entry.topic == "shipping.track"


def test_search_cli_json_lines(retriever, monkeypatch):
    from typer.testing import CliRunner

    from faq import cli

    monkeypatch.setattr("faq.retriever.FaqRetriever.load", classmethod(lambda cls, *a, **k: retriever))
    out = CliRunner().invoke(
        cli.app, ["search", "--json"], input="how long does shipping take\n\n怎么申请保修\n"
    )
    assert out.exit_code == 0, out.output
    lines = [json.loads(line) for line in out.output.splitlines()]
    assert [line["query"] for line in lines] == ["how long does shipping take", "怎么申请保修"]
    for line in lines:
        assert set(line) >= {"query", "topic", "id", "score", "confident", "answer"}
    assert lines[1]["topic"] == "warranty.claim"
    single = CliRunner().invoke(cli.app, ["search", "--json", "do you price match"])
    assert json.loads(single.output)["topic"] == "price.match"


def test_shared_retriever_reloads_when_an_operator_edits_the_files(tmp_path, monkeypatch):
    from daogou.config import get_settings
    from faq import retriever as module

    faq_dir = tmp_path / "faq"
    shutil.copytree(FAQ_DIR, faq_dir)
    settings = get_settings().model_copy(update={"faq_dir": faq_dir, "state_dir": tmp_path / "state"})
    monkeypatch.setattr("daogou.config.get_settings", lambda: settings)
    monkeypatch.setattr(module, "_shared", None)
    monkeypatch.setattr(module, "RELOAD_CHECK_S", 0.0)
    first = module.get_retriever()
    assert module.get_retriever() is first  # nothing changed: same object
    path = faq_dir / "entries" / "shipping.yaml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data[0]["answer"]["en"] = "Shipping is $6.99."
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    second = module.get_retriever()
    assert second is not first and second.entry("shipping-cost").answers["en"] == "Shipping is $6.99."
    data[0]["topic"] = "not.a.topic"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    assert module.get_retriever() is second  # invalid edit: keep serving the last good version
