"""action_answer_faq against the real retriever (slow: loads the embedding model)."""

from __future__ import annotations

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

pytestmark = pytest.mark.slow


def tracker_for(text: str, entities: list[dict] | None = None) -> Tracker:
    message = {"text": text, "intent": {"name": "faq"}, "entities": entities or []}
    events = [{"event": "user", "text": text, "parse_data": message, "timestamp": 0}]
    return Tracker("shopper-1", {"language": None}, message, events, False, None, {}, "action_listen")


@pytest.fixture
def action(retriever, monkeypatch):
    import actions.faq as module
    import actions.faq_answers as answering  # where the FAQ answer is looked up

    monkeypatch.setattr(answering, "get_retriever", lambda: retriever)
    return module.ActionAnswerFaq()


async def run(action, tracker, intents=("faq",)):
    dispatcher = CollectingDispatcher()
    events = await action.run(dispatcher, tracker, {"intents": list(intents)})
    return dispatcher.messages, events


async def test_confident_question_gets_the_answer_in_its_language(action, retriever):
    messages, events = await run(action, tracker_for("怎么重置密码"))
    assert events == []
    assert messages[0]["text"] == retriever.entry("account-reset-password").answers["zh"]


async def test_unsure_offers_closest_questions_and_a_human(action, retriever):
    messages, _ = await run(action, tracker_for("is the rtx 4080 good for 4k gaming"))
    message = messages[0]
    assert message["response"] == "utter_faq_not_sure"
    buttons = message["buttons"]
    assert 3 <= len(buttons) <= 4
    assert buttons[-1]["title"] == retriever.entry("contact-human").question("en")
    assert buttons[-1]["payload"] == '/faq{"faq_id": "contact-human"}'
    assert all(b["payload"].startswith('/faq{"faq_id": ') for b in buttons[:-1])


async def test_human_button_uses_the_handoff_intent_when_the_domain_has_it(action):
    messages, _ = await run(action, tracker_for("tell me a joke"), intents=("faq", "request_human"))
    assert messages[0]["buttons"][-1]["payload"] == "/request_human"


async def test_button_payload_answers_the_chosen_entry(action, retriever):
    tracker = tracker_for(
        '/faq{"faq_id": "pickup-time-limit"}', [{"entity": "faq_id", "value": "pickup-time-limit"}]
    )
    messages, _ = await run(action, tracker)
    assert messages[0]["text"] == retriever.entry("pickup-time-limit").answers["en"]
