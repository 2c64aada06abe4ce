"""Abuse limits shared by every channel (issue 16): a message size cap and rate limits per sender and per
client address, checked at the channel's door, before a message reaches Rasa.

A refused message never reaches the bot, so it changes no conversation; a message that was let in is
handled exactly as before (nothing already accepted is dropped). The limits are counted by the
maintained ``limits`` library (moving windows): in this process's memory by default, in Redis when a
storage URL is given (``REDIS_URL``), so several Rasa servers behind one balancer share the counts.
``limits`` 2.4 is the newest release that installs next to Rasa 3.6 (which pins ``packaging<21``); its
synchronous Redis client costs one round trip per message on the event loop, as Rasa's Redis lock store
already does.

Settings come from bot/credentials.yml (``${CHANNEL_RATE_LIMIT}`` …, defaults and descriptions in
daogou/config.py): this module runs in the Rasa environment, which cannot import daogou.config.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

from limits import parse_many
from limits.storage import storage_from_string
from limits.strategies import MovingWindowRateLimiter

from daogou.language import detect

logger = logging.getLogger(__name__)

DEFAULT_PER_SENDER = "5 per 10 seconds; 30 per minute"
DEFAULT_PER_ADDRESS = "20 per 10 seconds; 120 per minute"
DEFAULT_EXEMPT = "127.0.0.1,::1"
DEFAULT_MAX_CHARS = 2000

TOO_FAST = {
    "en": "You're sending messages faster than I can answer. Please wait {seconds} s and send it again.",
    "zh": "您发送消息太快了，请等 {seconds} 秒后再发一次。",
}
TOO_LONG = {
    "en": "That message is too long for me ({length} characters; at most {limit}). Please shorten it.",
    "zh": "这条消息太长了（{length} 个字符，最多 {limit} 个），请缩短后再发。",
}


@dataclass(frozen=True)
class Refusal:
    """Why a message was turned away: an HTTP status (413 too long, 429 too fast), a machine-readable
    reason, the shopper-facing text in the message's language and, for 429, when to try again."""

    status: int
    reason: str
    text: str
    retry_after_s: int = 0

    def body(self) -> dict[str, Any]:
        return {"error": self.reason, "message": self.text, "retry_after_s": self.retry_after_s}

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_s)} if self.retry_after_s else {}


def _setting(credentials: dict[str, Any], key: str, default: Any) -> Any:
    value = credentials.get(key)
    return default if value in (None, "") else value


class ChannelLimits:
    """The limits of one channel. ``per_sender``/``per_address`` are ``limits`` strings, one rate or
    several ("5 per 10 seconds; 30 per minute": a burst and a sustained rate; empty or "0" turns it off), ``exempt`` the client addresses the rates do not count
    (comma-separated: this machine's tools and tests), ``max_chars`` the longest message accepted,
    ``storage_url`` a ``limits`` storage URL ("redis://host:6379/2"; empty: memory)."""

    def __init__(
        self,
        channel: str,
        per_sender: str = DEFAULT_PER_SENDER,
        per_address: str = DEFAULT_PER_ADDRESS,
        max_chars: int = DEFAULT_MAX_CHARS,
        storage_url: str = "",
        exempt: str = DEFAULT_EXEMPT,
    ) -> None:
        self.channel = channel
        self.exempt = frozenset(a.strip() for a in exempt.split(",") if a.strip())
        self.max_chars = int(max_chars)
        self.per_sender = parse_many(per_sender) if per_sender and per_sender != "0" else []
        self.per_address = parse_many(per_address) if per_address and per_address != "0" else []
        # the limiter holds its storage by a weak reference only
        self.storage = storage_from_string(storage_url or "memory://")
        self.limiter = MovingWindowRateLimiter(self.storage)

    @classmethod
    def from_credentials(cls, channel: str, credentials: dict[str, Any] | None) -> ChannelLimits:
        c = credentials or {}
        return cls(
            channel,
            per_sender=str(_setting(c, "rate_limit", DEFAULT_PER_SENDER)),
            per_address=str(_setting(c, "address_rate_limit", DEFAULT_PER_ADDRESS)),
            max_chars=int(_setting(c, "max_message_chars", DEFAULT_MAX_CHARS)),
            storage_url=str(_setting(c, "limits_storage_url", "")),
            exempt=str(c.get("exempt_addresses", DEFAULT_EXEMPT) or ""),
        )

    def _exceeded(self, limit: Any, kind: str, key: str) -> int | None:
        """None when one more message of `key` fits the limit (and counts it), else seconds to wait."""
        if self.limiter.hit(limit, self.channel, kind, key):
            return None
        reset_at, _ = self.limiter.get_window_stats(limit, self.channel, kind, key)
        return max(1, int(reset_at - time.time() + 0.999))

    def check(
        self, sender: str | None, address: str | None, text: str | None, language: str | None = None
    ) -> Refusal | None:
        """None when the message may go in, else the refusal. The size is checked first (a message too
        long uses none of the sender's allowance), then the address's and the sender's rate, unless the
        address is exempt."""
        text = text or ""
        lang = language if language in TOO_FAST else (detect(text) or "en")
        if len(text) > self.max_chars:
            return Refusal(
                413, "message_too_long", TOO_LONG[lang].format(length=len(text), limit=self.max_chars)
            )
        if address and address in self.exempt:
            return None
        for rates, kind, key in ((self.per_address, "address", address), (self.per_sender, "sender", sender)):
            for limit in rates if key else []:
                wait = self._exceeded(limit, kind, str(key))
                if wait is not None:
                    logger.warning("%s: %s rate limit %s exceeded", self.channel, kind, limit)
                    return Refusal(429, "rate_limited", TOO_FAST[lang].format(seconds=wait), wait)
        return None


def client_address(request: Any) -> str:
    """The client's address as Sanic sees it: the forwarded one when Sanic is told to trust a proxy
    (``SANIC_PROXIES_COUNT``/``SANIC_REAL_IP_HEADER``, set for Rasa servers behind the balancer),
    else the connection's peer."""
    return str(getattr(request, "remote_addr", "") or getattr(request, "ip", "") or "")
