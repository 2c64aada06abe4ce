"""A rating from 1 to 5 read from a message: the NLU's `rating` entity, or the wording ("一星",
"4 out of 5", "满分"). Shared by the feedback action (actions.feedback) and the event record
(actions.events), so that neither imports an action module."""

from __future__ import annotations

import re

from rasa_sdk import Tracker

from actions.common import entity_values

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
        rating: int | None
        try:
            rating = int(float(text))
        except ValueError:
            rating = rating_in_words(text) or _NUMBERS.get(text.lower())
        if rating in SCALE:
            return rating
    return rating_in_words(tracker.latest_message.get("text") or "")
