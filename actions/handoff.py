"""Human hand-over: the transcript goes to the people who take over, and the bot pauses.

Where the transcript goes: a POST of JSON to settings.handoff_url when it is set (a help-desk webhook),
otherwise (or when that POST fails) a line in $STATE_DIR/handoff/handoff.jsonl. The bot then returns
Rasa's ConversationPaused event: Rasa stores the shopper's further messages without answering them.
The colleague resumes the bot by appending {"event": "resume"} to the conversation through the Rasa
HTTP API (POST /conversations/<sender_id>/tracker/events); the shopper can also start over with
"/restart"."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import httpx
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import journal
from actions.common import identity, language
from daogou.config import get_settings

log = logging.getLogger(__name__)
JOURNAL = "handoff"


def transcript(tracker: Tracker) -> list[dict[str, Any]]:
    """What the shopper and the bot said, oldest first."""
    lines = []
    for e in tracker.events:
        if e.get("event") in ("user", "bot") and e.get("text"):
            when = datetime.fromtimestamp(e["timestamp"], UTC).isoformat() if e.get("timestamp") else None
            lines.append(
                {"from": "shopper" if e["event"] == "user" else "bot", "text": e["text"], "at": when}
            )
    return lines


def handoff_record(tracker: Tracker) -> dict[str, Any]:
    who = identity(tracker)
    return {
        "sender_id": tracker.sender_id,
        "customer_id": who.get("customer_id"),
        "channel": tracker.get_latest_input_channel(),
        "language": language(tracker),
        "requested_at": datetime.now(UTC).isoformat(),
        "cart": tracker.get_slot("cart") or [],
        "order_id": tracker.get_slot("order_id"),
        "transcript": transcript(tracker),
    }


async def deliver(record: dict[str, Any]) -> str:
    """Hands the record over; returns where it went ("url" or the journal path)."""
    settings = get_settings()
    if settings.handoff_url:
        try:
            async with httpx.AsyncClient(timeout=settings.http_timeout_s) as http:
                response = await http.post(settings.handoff_url, json=record)
                response.raise_for_status()
            return "url"
        except httpx.HTTPError as exc:  # keep the transcript: a colleague can still pick it up from the file
            log.error(
                "hand-over POST to %s failed (%s); writing it to the journal", settings.handoff_url, exc
            )
    return str(await journal.append(JOURNAL, record))


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        try:
            await deliver(handoff_record(tracker))
        except OSError:
            log.exception("hand-over could not be recorded")
            dispatcher.utter_message(response="utter_handoff_failed")
            return []
        dispatcher.utter_message(response="utter_handoff")
        return [ConversationPaused()]
