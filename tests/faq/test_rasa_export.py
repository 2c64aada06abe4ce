from __future__ import annotations

import yaml

from faq.content import load_dev_queries
from faq.rasa_export import domain_forms, nlu_yaml, rules_yaml
from tests.faq.conftest import FAQ_DIR


def test_nlu_examples_are_the_variants_and_never_the_dev_set(content):
    data = yaml.safe_load(nlu_yaml(content))
    examples = [line[2:] for line in data["nlu"][0]["examples"].splitlines()]
    variants = {v for e in content.entries for vs in e.questions.values() for v in vs}
    assert set(examples) == variants
    dev = {q.text for q in load_dev_queries(FAQ_DIR, set(content.by_id()))}
    assert not dev & set(examples)


def test_rules_resume_every_declared_form(tmp_path):
    (tmp_path / "a.yml").write_text("forms:\n  checkout_form:\n    required_slots: [x]\n", encoding="utf-8")
    (tmp_path / "b.yml").write_text("forms:\n  return_form:\n    required_slots: [y]\nintents: [faq]\n", encoding="utf-8")
    forms = domain_forms(tmp_path)
    assert forms == ["checkout_form", "return_form"]
    rules = yaml.safe_load(rules_yaml(forms))["rules"]
    assert rules[0]["steps"] == [{"intent": "faq"}, {"action": "action_answer_faq"}]
    for form, rule in zip(forms, rules[1:]):
        assert rule["condition"] == [{"active_loop": form}]
        assert rule["steps"][-2:] == [{"action": form}, {"active_loop": form}]


def test_rules_without_forms_answer_anywhere():
    assert len(yaml.safe_load(rules_yaml([]))["rules"]) == 1
