"""Talking to a running stack (deploy/stack.py) over the REST channel, as a shopper's client would."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

HAN = re.compile(r"[\u4e00-\u9fff]")
# utter_service_unavailable (bot/domain/core.yml): an apology with the offer of a human colleague.
APOLOGY_EN = ("Sorry", "human colleague")
APOLOGY_ZH = ("抱歉", "人工客服")


def chat(base_url: str, sender: str, text: str, *, timeout: float = 60.0) -> list[dict[str, Any]]:
    reply = httpx.post(
        f"{base_url}/webhooks/rest/webhook",
        json={"sender": sender, "message": text},
        timeout=timeout,
        trust_env=False,
    )
    assert reply.status_code == 200, f"{reply.status_code}: {reply.text[:500]}"
    return reply.json()


def timed_chat(
    base_url: str, sender: str, text: str, *, timeout: float = 60.0
) -> tuple[list[dict[str, Any]], float]:
    started = time.monotonic()
    messages = chat(base_url, sender, text, timeout=timeout)
    return messages, time.monotonic() - started


def texts(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("text") or "" for m in messages)


def product_cards(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [card for m in messages for card in (m.get("custom") or {}).get("products", [])]


def tracker(base_url: str, sender: str, api_token: str) -> dict[str, Any]:
    """The conversation as Rasa's HTTP API gives it (on a Rasa server's own port, with the API token)."""
    reply = httpx.get(
        f"{base_url}/conversations/{sender}/tracker", params={"token": api_token}, timeout=30, trust_env=False
    )
    assert reply.status_code == 200, reply.text[:500]
    return reply.json()


def is_apology(text: str, lang: str) -> bool:
    words = APOLOGY_ZH if lang == "zh" else APOLOGY_EN
    return all(word in text for word in words) and bool(HAN.search(text)) == (lang == "zh")
