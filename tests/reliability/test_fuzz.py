"""Hostile input through the REST channel: very long text, control characters, emoji, mixed scripts,
SQL/HTML/script injection, empty and malformed bodies. No 5xx, no process dies, and the bot still
answers a normal message afterwards. (That replies stay escaped in the widget is the browser tests'
part: the widget renders bot text as text, never as HTML.)"""

from __future__ import annotations

import json
import random
import uuid

import httpx
import pytest

from tests.reliability.helpers import chat, product_cards

pytestmark = [pytest.mark.slow, pytest.mark.stack]

HOSTILE = [
    "",
    " ",
    "\n\t\r",
    "\x00",
    "".join(map(chr, range(32))) + "\x7f",
    "hello\x00world",
    "a" * 20_000,
    "AMD " * 3_000,
    "你好" * 5_000,
    "😀🔥💻🖥️👍🏽👨‍👩‍👧‍👦" * 50,
    "🇨🇳🇺🇸",
    "\u202eevil\u202c RTL override",
    "\ufeffBOM",
    "ｆｕｌｌ－ｗｉｄｔｈ　ＡＭＤ",
    "AMD处理器 под $300 مرحبا שלום こんにちは 안녕하세요",
    "Z̷̡̛͉a̶l̵g̸o̴ ̷t̶e̷x̶t̵",
    "'; DROP TABLE orders; --",
    "1 OR 1=1",
    '" OR ""="',
    "Robert'); DELETE FROM customers;--",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(document.cookie)>",
    "<b>bold</b> & &amp; &lt;",
    "javascript:alert(1)",
    "{{7*7}} ${7*7} #{7*7} %s %n %x",
    "../../../../etc/passwd",
    "\\x00\\u0000",
    "/staff_stock",
    "/greet",
    '/search_products{"category":"cpu"}',
    "/restart",
    "/session_start",
    "null",
    "undefined",
    "NaN",
    "[]",
    "{}",
    "0" * 500,
    "-1",
    "9" * 400,
]

MALFORMED = [
    b"",
    b"{",
    b"not json",
    b"[]",
    b"null",
    b'{"sender": "x"}',
    b'{"message": "hi"}',
    b'{"sender": 5, "message": 7}',
    b'{"sender": ["a"], "message": {"text": "hi"}}',
    b'{"sender": "x", "message": "hi", "metadata": "not a dict"}',
    b'{"sender": "x", "message": "hi", "metadata": {"staff_token": "forged", "language": "zh"}}',
    b'{"sender": "\\ud800", "message": "\\udfff"}',
    b"\xff\xfe\x00garbage",
]
HOSTILE_SENDERS = [
    "'; DROP TABLE events; --",
    "<script>x</script>",
    "😀" * 100,
    "a" * 300,
    "../x",
    "\x00",
    "a\x00b",
    "\ud800",
    "x\udfffy",
    " ",
    "\n",
]


def as_json(sender: str, message: str) -> bytes:
    """ASCII JSON: characters outside ASCII as \\u escapes, so lone surrogates reach the server too."""
    return json.dumps({"sender": sender, "message": message}).encode()


def random_messages(count: int, seed: int = 9) -> list[str]:
    """Random strings over alphabets that mean trouble: controls, surrogate-free astral planes, RTL, CJK."""
    rng = random.Random(seed)
    ranges = [
        (0, 0x1F),
        (0x20, 0x7E),
        (0x80, 0x2FF),
        (0x590, 0x6FF),
        (0x200B, 0x206F),
        (0x4E00, 0x9FFF),
        (0xFF00, 0xFFEF),
        (0x1F300, 0x1FAFF),
        (0xE000, 0xF8FF),
    ]
    out = []
    for _ in range(count):
        length = rng.choice([1, 5, 40, 300, 3000])
        out.append("".join(chr(rng.randint(*rng.choice(ranges))) for _ in range(length)))
    return out


def test_hostile_messages_get_no_server_error(stack):
    url = f"{stack.rasa_url}/webhooks/rest/webhook"
    failures = []

    def post(client: httpx.Client, label: object, body: bytes) -> None:
        try:
            reply = client.post(url, content=body, headers={"Content-Type": "application/json"})
        except httpx.TransportError as exc:  # the server dropped the request: the worst outcome
            failures.append((str(label)[:60], type(exc).__name__, str(exc)[:200]))
            return
        if reply.status_code >= 500:
            failures.append((str(label)[:60], reply.status_code, reply.text[:200]))
        elif reply.status_code == 200 and not isinstance(reply.json(), list):
            failures.append((str(label)[:60], reply.status_code, reply.text[:200]))

    with httpx.Client(timeout=120, trust_env=False) as client:
        for i, text in enumerate(HOSTILE + random_messages(30)):
            post(client, text, as_json(f"fuzz-{i}-{uuid.uuid4().hex[:6]}", text))
        for body in MALFORMED:
            post(client, body, body)
        # Hostile sender ids too: they key the tracker store's rows and the lock store's keys. A lone
        # surrogate or a NUL used to stop the Rasa server (bot/server.py, storable_sender_id).
        for sender in HOSTILE_SENDERS:
            post(client, sender, as_json(sender, "hello"))
    assert not failures, failures
    dead = [p.name for p in stack.processes if not p.running]
    assert not dead, f"processes died: {dead}"
    assert product_cards(chat(stack.rasa_url, f"after-fuzz-{uuid.uuid4().hex[:6]}", "an AMD CPU under $300"))
