"""Which conversation (sender) ids Rasa's tracker and lock stores can key on.

One rule for the Rasa server (bot/server.py digests any other id) and for the shopper REST channel
(bot/channels/rest.py refuses it with a 400). A lone surrogate or a NUL makes the SQL tracker store
raise, and Rasa takes that for a missing schema and exits.
"""

from __future__ import annotations

MAX_SENDER_ID = 255  # the sender_id column of Rasa's SQL tracker store


def unstorable_reason(sender_id: str, max_chars: int = MAX_SENDER_ID) -> str | None:
    """Why the stores cannot key on `sender_id` (at most `max_chars` long), or None when they can."""
    if len(sender_id) > max_chars:
        return f"longer than {max_chars} characters"
    if "\x00" in sender_id:
        return "contains a NUL character"
    try:
        sender_id.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid Unicode"
    return None
