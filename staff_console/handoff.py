"""The handoff inbox of the staff console: conversations the bot handed to a person, claimed by one
associate, answered into the shopper's own channel, and handed back to the bot.

Where handoffs come from: the action server's hand-over journal ($STATE_DIR/handoff/handoff.jsonl,
written by actions/handoff.py when HANDOFF_URL is empty: one JSON record per hand-over with the sender
id, customer, channel, language, cart and transcript), read from where it was left on every poll.

How a person talks to the shopper: through the Rasa server's HTTP API (``RASA_API_TOKEN``; without it the
inbox lists handoffs but cannot act on them). A reply is a bot utterance appended to the conversation
with ``output_channel=latest`` and ``execute_side_effects``, so Rasa sends it on the channel the shopper
last wrote from (the widget's socket.io room, WeChat); handing back appends ``resume``, and the bot
answers the next message with the conversation's slots (cart, language, …) as they were.

Claims live in this process: one associate per conversation; a second claim is refused (409).
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx

logger = logging.getLogger(__name__)

SENDER_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,160}$")
MAX_REPLY_CHARS = 2000
MAX_AGE_S = 24 * 3600  # older unclaimed handoffs leave the inbox (the journal keeps them)
# What the shopper sees: who is writing (a person, not the bot), and that the assistant is back.
AGENT_PREFIX = {"en": "{name} (store staff): ", "zh": "{name}（门店员工）："}
BACK_TO_BOT = {
    "en": "You're talking to the shopping assistant again. Ask me anything.",
    "zh": "现在由导购助手继续为您服务，有问题随时问我。",
}


def parse_time(text: Any) -> float | None:
    try:
        return datetime.fromisoformat(str(text)).timestamp()
    except ValueError:
        return None


@dataclass
class Handoff:
    record: dict[str, Any]
    claimed_by: str | None = None
    closed: bool = False
    replies: int = 0

    @property
    def sender_id(self) -> str:
        return str(self.record.get("sender_id") or "")

    def summary(self, viewer: str, now: float) -> dict[str, Any]:
        requested = parse_time(self.record.get("requested_at"))
        return {
            "id": self.sender_id,
            "customer_id": self.record.get("customer_id"),
            "channel": self.record.get("channel"),
            "language": self.record.get("language"),
            "requested_at": self.record.get("requested_at"),
            "waiting_s": None if requested is None or self.claimed_by else max(0, round(now - requested)),
            "cart": self.record.get("cart") or [],
            "claimed_by": self.claimed_by,
            "mine": self.claimed_by == viewer,
        }


@dataclass
class Inbox:
    journal: Path
    rasa_url: str
    api_token: str
    _offset: int = 0
    _by_sender: dict[str, Handoff] = field(default_factory=dict)

    # --- the journal ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the records written since the last call (a new hand-over of a conversation that was
        handed back opens it again)."""
        try:
            with self.journal.open("rb") as f:
                f.seek(self._offset)
                data = f.read()
        except FileNotFoundError:
            return
        end = data.rfind(b"\n") + 1  # a line still being written is read next time
        self._offset += end
        for line in data[:end].splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict) or not SENDER_ID.match(str(record.get("sender_id") or "")):
                continue
            known = self._by_sender.get(record["sender_id"])
            if known is None or known.closed:
                self._by_sender[record["sender_id"]] = Handoff(record)
            else:
                known.record = record

    def open_handoffs(self, now: float) -> list[Handoff]:
        self.refresh()
        found = [
            h
            for h in self._by_sender.values()
            if not h.closed
            and (h.claimed_by or now - (parse_time(h.record.get("requested_at")) or 0) < MAX_AGE_S)
        ]
        return sorted(found, key=lambda h: str(h.record.get("requested_at") or ""))

    def get(self, sender_id: str) -> Handoff | None:
        self.refresh()
        handoff = self._by_sender.get(sender_id)
        return None if handoff is None or handoff.closed else handoff

    # --- claims -----------------------------------------------------------------------------------
    def claim(self, handoff: Handoff, username: str) -> bool:
        if handoff.claimed_by not in (None, username):
            return False
        handoff.claimed_by = username
        return True

    # --- the conversation, through Rasa's HTTP API ------------------------------------------------
    @property
    def can_act(self) -> bool:
        return bool(self.api_token)

    def _url(self, sender_id: str, tail: str) -> str:
        return f"{self.rasa_url}/conversations/{sender_id}/{tail}"

    async def transcript(self, http: httpx.AsyncClient, handoff: Handoff) -> list[dict[str, Any]]:
        """What the shopper, the bot and the staff said, oldest first: from the tracker when the API is
        reachable, else the transcript recorded at the hand-over."""
        if self.can_act:
            try:
                answer = await http.get(
                    self._url(handoff.sender_id, "tracker"), params={"token": self.api_token}
                )
                answer.raise_for_status()
                return [
                    {
                        "from": "shopper"
                        if e["event"] == "user"
                        else ("staff" if (e.get("metadata") or {}).get("staff_agent") else "bot"),
                        "text": e["text"],
                        "at": e.get("timestamp"),
                    }
                    for e in answer.json().get("events", [])
                    if e.get("event") in ("user", "bot") and e.get("text")
                ]
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                logger.error("tracker of %s unavailable: %s", handoff.sender_id, exc)
        return list(handoff.record.get("transcript") or [])

    async def _append(self, http: httpx.AsyncClient, handoff: Handoff, events: list[dict[str, Any]]) -> None:
        answer = await http.post(
            self._url(handoff.sender_id, "tracker/events"),
            params={"token": self.api_token, "output_channel": "latest", "execute_side_effects": "true"},
            json=events,
        )
        answer.raise_for_status()

    def _language(self, handoff: Handoff) -> str:
        return "zh" if handoff.record.get("language") == "zh" else "en"

    async def reply(self, http: httpx.AsyncClient, handoff: Handoff, username: str, text: str) -> None:
        prefix = AGENT_PREFIX[self._language(handoff)].format(name=username)
        event = {
            "event": "bot",
            "text": prefix + text[:MAX_REPLY_CHARS],
            "metadata": {"staff_agent": username},
        }
        await self._append(http, handoff, [event])
        handoff.replies += 1

    async def hand_back(self, http: httpx.AsyncClient, handoff: Handoff) -> None:
        back = {"event": "bot", "text": BACK_TO_BOT[self._language(handoff)]}
        await self._append(http, handoff, [{"event": "resume"}, back])
        handoff.closed = True
