"""Every change Daogou makes to Rasa's internals, in one place, installed by `install()` before the
server starts (bot/server.py). The patches reach into private methods of one Rasa release, so
`install()` refuses to run on any other release (`RASA_VERSION`, the pin of requirements/rasa.txt):
after an upgrade, check each patch below against the new Rasa source, then move the pin and
`RASA_VERSION` together.

Left alone, Rasa 3.6 waits up to five minutes for a custom action, and when the action server is down
or fails it logs the exception and carries on without a word to the shopper
(`rasa.core.processor.MessageProcessor._run_action`). Here every remote action gets a time budget
(`timeout_s` of the action endpoint in bot/endpoints.yml, setting ACTION_TIMEOUT_S) and any failure
becomes the domain response `utter_service_unavailable`: an apology in the shopper's language with
the offer of a human colleague. The dialogue then continues as usual (the next prediction is
usually action_listen), so the bot keeps answering and comes back by itself with the action server.

It also keeps hostile conversation ids away from the tracker store. Rasa's SQLTrackerStore treats any
ValueError raised while it talks to the database as a missing PostgreSQL schema and calls sys.exit: a
single REST request whose sender id holds a lone surrogate (a JSON \\ud800 escape) or a NUL character
stopped the whole server. Such ids, and ids longer than the store's 255-character column, are
replaced by a stable digest before the message is handled (the same client keeps its conversation).

Rasa checks every action server response against its JSON schema with `jsonschema.validate`, which
first re-checks the (large) schema itself against the meta-schema and builds a new validator: about
15 ms per custom-action turn on a quiet machine and over 100 ms under load, more than the action
itself. Here the schema is checked once and one validator is kept; a response that fails goes
through Rasa's own check, so the error and its message stay Rasa's.

Each stored event is rebuilt through `Event.resolve_by_type`, which walks every subclass of `Event`
(with an `inspect.isabstract` check each) to find one name: a tenth of a response-only turn. The
classes are all imported before the server starts, so the name → class answers are kept.

After a hand-over (ConversationPaused) Rasa stores the shopper's messages and answers none of them:
a shopper who writes "how long will it take?" or "thanks" meets silence and thinks the chat broke.
While paused, each message gets one reply instead (PAUSED_RESPONSES by intent, else
`utter_handoff_waiting`: a colleague will answer here), then the bot listens again; nothing is
predicted, so the conversation stays with the colleague until they resume it. Once a colleague has
joined (bot/channels/handoff.py, `claimed_by`), the bot says nothing at all: the message is the
colleague's, recorded for the staff console, which pushes it to their screen.

Rasa offers no hook around these, so `install()` wraps `RemoteAction.run`,
`RemoteAction._validate_action_result`, `Agent.handle_message`, `Event.resolve_by_type`,
`MessageProcessor._run_prediction_loop` once, before the server starts; nothing else of Rasa is
changed. The tracker store's pooled, tuned SQLite engine is a tracker store class of its own
(bot/tracker_store.py, named in bot/endpoints.yml), not a patch.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
from typing import Any

import rasa
import rasa.core.actions.action
from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.core.agent import Agent
from rasa.core.channels.channel import UserMessage
from rasa.core.policies.policy import PolicyPrediction
from rasa.core.processor import MessageProcessor
from rasa.shared.core.constants import ACTION_LISTEN_NAME
from rasa.shared.core.events import ActionExecuted, Event

from bot.channels.handoff import claimed_by, note_shopper_message
from bot.sender_ids import unstorable_reason

logger = logging.getLogger(__name__)

FALLBACK_RESPONSE = "utter_service_unavailable"
DEFAULT_TIMEOUT_S = 12.0
PAUSED_RESPONSE = "utter_handoff_waiting"
PAUSED_RESPONSES = {"thanks": "utter_you_are_welcome", "goodbye": "utter_goodbye"}

_rasa_remote_run = RemoteAction.run
_rasa_handle_message = Agent.handle_message
_rasa_validate_action_result = RemoteAction._validate_action_result
_rasa_resolve_event_type = Event.resolve_by_type
_rasa_prediction_loop = MessageProcessor._run_prediction_loop
_event_types: dict[str, type] = {}

# The Rasa release these patches were written for and tested against (requirements/rasa.txt pins it).
RASA_VERSION = "3.6.21"


class UnsupportedRasaVersion(RuntimeError):
    """The installed Rasa is not the release the patches were written for."""


def check_rasa_version(installed: str | None = None) -> None:
    """Refuse to patch a Rasa release other than RASA_VERSION (private methods change between releases)."""
    installed = installed or rasa.__version__
    if installed != RASA_VERSION:
        raise UnsupportedRasaVersion(
            f"bot/rasa_patches.py was written for Rasa {RASA_VERSION}, but Rasa {installed} is installed: "
            "check every patch against the new release, then update RASA_VERSION and requirements/rasa.txt"
        )


def storable_sender_id(sender_id: str) -> str:
    """The id itself when every tracker store can key on it, else `unsafe-<digest>` (stable per id)."""
    if unstorable_reason(sender_id) is None:
        return sender_id
    digest = hashlib.sha256(sender_id.encode("utf-8", "surrogatepass")).hexdigest()
    return f"unsafe-{digest[:40]}"


async def handle_message_safely(self: Agent, message: UserMessage) -> Any:
    """`Agent.handle_message` with a sender id the tracker and lock stores can hold."""
    message.sender_id = storable_sender_id(message.sender_id)
    return await _rasa_handle_message(self, message)


def action_timeout_s(action: RemoteAction) -> float:
    """The action endpoint's `timeout_s`, or the default when the endpoint does not name one."""
    raw = action.action_endpoint.kwargs.get("timeout_s") if action.action_endpoint else None
    if raw in (None, ""):
        return DEFAULT_TIMEOUT_S
    try:
        timeout = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"action_endpoint.timeout_s must be a number of seconds, got {raw!r}") from None
    if timeout <= 0:
        raise ValueError(f"action_endpoint.timeout_s must be positive, got {timeout}")
    return timeout


