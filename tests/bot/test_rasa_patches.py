"""The Rasa patches of bot/rasa_patches.py, in the Rasa environment (no processes started)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot import rasa_patches as server


@pytest.fixture()
def action() -> RemoteAction:
    server.install()
    return RemoteAction("action_anything", EndpointConfig("http://127.0.0.1:1/webhook"))


def test_install_replaces_the_schema_check(action: RemoteAction) -> None:
    assert RemoteAction._validate_action_result is server.validate_action_result


def test_a_valid_response_passes_with_one_cached_validator(action: RemoteAction) -> None:
    response = {
        "events": [{"event": "slot", "name": "cart", "value": [{"sku": "A1", "qty": 2}]}],
        "responses": [{"text": "Added.", "buttons": [{"title": "Checkout", "payload": "/checkout"}]}],
    }
    assert action._validate_action_result(response)
    assert action._validate_action_result({"events": [], "responses": []})
    assert server.response_validator.cache_info().currsize == 1


@pytest.mark.parametrize(
    "response",
    [
        {"events": [{"event": "slot", "name": "cart"}]},  # a slot event without its value
        {"events": [{"timestamp": 1.0}]},  # an event without a type
        {"events": "not a list"},
        {"responses": [["not", "an", "object"]]},
    ],
)
def test_an_invalid_response_gets_rasas_own_error(action: RemoteAction, response: dict) -> None:
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result(response)


def test_event_types_resolve_as_rasa_resolves_them() -> None:
    from rasa.shared.core.events import ActionExecuted, Event, SlotSet, UserUttered

    server.install()
    for name, cls in [
        ("user", UserUttered),
        ("slot", SlotSet),
        ("action", ActionExecuted),
        ("slot", SlotSet),
    ]:
        assert Event.resolve_by_type(name) is cls
    assert server._event_types["slot"] is SlotSet
    event = Event.from_parameters({"event": "slot", "name": "cart", "value": [1]})
    assert isinstance(event, SlotSet) and event.value == [1]
    # unknown names behave as in Rasa: the default when one is given (and nothing is remembered), else an error
    assert Event.resolve_by_type("no-such-event", default=SlotSet) is SlotSet
    assert "no-such-event" not in server._event_types
    with pytest.raises(ValueError, match="Unknown event name"):
        Event.resolve_by_type("no-such-event")


class _PausedProcessor:
    """What prediction_loop_answering_when_paused uses of a MessageProcessor: the domain, the
    paused check and running one action (recorded instead of sent)."""

    def __init__(self, domain, paused: bool):
        self.domain, self.paused, self.action_endpoint, self.nlg, self.ran = domain, paused, None, None, []

    def _should_handle_message(self, tracker) -> bool:
        return not self.paused

    async def _run_action(self, action, tracker, output_channel, nlg, prediction) -> bool:
        self.ran.append(action.name())
        return False


def _tracker_after(intent: str):
    from rasa.shared.core.events import ConversationPaused, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    tracker = DialogueStateTracker("shopper", [])
    tracker.update(ConversationPaused())
    tracker.update(UserUttered("...", {"name": intent, "confidence": 1.0}))
    return tracker


@pytest.mark.parametrize("intent", ["thanks", "goodbye", "faq", "request_human", "nlu_fallback"])
def test_a_paused_conversation_answers_each_message_once(intent: str) -> None:
    from rasa.shared.core.domain import Domain

    domain = Domain.load(
        [str(p) for p in sorted((Path(__file__).resolve().parents[2] / "bot" / "domain").glob("*.yml"))]
    )
    processor = _PausedProcessor(domain, paused=True)
    tracker = _tracker_after(intent)
    asyncio.run(server.prediction_loop_answering_when_paused(processor, None, tracker))
    expected = server.PAUSED_RESPONSES.get(intent, server.PAUSED_RESPONSE)
    assert processor.ran == [expected] and expected in domain.responses
    assert tracker.latest_action_name == "action_listen" and tracker.is_paused()


def _pinned_rasa() -> str:
    """The Rasa release requirements/rasa.txt installs."""
    for line in (Path(__file__).resolve().parents[2] / "requirements" / "rasa.txt").read_text().splitlines():
        name, _, version = line.split("#")[0].strip().partition("==")
        if name == "rasa":
            return version
    raise AssertionError("requirements/rasa.txt pins no rasa release")


def test_the_patches_are_written_for_the_installed_and_pinned_rasa() -> None:
    import rasa

    assert server.RASA_VERSION == _pinned_rasa() == rasa.__version__
    server.check_rasa_version()


def test_install_refuses_another_rasa_release(monkeypatch: pytest.MonkeyPatch) -> None:
    import rasa
    from rasa.core.agent import Agent

    major, minor, patch = rasa.__version__.split(".")[:3]
    for other in (f"{major}.{minor}.{int(patch) + 1}", f"{major}.{int(minor) + 1}.0"):
        monkeypatch.setattr(rasa, "__version__", other)
        monkeypatch.setattr(Agent, "handle_message", server._rasa_handle_message)
        with pytest.raises(server.UnsupportedRasaVersion, match=other):
            server.install()
        assert Agent.handle_message is server._rasa_handle_message  # nothing was patched
