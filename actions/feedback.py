"""Feedback at the end of a conversation: a rating from 1 to 5, kept in $STATE_DIR/feedback/feedback.jsonl
with the conversation it belongs to, so ratings can be read next to the hand-over transcripts."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import journal
from actions.common import identity, language
from actions.ratings import rating_entity

JOURNAL = "feedback"


class ActionSaveFeedback(Action):
    def name(self) -> str:
        return "action_save_feedback"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        rating = rating_entity(tracker)
        if rating is None:
            dispatcher.utter_message(response="utter_ask_feedback")
            return []
        await journal.append(
            JOURNAL,
            {
                "sender_id": tracker.sender_id,
                "customer_id": identity(tracker).get("customer_id"),
                "rating": rating,
                "comment": tracker.latest_message.get("text"),
                "language": language(tracker),
                "order_id": tracker.get_slot("order_id"),
                "at": datetime.now(UTC).isoformat(),
            },
        )
        dispatcher.utter_message(response="utter_feedback_thanks" if rating >= 4 else "utter_feedback_sorry")
        return []