async def run_with_fallback(
    self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any, domain: Any
) -> list[Event]:
    """`RemoteAction.run` within the time budget; on failure the apology instead of silence."""
    timeout = action_timeout_s(self)
    try:
        return await asyncio.wait_for(_rasa_remote_run(self, output_channel, nlg, tracker, domain), timeout)
    except ActionExecutionRejection:
        raise  # the action declined to run: Rasa lets the policies choose another one
    except Exception as exc:  # noqa: BLE001 - any failure of the remote call gets the same answer
        reason = f"no answer within {timeout:g} s" if isinstance(exc, asyncio.TimeoutError) else repr(exc)
        logger.error(
            "custom action %s failed for conversation %s (%s); answering with %s",
            self.name(),
            tracker.sender_id,
            reason,
            FALLBACK_RESPONSE,
        )
        return list(
            await self._utter_responses([{"response": FALLBACK_RESPONSE}], output_channel, nlg, tracker)
        )


def paused_response(tracker: Any) -> str:
    """The reply to a message while a colleague has the conversation."""
    intent = (tracker.latest_message.intent or {}).get("name") if tracker.latest_message else None
    return PAUSED_RESPONSES.get(intent, PAUSED_RESPONSE)


async def prediction_loop_answering_when_paused(
    self: MessageProcessor, output_channel: Any, tracker: Any
) -> None:
    """Rasa's prediction loop; while the conversation is paused, one reply instead of silence."""
    if self._should_handle_message(tracker):
        return await _rasa_prediction_loop(self, output_channel, tracker)
    agent = claimed_by(tracker)
    if agent:  # a colleague is answering: the message is theirs (pushed to the console), the bot is silent
        note_shopper_message(tracker, agent)
        return None
    name = paused_response(tracker)
    if name not in self.domain.responses:
        return None
    action = rasa.core.actions.action.action_for_name_or_text(name, self.domain, self.action_endpoint)
    await self._run_action(action, tracker, output_channel, self.nlg, PolicyPrediction([], "paused"))
    tracker.update(ActionExecuted(ACTION_LISTEN_NAME))
    return None


@functools.lru_cache(maxsize=1)
def response_validator() -> Any:
    """One validator for Rasa's action response schema; the schema itself is checked once, here."""
    from jsonschema import validators

    schema = RemoteAction.action_response_format_spec()
    validator_class = validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_action_result(self: RemoteAction, result: dict) -> bool:
    """`RemoteAction._validate_action_result` with the cached validator; failures get Rasa's error."""
    if response_validator().is_valid(result):
        return True
    return _rasa_validate_action_result(self, result)


def resolve_event_type(type_name: str, default: Any = None) -> Any:
    """`Event.resolve_by_type`, remembering each name Rasa resolved to a class of its own."""
    known = _event_types.get(type_name)
    if known is not None:
        return known
    resolved = _rasa_resolve_event_type(type_name, default)
    if resolved is not None and resolved is not default:
        _event_types[type_name] = resolved
    return resolved


def install() -> None:
    """Wrap Rasa's remote action call and check, message handling, event decoding and the paused
    conversation's prediction loop (idempotent). Raises UnsupportedRasaVersion on another Rasa release."""
    check_rasa_version()
    RemoteAction.run = run_with_fallback  # type: ignore[method-assign]
    RemoteAction._validate_action_result = validate_action_result  # type: ignore[method-assign]
    Agent.handle_message = handle_message_safely  # type: ignore[method-assign]
    Event.resolve_by_type = staticmethod(resolve_event_type)  # type: ignore[method-assign]
    MessageProcessor._run_prediction_loop = prediction_loop_answering_when_paused  # type: ignore[method-assign]
