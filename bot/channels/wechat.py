"""WeChat Official Account (公众号) channel: a custom Rasa input channel built on wechatpy.

WeChat calls ``/webhooks/wechat/webhook``: GET to verify the URL, POST for every message or event, in
plaintext or safe (AES) mode. Every request must carry a valid signature and a fresh timestamp; XML with a
DTD or entities is refused before any parser sees it. WeChat waits 5 seconds for the reply and then
retries the same MsgId (up to three times), so:

* the answer is awaited for ``reply_window_s`` (4 s by default) and, when ready, returned as the passive
  reply in the HTTP response;
* when not ready, the request is answered at once and the answer is delivered later through the
  customer-service message API (客服消息), so a slow action loses nothing;
* a retry (same MsgId) never reaches the bot twice. WeChat only retries when it did not get a reply, so a
  retry means the passive reply may be lost: the answer then goes out through the customer-service API
  (exactly once), which also means a replayed request never shows the answer to whoever replayed it.

The openid is mapped to a customer by the order service; product cards become a news (图文) message
when there is one, text with links when there are several.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import ArticlesReply, TextReply

from bot.channels.cards import cards_in, text_of
from bot.channels.guard import defuse_staff_trigger
from bot.channels.limits import ChannelLimits
from bot.channels.orders import OrderServiceClient

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_REMEMBERED_USERS = 10_000
_DTD = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)
# WeChat answers these when the access token is invalid or expired: fetch a new one and retry once.
_TOKEN_ERRORS = {40001, 40014, 42001}


class RejectedRequest(Exception):
    """A request that did not come from WeChat or cannot be read; answered with ``status``."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status


def wechat_signature(*parts: str) -> str:
    """WeChat's signature: SHA-1 of the sorted parts, concatenated."""
    return hashlib.sha1("".join(sorted(parts)).encode()).hexdigest()


def safe_xml(body: bytes) -> bytes:
    """Refuses what WeChat never sends and an attacker would: oversized bodies, DTDs, entity declarations."""
    if len(body) > MAX_BODY_BYTES:
        raise RejectedRequest(413, "body too large")
    if _DTD.search(body):
        raise RejectedRequest(400, "XML with a DTD or entities")
    return body


def cdata_safe(value: Any) -> str:
    """Text that stays inside its CDATA section: "]]>" is split across two sections."""
    return str(value or "").replace("]]>", "]]]]><![CDATA[>")


# --- outgoing messages ------------------------------------------------------------------------------
@dataclass
class Outgoing:
    """One message for the user: text, or a news message with one article (WeChat's current limit)."""

    kind: str  # "text" | "news"
    text: str = ""
    article: dict[str, str] = field(default_factory=dict)

    def as_text(self) -> str:
        if self.kind == "text":
            return self.text
        a = self.article
        return "\n".join(p for p in (a.get("title"), a.get("description"), a.get("url")) if p)


def render(bot_messages: list[dict[str, Any]], url_template: str = "") -> list[Outgoing]:
    """Bot messages (as collected from Rasa) → WeChat messages. Buttons become a numbered list the user
    answers with the number (see ``WeChatInput._choices``)."""
    out: list[Outgoing] = []
    for message in bot_messages:
        parts = []
        if message.get("text"):
            parts.append(str(message["text"]))
        buttons = message.get("buttons") or message.get("quick_replies") or []
        if buttons:
            parts.append("\n".join(f"{i}. {b.get('title', '')}" for i, b in enumerate(buttons, 1)))
        if message.get("image"):
            parts.append(str(message["image"]))
        attachment = message.get("attachment")
        if isinstance(attachment, dict):
            payload = attachment.get("payload") or {}
            link = payload.get("src") or payload.get("url") if isinstance(payload, dict) else None
            if link:
                parts.append(str(link))
        custom = message.get("custom")
        cards = cards_in(custom) if custom is not None else []
        if custom is not None and text_of(custom):
            parts.append(text_of(custom))
        if parts:
            out.append(Outgoing("text", "\n\n".join(parts)))
        if len(cards) == 1 and cards[0].link(url_template):
            card = cards[0]
            title = f"{card.name} {card.price_text}".strip()
            out.append(
                Outgoing(
                    "news",
                    article={
                        "title": title,
                        "description": "；".join(card.specs[:4]),
                        "image": card.image,
                        "url": card.link(url_template),
                    },
                )
            )
        elif cards:
            lines = []
            for i, card in enumerate(cards, 1):
                line = f"{i}. {card.name}"
                if card.price_text:
                    line += f"  {card.price_text}"
                if card.specs:
                    line += "\n   " + "；".join(card.specs[:3])
                if card.link(url_template):
                    line += "\n   " + card.link(url_template)
                lines.append(line)
            out.append(Outgoing("text", "\n".join(lines)))
    return out


