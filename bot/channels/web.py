"""Socket.io channel for the web widget: Rasa's socket.io protocol, made safe for shoppers.

A drop-in replacement for Rasa's ``socketio`` channel (same name, events and settings) that
* emits ``custom`` payloads (product cards) as ``{"custom": ...}``: Rasa 3.6's own output spreads them
  into ``emit()``'s keyword arguments, which fails for any payload that is not ``{"data": ...}``;
* keeps only harmless client metadata (``language``), never staff claims, and defuses "/staff_…" intent
  shortcuts (see bot.channels.guard);
* attaches the customer the order service maps this browser session to (``customer_id``);
* awaits ``enter_room`` (a coroutine in python-socketio 5.x): Rasa 3.6 calls it without ``await``, so
  with ``session_persistence`` its replies go to a room nobody joined and never arrive;
* makes sanic 21.12's websockets work on Python 3.11 (see ``_sanic_websockets_on_python_311``);
* issues the session ids itself (128 random bits, signed: bot.channels.sessions) and accepts back only
  ids it signed, so a client can neither pick nor guess another shopper's session (and customer), nor
  write into another channel's conversation (``wechat-…``, ``staff-…``);
* turns away, with a short message in the shopper's language, a message that is too long or over the
  session's or the client address's rate (bot.channels.limits); it never reaches the bot.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import UserMessage
from rasa.core.channels.socketio import SocketBlueprint, SocketIOInput, SocketIOOutput
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from socketio import AsyncServer

from bot.channels.guard import defuse_staff_trigger, shopper_metadata
from bot.channels.limits import ChannelLimits, client_address
from bot.channels.orders import OrderServiceClient
from bot.channels.sessions import SessionIds

logger = logging.getLogger(__name__)


def _sanic_websockets_on_python_311() -> None:
    """Sanic 21.12 (Rasa 3.6's) hands a bare coroutine to ``asyncio.wait`` when it reads a websocket
    frame, which Python 3.11 refuses: every socket.io websocket then closes right after opening.
    Making the frame reader return a task (awaitable exactly as before) lets the websocket transport
    work; nothing else changes."""
    import asyncio

    from sanic.server.websockets.frame import WebsocketFrameAssembler

    original = WebsocketFrameAssembler.get
    if getattr(original, "wraps_in_task", False):
        return

    def get(self: Any, timeout: float | None = None) -> asyncio.Future:
        return asyncio.ensure_future(original(self, timeout))

    get.wraps_in_task = True  # type: ignore[attr-defined]
    WebsocketFrameAssembler.get = get  # type: ignore[assignment]


_sanic_websockets_on_python_311()


class WebChatOutput(SocketIOOutput):
    async def send_custom_json(self, recipient_id: str, json_message: dict[str, Any], **kwargs: Any) -> None:
        await self._send_message(recipient_id, {"custom": json_message})


class WebChatInput(SocketIOInput):
    """Credentials: the ``socketio`` ones (user_message_evt, bot_message_evt, session_persistence,
    socketio_path, namespace) plus cors_allowed_origins ("*" or a list for socket.io to check itself;
    empty, the default, leaves it to ``rasa run --cors``),
    order_service_url and service_token (to map sessions to customers; empty: no mapping), session_secret
    (signs the session ids; empty: a secret of this process, see bot.channels.sessions), and the limits
    (rate_limit, address_rate_limit, max_message_chars, limits_storage_url: bot.channels.limits)."""

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> WebChatInput:
        c = credentials or {}
        channel = cls(
            c.get("user_message_evt", "user_uttered"),
            c.get("bot_message_evt", "bot_uttered"),
            c.get("namespace"),
            bool(c.get("session_persistence", True)),
            c.get("socketio_path", "/socket.io"),
        )
        # [] leaves CORS to Rasa's --cors (sanic-cors): two layers would send the header twice
        cors = c.get("cors_allowed_origins") or []
        channel.cors_allowed_origins = cors
        url = str(c.get("order_service_url") or "")
        channel.orders = OrderServiceClient(url, str(c.get("service_token") or "")) if url else None
        channel.sessions = SessionIds(str(c.get("session_secret") or ""))
        channel.limits = ChannelLimits.from_credentials(cls.name(), c)
        return channel

    cors_allowed_origins: Any = []
    orders: OrderServiceClient | None = None
    sessions: SessionIds = SessionIds()
    limits: ChannelLimits = ChannelLimits("socketio")

    def get_output_channel(self) -> WebChatOutput | None:
        return WebChatOutput(self.sio, self.bot_message_evt) if self.sio else None

    async def metadata_for(self, session_id: str, client_metadata: Any) -> dict[str, Any]:
        customer_id = await self.orders.resolve_customer("web", session_id) if self.orders else None
        return shopper_metadata(client_metadata, customer_id=customer_id)

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        sio = AsyncServer(async_mode="sanic", cors_allowed_origins=self.cors_allowed_origins)
        bp = SocketBlueprint(sio, self.socketio_path, "web_socketio_webhook", __name__)
        self.sio = sio
        ns = self.namespace

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @sio.on("connect", namespace=ns)
        async def connect(sid: str, environ: dict, auth: dict | None = None) -> bool:
            address = client_address(environ.get("sanic.request")) or str(environ.get("REMOTE_ADDR") or "")
            await sio.save_session(sid, {"address": address}, namespace=ns)
            return True

        @sio.on("session_request", namespace=ns)
        async def session_request(sid: str, data: dict | None) -> None:
            requested = (data or {}).get("session_id") if isinstance(data, dict) else None
            session_id = requested if self.sessions.valid(requested) else self.sessions.issue()
            if self.session_persistence:
                await sio.enter_room(sid, session_id, namespace=ns)
            session = await sio.get_session(sid, namespace=ns)
            await sio.save_session(sid, {**session, "session_id": session_id}, namespace=ns)
            await sio.emit("session_confirm", session_id, room=sid, namespace=ns)

        @sio.on(self.user_message_evt, namespace=ns)
        async def handle_message(sid: str, data: Any) -> None:
            if not isinstance(data, dict):
                return
            session = await sio.get_session(sid, namespace=ns)
            if self.session_persistence:
                sender_id = session.get("session_id")
                if not sender_id:  # messages before session_request have nowhere to go
                    logger.warning("web message before session_request from %s ignored", sid)
                    return
            else:
                sender_id = sid
            text = str(data.get("message") or "")
            client_metadata = data.get(self.metadata_key)
            language = client_metadata.get("language") if isinstance(client_metadata, dict) else None
            refusal = self.limits.check(sender_id, session.get("address"), text, language)
            if refusal is not None:
                await sio.emit(self.bot_message_evt, {"text": refusal.text}, room=sid, namespace=ns)
                return
            metadata = await self.metadata_for(sender_id, client_metadata)
            await on_new_message(
                UserMessage(
                    defuse_staff_trigger(text),
                    WebChatOutput(sio, self.bot_message_evt),
                    sender_id,
                    input_channel=self.name(),
                    metadata=metadata,
                )
            )

        return bp
