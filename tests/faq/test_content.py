from __future__ import annotations

import shutil

import pytest
import yaml

from faq.content import FaqContentError, load_content, load_dev_queries
from tests.faq.conftest import FAQ_DIR

REQUIRED_TOPICS = """shipping.cost shipping.time shipping.international shipping.track order.cancel
order.change_address order.modify returns.policy returns.how returns.refund_time returns.exchange
returns.damaged returns.missing_package warranty.coverage warranty.claim price.match
price.drop_adjustment payment.methods payment.installments payment.failed invoice.fapiao pickup.how
pickup.time_limit pickup.someone_else store.hours store.services membership.join membership.points
giftcard.use coupon.use discount.student tradein.how account.reset_password account.delete_data
privacy.data_use contact.human product.availability_notify product.preorder assembly.service
installation.service""".split()


def test_content_covers_the_issue(content):
    assert len(content.entries) >= 60
    assert set(REQUIRED_TOPICS) <= {e.topic for e in content.entries}
    for entry in content.entries:
        for lang in ("en", "zh"):
            assert len(entry.questions[lang]) >= 3, entry.id
            assert entry.answers[lang], entry.id


def test_dev_set_is_separate_from_the_index(content):
    """Exact copies after normalisation (case, width, punctuation, spaces); near-duplicates are checked
    with the embedding model in test_dev_overlap.py."""
    from benchmarks.faq import normalise

    dev = load_dev_queries(FAQ_DIR, set(content.by_id()))
    indexed = {normalise(v) for e in content.entries for vs in e.questions.values() for v in vs}
    assert not [q.text for q in dev if normalise(q.text) in indexed]
    assert {q.lang for q in dev if q.in_scope} == {"en", "zh"}
    assert sum(not q.in_scope for q in dev) >= 60


@pytest.fixture
def faq_copy(tmp_path):
    target = tmp_path / "faq"
    shutil.copytree(FAQ_DIR, target)
    return target


def _edit_first_entry(faq_dir, change):
    path = faq_dir / "entries" / "shipping.yaml"
    entries = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(entries[0])
    path.write_text(yaml.safe_dump(entries, allow_unicode=True), encoding="utf-8")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda e: e.update(topic="shipping.nowhere"), "not listed in topics.yaml"),
        (lambda e: e["questions"].update(zh=["运费多少钱？"]), "at least 3"),
        (lambda e: e["questions"]["zh"].append("How much is it?"), "another language"),
        (lambda e: e["answer"].pop("zh"), "answer.zh is missing"),
        (lambda e: e.update(id="Bad Id"), "id must be"),
        (lambda e: e.update(id="shipping-free-threshold"), "id also used"),
        (lambda e: e.update(links=[{"title": "x", "url": "ftp://x"}]), "link"),
    ],
)
def test_validation_reports_each_problem(faq_copy, change, message):
    _edit_first_entry(faq_copy, change)
    with pytest.raises(FaqContentError) as err:
        load_content(faq_copy)
    assert any(message in p for p in err.value.problems), err.value.problems


def test_dev_set_must_name_existing_entries(faq_copy, content):
    path = faq_copy / "dev" / "paraphrases.yaml"
    path.write_text(
        path.read_text(encoding="utf-8") + '- {q: "where is my stuff", id: no-such-entry}\n', encoding="utf-8"
    )
    with pytest.raises(FaqContentError, match="no-such-entry"):
        load_dev_queries(faq_copy, set(content.by_id()))


def test_search_cli_rejects_an_unknown_language_before_loading_anything():
    from typer.testing import CliRunner

    from faq import cli

    out = CliRunner().invoke(cli.app, ["search", "--json", "--lang", "fr", "hello"])
    assert out.exit_code == 2 and "--lang" in out.output


def test_tuning_questions_are_separate_from_the_index_and_the_dev_set(content):
    """dev/tune_*.yaml only tunes: none of it is indexed or repeats a dev question."""
    from benchmarks.faq import normalise
    from faq.content import load_tuning_queries

    tuning = load_tuning_queries(FAQ_DIR, set(content.by_id()))
    indexed = {normalise(v) for e in content.entries for vs in e.questions.values() for v in vs}
    dev = {normalise(q.text) for q in load_dev_queries(FAQ_DIR, set(content.by_id()))}
    assert tuning and any(not q.in_scope for q in tuning)
    assert not [q.text for q in tuning if normalise(q.text) in indexed | dev]


def test_tuning_file_must_name_existing_entries(faq_copy, content):
    from faq.content import load_tuning_queries

    (faq_copy / "dev" / "tune_xx.yaml").write_text(
        'paraphrases:\n- {q: "运费怎么算呢", id: no-such-entry}\n', encoding="utf-8"
    )
    with pytest.raises(FaqContentError, match="no-such-entry"):
        load_tuning_queries(faq_copy, set(content.by_id()))


def test_a_synonym_term_belongs_to_one_group(faq_copy):
    path = faq_copy / "synonyms.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    first, second = list(raw["zh"])[:2]
    raw["zh"][second] = raw["zh"][second] + [raw["zh"][first][0]]
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(FaqContentError) as err:
        load_content(faq_copy)
    assert any(f"in both {first} and {second}" in p for p in err.value.problems), err.value.problems


def test_synonym_groups_are_loaded_per_language(content):
    raw = yaml.safe_load((FAQ_DIR / "synonyms.yaml").read_text(encoding="utf-8"))
    assert content.synonyms["zh"] == {name: tuple(terms) for name, terms in raw["zh"].items()}
