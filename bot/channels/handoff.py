"""The handoff desk's internal path into shoppers' conversations (docs/staff-console.md).

When the bot hands a conversation to a person, the staff console (a separate process) must write into
it: an associate joins, replies into the shopper's own channel (the widget's socket.io room, WeChat),
and hands back, after which the bot answers with the conversation's state as it was. Rasa's HTTP API
could do this, but it is off by default and must never face the public (docs/deployment.md, *Doors*).
This channel does only these few things, and only for a caller that presents the service credential
(``Authorization: Bearer $SERVICE_TOKEN``, the one the order service and the action server share); the
public balancer does not route it (deploy/nginx.conf.template answers 404 for ``/webhooks/handoff/``).

``GET  /webhooks/handoff/conversations/<sender_id>`` → ``{"paused", "agent", "transcript": [{from, text, at}]}``
``POST /webhooks/handoff/conversations/<sender_id>`` ``{"text", "agent"?, "joined"?, "resume"?}``: appends
``resume`` first when asked, then the text (a string, or ``{"en": …, "zh": …}`` of which the one in the
conversation's ``language`` slot is used) as a bot utterance (with ``metadata.staff_agent`` when an
associate writes it, ``metadata.handoff: "joined"`` for the line that says a person took over) and
sends it on the channel the shopper last wrote from; ``{"sent": bool}`` tells whether a live channel
took it (a widget that is closed reads it from the tracker when it opens again).

While an associate holds a paused conversation, the bot stays silent to the shopper
(bot/rasa_patches.py, ``claimed_by``), and each of the shopper's messages is added to
``$STATE_DIR/handoff/messages.jsonl`` (``note_shopper_message``), which the console watches to push it
to the associate's screen.
"""

from __future__ import annotations

import hmac
import json
import logging
import os
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from rasa.shared.core.events import BotUttered, ConversationPaused, ConversationResumed, UserUttered
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.sessions import _state_dir
from bot.sender_ids import unstorable_reason

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 4000
MESSAGES_FILE = "messages.jsonl"  # in $STATE_DIR/handoff, next to the action server's handoff.jsonl


def messages_path() -> Path:
    return _state_dir() / "handoff" / MESSAGES_FILE


def claimed_by(tracker: Any) -> str | None:
    """The associate who joined the conversation since it was last paused, or None (not paused, or
    nobody joined yet). Read from the tracker, so every Rasa process agrees."""
    agent = None
    for event in tracker.events:
        if isinstance(event, ConversationPaused | ConversationResumed):
            agent = None
        elif isinstance(event, BotUttered) and (event.metadata or {}).get("handoff") == "joined":
            agent = (event.metadata or {}).get("staff_agent")
    return agent if agent and tracker.is_paused() else None


def note_shopper_message(tracker: Any, agent: str) -> None:
    """Record the shopper's latest message of a claimed conversation for the console (one JSON line,
    appended in one write)."""
    message = tracker.latest_message
    line = {
        "sender_id": tracker.sender_id,
        "agent": agent,
        "text": message.text if message else "",
        "at": datetime.now(UTC).isoformat(),
    }
    path = messages_path()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(fd, (json.dumps(line, ensure_ascii=False) + "\n").encode())
        finally:
            os.close(fd)
    except OSError:
        logger.exception("could not record a shopper message for the handoff desk")


def transcript(tracker: Any) -> list[dict[str, Any]]:
    out = []
    for e in tracker.events:
        if isinstance(e, UserUttered | BotUttered) and e.text:
            agent = (e.metadata or {}).get("staff_agent") if isinstance(e, BotUttered) else None
            who = "shopper" if isinstance(e, UserUttered) else ("staff" if agent else "bot")
            when = datetime.fromtimestamp(e.timestamp, UTC).isoformat() if e.timestamp else None
            out.append({"from": who, "text": e.text, "at": when})
    return out


class HandoffInput(InputChannel):
    """Credentials: service_token (required: without it the path refuses everything)."""

    @classmethod
    def name(cls) -> str:
        return "handoff"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        return cls(str((credentials or {}).get("service_token") or ""))

    def __init__(self, service_token: str) -> None:
        self.service_token = service_token

    def authorised(self, request: Request) -> bool:
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        return bool(self.service_token) and hmac.compare_digest(token.encode(), self.service_token.encode())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("handoff_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/conversations/<sender_id>", methods=["GET", "POST"])
        async def conversation(request: Request, sender_id: str) -> HTTPResponse:
            if not self.authorised(request):
                return response.json({"error": "service token required"}, status=401)
            if unstorable_reason(sender_id) is not None:
                return response.json({"error": "bad sender id"}, status=400)
            agent = request.app.ctx.agent
            if request.method == "GET":
                tracker = await agent.tracker_store.retrieve(sender_id)
                if tracker is None:
                    return response.json({"error": "no such conversation"}, status=404)
                return response.json(
                    {
                        "paused": tracker.is_paused(),
                        "agent": claimed_by(tracker),
                        "transcript": transcript(tracker),
                    }
                )
            try:
                body = request.json if isinstance(request.json, dict) else {}
            except Exception:  # sanic raises on a body that is not JSON
                return response.json({"error": "JSON body required"}, status=400)
            text = body.get("text")
            texts = text if isinstance(text, dict) else {"en": text}
            if not all(isinstance(v, str) and v.strip() for v in texts.values()) or "en" not in texts:
                return response.json({"error": "text required"}, status=400)
            return response.json(await self.append(request, sender_id, body, texts))

        return bp

    async def append(
        self, request: Request, sender_id: str, body: dict[str, Any], texts: dict[str, Any]
    ) -> dict[str, Any]:
        """Appends (resume and) the utterance in the conversation's language (``texts`` by language,
        "en" the fallback) under the conversation's lock, saves, sends it."""
        agent = request.app.ctx.agent
        metadata: dict[str, Any] = {}
        if isinstance(body.get("agent"), str) and body["agent"]:
            metadata["staff_agent"] = body["agent"][:160]
            if body.get("joined"):
                metadata["handoff"] = "joined"
        async with agent.lock_store.lock(sender_id):
            processor = agent.processor
            tracker = await processor.fetch_tracker_with_initial_session(sender_id)
            if body.get("resume"):
                tracker.update(ConversationResumed(), agent.domain)
            text = texts.get(str(tracker.get_slot("language") or ""), texts["en"])[:MAX_TEXT_CHARS]
            utterance = BotUttered(text, metadata=metadata, timestamp=time.time())
            tracker.update(utterance, agent.domain)
            await agent.tracker_store.save(tracker)
        channel = tracker.get_latest_input_channel()
        sent = await self.deliver(request, channel, sender_id, utterance)
        return {"sent": sent, "channel": channel, "paused": tracker.is_paused()}

    async def deliver(
        self, request: Request, channel: str | None, sender_id: str, utterance: BotUttered
    ) -> bool:
        """Sends the utterance on the shopper's channel: socket.io's room of the session, or WeChat's
        customer-service API (WeChat's own channel has no output channel outside a request)."""
        inputs = getattr(request.app.ctx, "input_channels", None) or []
        for source in inputs:
            if source.name() != channel:
                continue
            if channel == "wechat" and sender_id.startswith("wechat-"):
                from bot.channels.wechat import Outgoing

                return bool(
                    await source.api.send(sender_id[len("wechat-") :], Outgoing("text", utterance.text))
                )
            output: OutputChannel | None = source.get_output_channel()
            if output is not None:
                await output.send_response(sender_id, utterance.message())
                return True
        return False
