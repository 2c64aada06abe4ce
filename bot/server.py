"""The Rasa server as Daogou runs it: `python -m bot.server run …` takes the arguments of `rasa run`.

Left alone, Rasa 3.6 waits up to five minutes for a custom action, and when the action server is down
or fails it logs the exception and carries on without a word to the shopper
(`rasa.core.processor.MessageProcessor._run_action`). Here every remote action gets a time budget
(`timeout_s` of the action endpoint in bot/endpoints.yml, setting ACTION_TIMEOUT_S) and any failure
becomes the domain response `utter_service_unavailable`: an apology in the shopper's language with
the offer of a human colleague. The dialogue then continues as usual (the next prediction is
usually action_listen), so the bot keeps answering and comes back by itself with the action server.

Rasa offers no hook around a remote action call, so `install()` wraps `RemoteAction.run` once, before
the server starts; nothing else of Rasa is changed.
"""
from __future__ import annotations

import asyncio
import logging
import sys
from typing import Any, List

from rasa.core.actions.action import ActionExecutionRejection, RemoteAction
from rasa.shared.core.events import Event

logger = logging.getLogger(__name__)

FALLBACK_RESPONSE = "utter_service_unavailable"
DEFAULT_TIMEOUT_S = 12.0

_rasa_remote_run = RemoteAction.run


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


async def run_with_fallback(self: RemoteAction, output_channel: Any, nlg: Any, tracker: Any,
                            domain: Any) -> List[Event]:
    """`RemoteAction.run` within the time budget; on failure the apology instead of silence."""
    timeout = action_timeout_s(self)
    try:
        return await asyncio.wait_for(_rasa_remote_run(self, output_channel, nlg, tracker, domain), timeout)
    except ActionExecutionRejection:
        raise  # the action declined to run: Rasa lets the policies choose another one
    except Exception as exc:  # noqa: BLE001 - any failure of the remote call gets the same answer
        reason = f"no answer within {timeout:g} s" if isinstance(exc, asyncio.TimeoutError) else repr(exc)
        logger.error("custom action %s failed for conversation %s (%s); answering with %s",
                     self.name(), tracker.sender_id, reason, FALLBACK_RESPONSE)
        return list(await self._utter_responses([{"response": FALLBACK_RESPONSE}], output_channel, nlg, tracker))


def install() -> None:
    """Wrap `RemoteAction.run` (idempotent)."""
    RemoteAction.run = run_with_fallback  # type: ignore[method-assign]


def main() -> None:
    install()
    from rasa.__main__ import main as rasa_main

    sys.argv[0] = "rasa"
    rasa_main()


if __name__ == "__main__":
    main()
