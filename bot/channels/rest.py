"""Rasa's REST channel for shoppers: the same API (``/webhooks/rest/webhook``), minus the ways a client
could pose as staff or as another channel.

Rasa's own REST channel passes client metadata and ``input_channel`` through untouched, and lets a client
pick any sender id; this one keeps only harmless metadata, defuses "/staff_…" intent shortcuts and keeps
shoppers out of the staff and WeChat conversations (``staff-…``/``wechat-…`` sender ids).
"""

from __future__ import annotations

from typing import Any

from rasa.core.channels.rest import RestInput
from sanic.exceptions import InvalidUsage
from sanic.request import Request

from bot.channels.guard import defuse_staff_trigger, shopper_metadata
from bot.sender_ids import MAX_SENDER_ID, unstorable_reason

RESERVED_SENDER_PREFIXES = ("staff-", "wechat-")


def sender_problem(sender: str) -> str | None:
    """Why a shopper's sender id cannot key a conversation, or None: what the stores cannot hold (with
    room for the "rest-" prefix a reserved id gets), and control characters."""
    if any(ord(c) < 32 or ord(c) == 127 for c in sender):
        return "contains control characters"
    return unstorable_reason(sender, MAX_SENDER_ID - len("rest-"))


class ShopperRestInput(RestInput):
    @classmethod
    def name(cls) -> str:
        return "rest"

    async def _extract_sender(self, req: Request) -> str | None:
        sender = str((req.json or {}).get("sender") or "default")
        problem = sender_problem(sender)
        if problem:
            raise InvalidUsage(f"invalid sender: {problem}")
        return f"rest-{sender}" if sender.lower().startswith(RESERVED_SENDER_PREFIXES) else sender

    def _extract_message(self, req: Request) -> str | None:
        return defuse_staff_trigger(str((req.json or {}).get("message") or ""))

    def _extract_input_channel(self, req: Request) -> str:
        return self.name()

    def get_metadata(self, request: Request) -> dict[str, Any] | None:
        return shopper_metadata((request.json or {}).get("metadata"))
