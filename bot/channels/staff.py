"""Staff channel: the only way a message gets staff claims (role, store) and so reaches staff intents.

``POST /webhooks/staff/webhook`` with ``Authorization: Bearer <token>`` (issued by the order service's
``POST /auth/staff/token``) and ``{"message": "...", "metadata": {"language": "zh"}}``. The token is
checked with the order service (``GET /auth/staff/me``) before anything reaches the bot; the answer is
the list of bot messages, as Rasa's REST channel returns it. The claims are signed
(``bot.channels.guard.sign_staff_claims``) so the NLU guard can tell them from claims a client wrote
itself. The claims carry the token too: the staff actions call the order service with it, so the order
service authorises every staff request itself (actions.common.identity).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from bot.channels.guard import STAFF_KEY, shopper_metadata, sign_staff_claims
from bot.channels.limits import ChannelLimits, client_address
from bot.channels.orders import OrderServiceClient, OrderServiceError

logger = logging.getLogger(__name__)


class StaffInput(InputChannel):
    """Credentials: order_service_url (required), token_cache_s (how long an accepted token is trusted
    before it is checked again; default 30), and the limits (rate_limit, address_rate_limit,
    max_message_chars, limits_storage_url: bot.channels.limits; 413/429 before the bot)."""

    @classmethod
    def name(cls) -> str:
        return "staff"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        c = credentials or {}
        url = str(c.get("order_service_url") or "")
        if not url:
            cls.raise_missing_credentials_exception()
        limits = ChannelLimits.from_credentials(cls.name(), c)
        return cls(OrderServiceClient(url, staff_ttl_s=float(c.get("token_cache_s", 30))), limits)

    def __init__(self, orders: OrderServiceClient, limits: ChannelLimits | None = None) -> None:
        self.orders = orders
        self.limits = limits or ChannelLimits(self.name())

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("staff_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            auth = request.headers.get("Authorization", "")
            token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
            if not token:
                return response.json({"error": "staff token required"}, status=401)
            try:
                member = await self.orders.staff_member(token)
            except OrderServiceError as exc:
                logger.error("staff token check failed: %s", exc)
                return response.json({"error": "cannot check the staff token now"}, status=503)
            if member is None:
                return response.json({"error": "invalid staff token"}, status=401)
            try:
                body = request.json if isinstance(request.json, dict) else {}
            except Exception:  # sanic raises on a body that is not JSON
                return response.json({"error": "JSON body required"}, status=400)
            text = body.get("message")
            if not isinstance(text, str) or not text.strip():
                return response.json({"error": "message required"}, status=400)
            metadata = shopper_metadata(body.get("metadata"))
            sender = f"staff-{member['staff_id']}"
            refusal = self.limits.check(sender, client_address(request), text, metadata.get("language"))
            if refusal is not None:
                return response.json(refusal.body(), status=refusal.status, headers=refusal.headers())
            metadata[STAFF_KEY] = sign_staff_claims({**member, "token": token})
            collector = CollectingOutputChannel()
            await on_new_message(
                UserMessage(
                    text,
                    collector,
                    sender,
                    input_channel=self.name(),
                    metadata=metadata,
                )
            )
            return response.json(collector.messages)

        return bp
