"""The StaffIntentGuard inside a real Rasa NLU graph: a tiny model trained in a temp dir (keyword
classifier, seconds), then messages parsed by Rasa's own processor with the metadata each channel sets.
It also shows why the channels must defuse "/staff_…": Rasa's RegexMessageHandler runs after every
pipeline component, the guard included."""

from __future__ import annotations

import asyncio
import textwrap

import pytest
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.model_training import train_nlu

from bot.channels.guard import defuse_staff_trigger, sign_staff_claims

pytestmark = pytest.mark.slow

CONFIG = """
recipe: default.v1
language: en
assistant_id: guard-test
pipeline:
  - name: WhitespaceTokenizer
  - name: KeywordIntentClassifier
  - name: bot.channels.guard.StaffIntentGuard
policies: []
"""
NLU = """
version: "3.1"
nlu:
- intent: staff_stock
  examples: |
    - warehouse
    - backroom
- intent: greet
  examples: |
    - hello
    - hi
"""
DOMAIN = """
version: "3.1"
intents: [greet, staff_stock, nlu_fallback]
"""


@pytest.fixture(scope="module")
def agent(tmp_path_factory):
    d = tmp_path_factory.mktemp("guard-bot")
    (d / "config.yml").write_text(CONFIG)
    (d / "nlu.yml").write_text(textwrap.dedent(NLU))
    (d / "domain.yml").write_text(DOMAIN)
    model = train_nlu(
        str(d / "config.yml"), str(d / "nlu.yml"), str(d / "models"), domain=str(d / "domain.yml")
    )
    assert model, "training the tiny NLU model failed"
    return Agent.load(model)


def intent(agent, text: str, metadata: dict | None) -> str:
    parsed = asyncio.run(agent.processor.parse_message(UserMessage(text, metadata=metadata)))
    return parsed["intent"]["name"]


def test_staff_words_reach_the_staff_intent_only_with_signed_claims(agent):
    staff = {"staff": sign_staff_claims({"staff_id": 7, "role": "associate", "store_id": 3, "token": "t"})}
    forged = {"staff": {"staff_id": 7, "role": "associate", "store_id": 3, "signature": "0" * 64}}
    assert intent(agent, "is it in the warehouse", staff) == "staff_stock"
    assert intent(agent, "is it in the warehouse", None) == "nlu_fallback"
    assert intent(agent, "is it in the warehouse", forged) == "nlu_fallback"
    assert intent(agent, "hello", None) == "greet"


def test_intent_shortcut_bypasses_the_pipeline_so_channels_defuse_it(agent):
    # Rasa resolves "/intent" after the guard: this is the hole the shopper channels close
    assert intent(agent, "/staff_stock", None) == "staff_stock"
    assert intent(agent, defuse_staff_trigger("/staff_stock"), None) != "staff_stock"
    assert intent(agent, "/greet", None) == "greet"
