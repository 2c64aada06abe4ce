"""Runs in the Rasa environment: the response generator picks the variation in the shopper's language."""

import asyncio

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from bot.nlg import BilingualNLG

DOMAIN = Domain.from_yaml("""
version: "3.1"
slots:
  language:
    type: categorical
    values: [en, zh]
    influence_conversation: false
    initial_value: en
    mappings:
      - type: custom
responses:
  utter_greet:
    - text: "Hello"
    - condition:
        - type: slot
          name: language
          value: zh
      text: "你好"
""")


def reply(*messages: str) -> str:
    tracker = DialogueStateTracker.from_events("t", [UserUttered(m) for m in messages], slots=DOMAIN.slots)
    nlg = BilingualNLG(domain=DOMAIN)
    return asyncio.run(nlg.generate("utter_greet", tracker, "rest"))["text"]


def test_chinese_message_gets_chinese_reply():
    assert reply("你好") == "你好"


def test_english_message_gets_english_reply():
    assert reply("hi") == "Hello"


def test_user_may_switch_language_message_by_message():
    assert reply("你好", "hello") == "Hello"
    assert reply("hello", "你好") == "你好"


def test_message_without_evidence_keeps_the_previous_language():
    assert reply("你好", "2") == "你好"