def merge(messages: list[Outgoing]) -> Outgoing | None:
    """A passive reply carries one message: several become one text (nothing dropped)."""
    if not messages:
        return None
    if len(messages) == 1:
        return messages[0]
    return Outgoing("text", "\n\n".join(m.as_text() for m in messages))


def buttons_of(bot_messages: list[dict[str, Any]]) -> list[str]:
    payloads: list[str] = []
    for message in bot_messages:
        for b in message.get("buttons") or message.get("quick_replies") or []:
            payloads.append(str(b.get("payload") or b.get("title") or ""))
    return payloads


# --- the customer-service message API ------------------------------------------------------------------
class WeChatAPI:
    """Access token (cached until shortly before it expires) and customer-service messages."""

    def __init__(
        self,
        app_id: str,
        app_secret: str,
        base_url: str = "https://api.weixin.qq.com",
        timeout_s: float = 5.0,
        attempts: int = 3,
    ) -> None:
        self.app_id, self.app_secret = app_id, app_secret
        self.base_url = base_url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.attempts = attempts
        self._token: str | None = None
        self._expires = 0.0
        self._lock = asyncio.Lock()

    async def _get_json(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        async with aiohttp.ClientSession(timeout=self.timeout) as session:
            async with session.request(method, self.base_url + path, **kwargs) as resp:
                return await resp.json(content_type=None)

    async def access_token(self, refresh: bool = False) -> str:
        async with self._lock:
            if refresh or not self._token or time.monotonic() >= self._expires:
                data = await self._get_json(
                    "GET",
                    "/cgi-bin/token",
                    params={
                        "grant_type": "client_credential",
                        "appid": self.app_id,
                        "secret": self.app_secret,
                    },
                )
                if "access_token" not in data:
                    raise RuntimeError(f"WeChat refused the access token: {data}")
                self._token = data["access_token"]
                self._expires = time.monotonic() + int(data.get("expires_in", 7200)) - 300
            return self._token

    @staticmethod
    def payload(openid: str, message: Outgoing) -> dict[str, Any]:
        if message.kind == "news":
            a = message.article
            return {
                "touser": openid,
                "msgtype": "news",
                "news": {
                    "articles": [
                        {
                            "title": a.get("title", ""),
                            "description": a.get("description", ""),
                            "url": a.get("url", ""),
                            "picurl": a.get("image", ""),
                        }
                    ]
                },
            }
        return {"touser": openid, "msgtype": "text", "text": {"content": message.text}}

    async def send(self, openid: str, message: Outgoing) -> bool:
        """Sends one customer-service message; retries network failures and a stale token."""
        body = self.payload(openid, message)
        refresh = False
        for attempt in range(self.attempts):
            try:
                token = await self.access_token(refresh=refresh)
                data = await self._get_json(
                    "POST",
                    "/cgi-bin/message/custom/send",
                    params={"access_token": token},
                    data=json.dumps(body, ensure_ascii=False).encode(),
                    headers={"Content-Type": "application/json; charset=utf-8"},
                )
            except (TimeoutError, aiohttp.ClientError, ValueError, RuntimeError) as exc:
                logger.warning("WeChat send attempt %d failed: %r", attempt + 1, exc)
                await asyncio.sleep(0.5 * 2**attempt)
                continue
            code = int(data.get("errcode", 0))
            if code == 0:
                return True
            if code in _TOKEN_ERRORS and not refresh:
                refresh = True
                continue
            logger.error("WeChat refused a customer-service message: %s", data)
            return False
        return False


# --- the input channel ---------------------------------------------------------------------------------
PENDING, PASSIVE, DEFERRED, RESENT = "pending", "passive", "deferred", "resent"


@dataclass
class _Exchange:
    """One incoming WeChat message and what became of its answer."""

    openid: str
    task: asyncio.Task[list[dict[str, Any]]]
    created: float = field(default_factory=time.monotonic)
    state: str = PENDING


class WeChatInput(InputChannel):
    """Credentials (bot/credentials.yml, values may be ``${ENV_VAR}``):
    token, encoding_aes_key (empty: plaintext mode), app_id, app_secret, api_base, reply_window_s,
    max_clock_skew_s, order_service_url, service_token, product_url_template, subscribe_message,
    pending_reply, unsupported_reply."""

    @classmethod
    def name(cls) -> str:
        return "wechat"

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        c = credentials or {}
        channel = cls(
            token=str(c.get("token") or ""),
            app_id=str(c.get("app_id") or ""),
            app_secret=str(c.get("app_secret") or ""),
            encoding_aes_key=str(c.get("encoding_aes_key") or ""),
            api_base=str(c.get("api_base") or "https://api.weixin.qq.com"),
            reply_window_s=float(c.get("reply_window_s") or 4.0),
            max_clock_skew_s=float(c.get("max_clock_skew_s") or 300),
            order_service_url=str(c.get("order_service_url") or ""),
            service_token=str(c.get("service_token") or ""),
            product_url_template=str(c.get("product_url_template") or ""),
            subscribe_message=str(c.get("subscribe_message") or '/greet{"language":"zh"}'),
            pending_reply=str(c.get("pending_reply") or ""),
            unsupported_reply=str(
                c.get("unsupported_reply")
                or "目前我只能看懂文字消息，请用文字描述您的需要。\n"
                "Sorry, I can only read text messages for now."
            ),
        )
        # Every request comes from WeChat's servers: the rate is the OpenID's only, never the address's.
        channel.limits = ChannelLimits.from_credentials(cls.name(), {**c, "address_rate_limit": "0"})
        return channel

    limits: ChannelLimits = ChannelLimits("wechat", per_address="0")

    def __init__(
        self,
        token: str,
        app_id: str = "",
        app_secret: str = "",
        encoding_aes_key: str = "",
        api_base: str = "https://api.weixin.qq.com",
        reply_window_s: float = 4.0,
        max_clock_skew_s: float = 300,
        order_service_url: str = "",
        service_token: str = "",
        product_url_template: str = "",
        subscribe_message: str = '/greet{"language":"zh"}',
        pending_reply: str = "",
        unsupported_reply: str = "",
    ) -> None:
        self.token = token
        self.app_id = app_id
        self.crypto = WeChatCrypto(token, encoding_aes_key, app_id) if encoding_aes_key else None
        self.api = WeChatAPI(app_id, app_secret, api_base)
        self.reply_window_s = reply_window_s
        self.max_clock_skew_s = max_clock_skew_s
        self.orders = OrderServiceClient(order_service_url, service_token) if order_service_url else None
        self.product_url_template = product_url_template
        self.subscribe_message = subscribe_message
        self.pending_reply = pending_reply
        self.unsupported_reply = unsupported_reply
        self._exchanges: dict[str, _Exchange] = {}
        self._choices: OrderedDict[str, list[str]] = OrderedDict()  # openid → last buttons' payloads
        self._background: set = set()
        if not token:
            logger.warning("WeChat channel has no token: every request will be refused")

    # -- checks --------------------------------------------------------------------------------------
    def verify(self, args: dict[str, str], now: float | None = None) -> None:
        """Signature over (token, timestamp, nonce) and a timestamp within ``max_clock_skew_s``."""
        if not self.token:
            raise RejectedRequest(503, "channel not configured")
        signature, timestamp, nonce = (
            args.get("signature", ""),
            args.get("timestamp", ""),
            args.get("nonce", ""),
        )
        if not (signature and timestamp and nonce):
            raise RejectedRequest(403, "missing signature")
        if not hmac.compare_digest(wechat_signature(self.token, timestamp, nonce), signature):
            raise RejectedRequest(403, "bad signature")
        try:
            skew = abs((now or time.time()) - int(timestamp))
        except ValueError:
            raise RejectedRequest(403, "bad timestamp") from None
        if skew > self.max_clock_skew_s:
            raise RejectedRequest(403, "stale timestamp")

    def read_message(self, body: bytes, args: dict[str, str]) -> Any:
        """The wechatpy message of a verified request, decrypted in safe mode."""
        xml = safe_xml(body)
        if args.get("encrypt_type", "raw") == "aes":
            if not self.crypto:
                raise RejectedRequest(400, "safe mode without an AES key")
            try:
                envelope = parse_message_envelope(xml)
            except Exception:
                raise RejectedRequest(400, "malformed XML") from None
            expected = wechat_signature(
                self.token, args.get("timestamp", ""), args.get("nonce", ""), envelope
            )
            if not hmac.compare_digest(expected, args.get("msg_signature", "")):
                raise RejectedRequest(403, "bad message signature")
            try:
                xml = safe_xml(
                    self.crypto.decrypt_message(
                        xml, args["msg_signature"], args["timestamp"], args["nonce"]
                    ).encode()
                )
            except RejectedRequest:
                raise
            except Exception:
                raise RejectedRequest(400, "cannot decrypt") from None
        try:
            return parse_message(xml)
        except Exception:
            raise RejectedRequest(400, "malformed XML") from None

    # -- conversation ----------------------------------------------------------------------------------
    def _user_text(self, msg: Any) -> str | None:
        """What the user said, or None when there is nothing for the bot (unsupported type, unsubscribe)."""
        if msg.type == "text":
            text = (msg.content or "").strip()
            choices = self._choices.get(msg.source) or []
            if text.isdigit() and 1 <= int(text) <= len(choices):
                return choices[int(text) - 1]  # the payload of a button the bot offered
            return defuse_staff_trigger(text)
        if msg.type == "voice" and getattr(msg, "recognition", None):
            return defuse_staff_trigger(msg.recognition)
        if msg.type == "event" and msg.event in ("subscribe", "subscribe_scan"):
            return self.subscribe_message
        return None

    async def _ask_bot(
        self, on_new_message: Callable[[UserMessage], Awaitable[Any]], openid: str, text: str
    ) -> list[dict[str, Any]]:
        metadata: dict[str, Any] = {"wechat": {"openid": openid}}
        if self.orders:
            customer_id = await self.orders.resolve_customer("wechat", openid)
            if customer_id is not None:
                metadata["customer_id"] = customer_id
        collector = CollectingOutputChannel()
        await on_new_message(
            UserMessage(text, collector, f"wechat-{openid}", input_channel=self.name(), metadata=metadata)
        )
        payloads = buttons_of(collector.messages)
        self._choices.pop(openid, None)  # a number answers only the latest question
        if payloads:
            self._choices[openid] = payloads
            while len(self._choices) > MAX_REMEMBERED_USERS:
                self._choices.popitem(last=False)
        return collector.messages

    def _forget_old(self) -> None:
        horizon = time.monotonic() - max(self.max_clock_skew_s, 60)
        for key in [k for k, e in self._exchanges.items() if e.created < horizon and e.task.done()]:
            del self._exchanges[key]

    def _spawn(self, coro: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(coro)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _deliver_later(self, exchange: _Exchange) -> None:
        try:
            bot_messages = await exchange.task
        except Exception:  # the bot failed: Rasa has logged it, nothing to deliver
            logger.exception("WeChat answer failed")
            return
        for message in render(bot_messages, self.product_url_template):
            await self.api.send(exchange.openid, message)

    async def handle(
        self, msg: Any, on_new_message: Callable[[UserMessage], Awaitable[Any]]
    ) -> Outgoing | None:
        """The passive reply for a verified message (None: reply "success", nothing to show now)."""
        self._forget_old()
        key = str(msg.id) if getattr(msg, "id", None) else f"{msg.source}:{msg.create_time}:{msg.type}"
        exchange = self._exchanges.get(key)
        if exchange is not None:  # a retry or a replay: the answer must go out once, by the API
            if exchange.state == PENDING:
                exchange.state = DEFERRED
                self._spawn(self._deliver_later(exchange))
            elif exchange.state == PASSIVE:
                exchange.state = RESENT
                self._spawn(self._deliver_later(exchange))
            return None
        text = self._user_text(msg)
        if text is None:
            if msg.type in ("event",):
                return None
            return Outgoing("text", self.unsupported_reply)
        if msg.type != "event" and (refusal := self.limits.check(f"wechat-{msg.source}", None, text)):
            return Outgoing("text", refusal.text)  # too long or too fast: never reaches the bot
        exchange = _Exchange(
            msg.source, asyncio.ensure_future(self._ask_bot(on_new_message, msg.source, text))
        )
        self._exchanges[key] = exchange
        try:
            bot_messages = await asyncio.wait_for(asyncio.shield(exchange.task), self.reply_window_s)
        except TimeoutError:
            if exchange.state == PENDING:
                exchange.state = DEFERRED
                self._spawn(self._deliver_later(exchange))
            return Outgoing("text", self.pending_reply) if self.pending_reply else None
        except Exception:
            logger.exception("WeChat answer failed")
            return None
        if exchange.state != PENDING:  # a retry arrived meanwhile and took over the delivery
            return None
        exchange.state = PASSIVE
        return merge(render(bot_messages, self.product_url_template))

    def reply_xml(self, msg: Any, outgoing: Outgoing) -> str:
        """The passive reply. wechatpy writes values into CDATA sections verbatim, so every value is made
        CDATA-safe first: a bot answer echoing "]]><MsgType>…" must not rewrite the reply."""
        ends = {"source": cdata_safe(msg.target), "target": cdata_safe(msg.source)}
        if outgoing.kind == "news":
            a = outgoing.article
            reply = ArticlesReply(**ends)
            reply.add_article({k: cdata_safe(a.get(k, "")) for k in ("title", "description", "image", "url")})
            return reply.render()
        return TextReply(content=cdata_safe(outgoing.text), **ends).render()

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        bp = Blueprint("wechat_webhook", __name__)

        @bp.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @bp.route("/webhook", methods=["GET"])
        async def verify_url(request: Request) -> HTTPResponse:
            args = {k: request.args.get(k, "") for k in request.args}
            try:
                self.verify(args)
            except RejectedRequest as exc:
                logger.warning("WeChat URL verification refused: %s", exc)
                return response.text("", status=exc.status)
            return response.text(args.get("echostr", ""))

        @bp.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            args = {k: request.args.get(k, "") for k in request.args}
            try:
                self.verify(args)
                msg = self.read_message(request.body or b"", args)
            except RejectedRequest as exc:
                logger.warning("WeChat request refused: %s", exc)
                return response.text("", status=exc.status)
            outgoing = await self.handle(msg, on_new_message)
            if outgoing is None or (outgoing.kind == "text" and not outgoing.text):
                return response.text("success")
            xml = self.reply_xml(msg, outgoing)
            if args.get("encrypt_type", "raw") == "aes" and self.crypto:
                xml = self.crypto.encrypt_message(xml, args.get("nonce", ""), str(int(time.time())))
            return response.text(xml, content_type="application/xml")

        return bp


def parse_message_envelope(xml: bytes) -> str:
    """The ``Encrypt`` field of a safe-mode envelope."""
    import xmltodict

    data = xmltodict.parse(xml, disable_entities=True)["xml"]
    value = data.get("Encrypt")
    if not isinstance(value, str) or not value:
        raise ValueError("no Encrypt element")
    return value
