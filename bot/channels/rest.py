"""Rasa's REST channel for shoppers: the same API (``/webhooks/rest/webhook``), minus the ways a client
could pose as staff or as another channel.

Rasa's own REST channel passes client metadata and ``input_channel`` through untouched, and lets a client
pick any sender id; this one keeps only harmless metadata, defuses "/staff_…" intent shortcuts and keeps
shoppers out of the staff and WeChat conversations (``staff-…``/``wechat-…`` sender ids) and out of
the widget's: a sender that is a session id the web channel signed gets the ``rest-`` prefix too, so
knowing a widget session id does not open its conversation (or its customer) over REST.

Integrations: with a ``token`` (REST_CHANNEL_TOKEN) every message must carry ``Authorization: Bearer
<token>`` (401 otherwise); without one the channel is open, for development (docs/channels.md).

Abuse limits (bot.channels.limits): a message longer than ``max_message_chars`` is answered 413, one over
the sender's or the client address's rate 429 with ``Retry-After``; either before it reaches the bot.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.rest import RestInput
from sanic import Blueprint, response
from sanic.exceptions import InvalidUsage, Unauthorized
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.guard import defuse_staff_trigger, shopper_metadata
from bot.channels.limits import ChannelLimits, client_address
from bot.channels.sessions import SessionIds
from bot.sender_ids import MAX_SENDER_ID, unstorable_reason

RESERVED_SENDER_PREFIXES = ("staff-", "wechat-")


def sender_problem(sender: str) -> str | None:
    """Why a shopper's sender id cannot key a conversation, or None: what the stores cannot hold (with
    room for the "rest-" prefix a reserved id gets), and control characters."""
    if any(ord(c) < 32 or ord(c) == 127 for c in sender):
        return "contains control characters"
    return unstorable_reason(sender, MAX_SENDER_ID - len("rest-"))


class ShopperRestInput(RestInput):
    """Credentials: token (empty: open, for development), session_secret (the web channel's) and the
    limits (rate_limit, address_rate_limit, max_message_chars, limits_storage_url: bot.channels.limits)."""

    token: str = ""
    sessions: SessionIds = SessionIds()
    limits: ChannelLimits = ChannelLimits("rest")

    @classmethod
    def name(cls) -> str:
        return "rest"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> ShopperRestInput:
        c = credentials or {}
        channel = cls()
        channel.token = str(c.get("token") or "")
        channel.sessions = SessionIds(str(c.get("session_secret") or ""))
        channel.limits = ChannelLimits.from_credentials(cls.name(), c)
        return channel

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = super().blueprint(on_new_message)

        @bp.middleware("request")
        async def at_the_door(request: Request) -> HTTPResponse | None:
            """The credential, the sender, then the size and the rates, before Rasa's handler runs."""
            if request.method != "POST" or not request.path.endswith("/webhook"):
                return None
            sender = await self._extract_sender(request)
            body = request.json if isinstance(request.json, dict) else {}
            metadata = body.get("metadata")
            language = metadata.get("language") if isinstance(metadata, dict) else None
            text = body.get("message")
            refusal = self.limits.check(sender, client_address(request), str(text or ""), language)
            if refusal is None:
                return None
            return response.json(refusal.body(), status=refusal.status, headers=refusal.headers())

        return bp

    def _check_credential(self, req: Request) -> None:
        if not self.token:
            return
        supplied = req.headers.get("authorization", "").encode()
        if not hmac.compare_digest(supplied, f"Bearer {self.token}".encode()):
            raise Unauthorized("this REST channel needs its token (Authorization: Bearer …)")

    async def _extract_sender(self, req: Request) -> str | None:
        self._check_credential(req)  # Rasa's REST handler reads the sender first of all
        sender = str((req.json or {}).get("sender") or "default")
        problem = sender_problem(sender)
        if problem:
            raise InvalidUsage(f"invalid sender: {problem}")
        reserved = sender.lower().startswith(RESERVED_SENDER_PREFIXES) or self.sessions.valid(sender)
        return f"rest-{sender}" if reserved else sender

    def _extract_message(self, req: Request) -> str | None:
        return defuse_staff_trigger(str((req.json or {}).get("message") or ""))

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        return shopper_metadata((request.json or {}).get("metadata"))
