"""The handoff inbox of the staff console: conversations the bot handed to a person, claimed by one
associate, answered into the shopper's own channel, and handed back to the bot.

Where handoffs come from: the action server's hand-over journal ($STATE_DIR/handoff/handoff.jsonl,
written by actions/handoff.py when HANDOFF_URL is empty: one JSON record per hand-over with the sender
id, customer, channel, language, cart and transcript), read from where it was left on every poll.

How a person talks to the shopper: through the Rasa server's internal handoff path
(bot/channels/handoff.py, ``/webhooks/handoff/conversations/<sender_id>``, with the service credential
``SERVICE_TOKEN``; Rasa's HTTP API stays off). Claiming appends a line that tells the shopper a person
(name and role) has joined, after which the bot stays silent to the shopper; a reply is a bot utterance
marked with the associate's name, sent on the channel the shopper last wrote from (the widget's socket.io
room, WeChat); handing back appends ``resume`` and a line saying the assistant is back, and the bot
answers the next message with the conversation's slots (cart, language, …) as they were. Texts go in
both languages; the Rasa side picks the conversation's.

The shopper's messages to a claimed conversation are recorded by the Rasa server in
``$STATE_DIR/handoff/messages.jsonl``; ``Inbox.changes`` waits for either journal to grow (inotify, via
watchfiles) and tells the console's event stream what changed.

Claims live in this process: one associate per conversation; a second claim is refused (409).
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import watchfiles

logger = logging.getLogger(__name__)

SENDER_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,160}$")
MAX_REPLY_CHARS = 2000
MAX_AGE_S = 24 * 3600  # older unclaimed handoffs leave the inbox (the journal keeps them)
# What the shopper sees: who is writing (a person, not the bot), and that the assistant is back.
ROLE = {"en": {"associate": "store associate", "manager": "store manager", "admin": "store staff"},
        "zh": {"associate": "门店店员", "manager": "门店经理", "admin": "门店员工"}}  # fmt: skip
AGENT_PREFIX = {"en": "{name} ({role}): ", "zh": "{name}（{role}）："}
JOINED = {
    "en": "{name} ({role}) has joined the chat and will answer you here.",
    "zh": "{name}（{role}）已加入对话，将在这里为您解答。",
}
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


def both(template: dict[str, str], **values: str | dict[str, str]) -> dict[str, str]:
    """The text in both languages (the Rasa side sends the conversation's)."""
    return {lang: text.format(**{k: v[lang] if isinstance(v, dict) else v for k, v in values.items()})
            for lang, text in template.items()}  # fmt: skip


def roles(role: str) -> dict[str, str]:
    return {lang: names.get(role, names["admin"]) for lang, names in ROLE.items()}


@dataclass
class Inbox:
    journal: Path  # the action server's hand-overs
    messages: Path  # shoppers' messages to claimed conversations (bot/channels/handoff.py)
    rasa_url: str  # the Rasa server, for its internal handoff path
    service_token: str
    _offset: int = 0
    _by_sender: dict[str, Handoff] = field(default_factory=dict)

    # --- the journal ------------------------------------------------------------------------------
    def refresh(self) -> None:
        """Read the records written since the last call (a new hand-over of a conversation that was
        handed back opens it again)."""
        lines, self._offset = read_new_lines(self.journal, self._offset)
        for record in lines:
            if not SENDER_ID.match(str(record.get("sender_id") or "")):
                continue
            known = self._by_sender.get(record["sender_id"])
            if known is None or known.closed:
                self._by_sender[record["sender_id"]] = Handoff(record)
            else:
                known.record = record

    async def changes(self, stop: asyncio.Event | None = None) -> AsyncIterator[dict[str, Any]]:
        """What happens from now on, as it happens: {"kind": "inbox"} when a hand-over arrives,
        {"kind": "message", "id", "text", "at"} when a shopper writes to a claimed conversation. Waits on
        the directory with inotify (watchfiles), so nothing is polled; each caller (an open page) reads
        the journals from where it started."""
        self.journal.parent.mkdir(parents=True, exist_ok=True)
        journal, messages = size_of(self.journal), size_of(self.messages)
        async for _ in watchfiles.awatch(self.journal.parent, stop_event=stop, debounce=50, step=20):
            arrived, journal = read_new_lines(self.journal, journal)
            if arrived:
                self.refresh()
                yield {"kind": "inbox"}
            lines, messages = read_new_lines(self.messages, messages)
            for line in lines:
                if SENDER_ID.match(str(line.get("sender_id") or "")):
                    yield {
                        "kind": "message",
                        "id": line["sender_id"],
                        "text": line.get("text"),
                        "at": line.get("at"),
                    }

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

    # --- the conversation, through the Rasa server's internal handoff path -----------------------
    def _url(self, sender_id: str) -> str:
        return f"{self.rasa_url}/webhooks/handoff/conversations/{sender_id}"

    @property
    def _auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.service_token}"}

    async def transcript(self, http: httpx.AsyncClient, handoff: Handoff) -> list[dict[str, Any]]:
        """What the shopper, the bot and the staff said, oldest first: from the tracker when the Rasa
        server answers, else the transcript recorded at the hand-over."""
        try:
            answer = await http.get(self._url(handoff.sender_id), headers=self._auth)
            answer.raise_for_status()
            return list(answer.json()["transcript"])
        except (httpx.HTTPError, ValueError, KeyError) as exc:
            logger.error("tracker of %s unavailable: %s", handoff.sender_id, exc)
        return list(handoff.record.get("transcript") or [])

    async def say(self, http: httpx.AsyncClient, sender_id: str, body: dict[str, Any]) -> dict[str, Any]:
        answer = await http.post(self._url(sender_id), headers=self._auth, json=body)
        answer.raise_for_status()
        return dict(answer.json())

    # --- claims and the associate's messages ----------------------------------------------------
    async def claim(self, http: httpx.AsyncClient, handoff: Handoff, username: str, role: str) -> bool:
        """Claims the conversation for `username` (False when someone else holds it) and tells the
        shopper who has joined."""
        if handoff.claimed_by not in (None, username):
            return False
        if handoff.claimed_by is None:
            handoff.claimed_by = username
            try:
                joined = both(JOINED, name=username, role=roles(role))
                await self.say(http, handoff.sender_id, {"text": joined, "agent": username, "joined": True})
            except httpx.HTTPError:
                handoff.claimed_by = None
                raise
        return True

    async def reply(
        self, http: httpx.AsyncClient, handoff: Handoff, username: str, role: str, text: str
    ) -> None:
        prefix = both(AGENT_PREFIX, name=username, role=roles(role))
        texts = {lang: p + text[:MAX_REPLY_CHARS] for lang, p in prefix.items()}
        await self.say(http, handoff.sender_id, {"text": texts, "agent": username})
        handoff.replies += 1

    async def hand_back(self, http: httpx.AsyncClient, handoff: Handoff) -> None:
        await self.say(http, handoff.sender_id, {"text": BACK_TO_BOT, "resume": True})
        handoff.closed = True


def size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def read_new_lines(path: Path, offset: int) -> tuple[list[dict[str, Any]], int]:
    """The JSON objects of the complete lines after `offset` (a line still being written is read next
    time), and the new offset."""
    try:
        with path.open("rb") as f:
            f.seek(offset)
            data = f.read()
    except FileNotFoundError:
        return [], offset
    end = data.rfind(b"\n") + 1
    out = []
    for line in data[:end].splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict):
            out.append(record)
    return out, offset + end
