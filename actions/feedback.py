"""Feedback at the end of a conversation: a rating from 1 to 5, kept in $STATE_DIR/feedback/feedback.jsonl
with the conversation it belongs to, so ratings can be read next to the hand-over transcripts."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import journal
from actions.common import entity_values, identity, language

JOURNAL = "feedback"
SCALE = range(1, 6)
_NUMBERS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
}
# a number with what it counts ("一星", "五颗星", "4 stars", "3 out of 5", "4/5", "打2分"); "满分" and
# "10/10" are the top of the scale
_RATED = re.compile(
    r"(?i)(?<![\d.])([1-5]|one|two|three|four|five|[一二两三四五])\s*(?:颗|个)?\s*"
    r"(?:星|分(?!钟)|stars?\b|/\s*5\b|out of (?:5|five)\b)"
)
_TOP = re.compile(r"(?i)满分|full marks|\b10\s*/\s*10\b")


def rating_in_words(text: str) -> int | None:
    """The rating a message gives in words when the NLU tagged none ("太难用了，一星", "给你五星好评")."""
    if _TOP.search(text):
        return max(SCALE)
    found = _RATED.search(text)
    if found is None:
        return None
    word = found.group(1).lower()
    return _NUMBERS[word] if word in _NUMBERS else int(word)


def rating_entity(tracker: Tracker) -> int | None:
    """The rating from the NLU's entity (a digit, or words such as "五星"), else from the wording."""
    for value in entity_values(tracker, "rating"):
        text = str(value).strip()
        try:
            rating = int(float(text))
        except ValueError:
            rating = rating_in_words(text) or _NUMBERS.get(text.lower())
        if rating in SCALE:
            return rating
    return rating_in_words(tracker.latest_message.get("text") or "")


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
