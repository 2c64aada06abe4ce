from __future__ import annotations

import pytest
import yaml

from daogou.config import ROOT
from faq.content import FaqContentError, load_content, load_dev_queries
from faq.rasa_export import domain_forms, domain_intents, nlu_yaml, rules_yaml
from tests.faq.conftest import FAQ_DIR


def _examples(nlu: str) -> list[str]:
    return [yaml.safe_load(line[2:]) for line in yaml.safe_load(nlu)["nlu"][0]["examples"].splitlines()]


def test_nlu_examples_are_the_variants_and_never_the_dev_set(content):
    examples = _examples(nlu_yaml(content))
    variants = {
        v
        for e in content.entries
        for lang, vs in e.questions.items()
        for v in vs
        if (lang, v) not in content.rasa_intents
    }
    assert set(examples) == variants
    dev = {q.text for q in load_dev_queries(FAQ_DIR, set(content.by_id()))}
    assert not dev & set(examples)


def test_rules_resume_every_declared_form(tmp_path):
    (tmp_path / "a.yml").write_text("forms:\n  checkout_form:\n    required_slots: [x]\n", encoding="utf-8")
    (tmp_path / "b.yml").write_text(
        "forms:\n  return_form:\n    required_slots: [y]\nintents: [faq]\n", encoding="utf-8"
    )
    forms = domain_forms(tmp_path)
    assert forms == ["checkout_form", "return_form"]
    rules = yaml.safe_load(rules_yaml(forms))["rules"]
    assert rules[0]["steps"] == [{"intent": "faq"}, {"action": "action_answer_faq"}]
    for form, rule in zip(forms, rules[1:]):
        assert rule["condition"] == [{"active_loop": form}]
        assert rule["steps"][-2:] == [{"action": form}, {"active_loop": form}]


def test_rules_without_forms_answer_anywhere():
    assert len(yaml.safe_load(rules_yaml([]))["rules"]) == 1


def _faq_dir(tmp_path, entries: str):
    (tmp_path / "entries").mkdir()
    (tmp_path / "topics.yaml").write_text(
        "order.track: tracking\nreturns.policy: returns\n", encoding="utf-8"
    )
    (tmp_path / "entries" / "a.yaml").write_text(entries, encoding="utf-8")
    return tmp_path


ROUTED = """
- id: track
  topic: order.track
  rasa_intent: order_status
  questions:
    en: [where is my order, track my parcel, has my order shipped]
    zh: [我的订单到哪了, 查一下物流, 我的订单发货了吗]
  answer: {en: Open My orders., zh: 打开我的订单。}
- id: returns
  topic: returns.policy
  questions:
    en:
      - what is your return policy
      - how long do refunds take
      - text: I want to return order 123
        rasa_intent: return_order
    zh: [退货政策是什么, 退款要多久, {text: 我要退掉订单123, rasa_intent: return_order}]
  answer: {en: 30 days., zh: 30 天。}
"""


def test_variants_owned_by_a_transactional_intent_stay_in_retrieval_but_leave_faq(tmp_path):
    content = load_content(_faq_dir(tmp_path, ROUTED))
    by_id = content.by_id()
    assert by_id["returns"].questions["en"][2] == "I want to return order 123"  # still indexed
    assert by_id["track"].questions["zh"] == ("我的订单到哪了", "查一下物流", "我的订单发货了吗")
    assert content.rasa_intents[("en", "has my order shipped")] == "order_status"
    assert content.rasa_intents[("zh", "我要退掉订单123")] == "return_order"
    assert ("en", "what is your return policy") not in content.rasa_intents
    examples = _examples(nlu_yaml(content, {"order_status", "return_order"}))
    assert examples == [
        "what is your return policy",
        "how long do refunds take",
        "退货政策是什么",
        "退款要多久",
    ]


def test_routing_to_an_intent_the_domain_lacks_is_refused(tmp_path):
    content = load_content(_faq_dir(tmp_path, ROUTED))
    with pytest.raises(ValueError, match="order_status"):
        nlu_yaml(content, {"return_order", "faq"})


@pytest.mark.parametrize("bad", ["faq", "Order Status", 3])
def test_rasa_intent_must_be_another_intent_name(tmp_path, bad):
    with pytest.raises(FaqContentError, match="rasa_intent"):
        load_content(_faq_dir(tmp_path, ROUTED.replace("rasa_intent: order_status", f"rasa_intent: {bad!r}")))


def test_every_routed_variant_names_a_domain_intent(content):
    intents = domain_intents(ROOT / "bot" / "domain")
    assert {"order_status", "request_human", "faq"} <= intents
    nlu_yaml(content, intents)  # raises on an intent the bot does not have
    assert set(content.rasa_intents.values()) <= intents - {"faq"}
