"""Real servers for the channel tests: the channels under test run in a Sanic app wired exactly as Rasa
wires them (``rasa.core.channels.channel.register``), and the outside world (WeChat's API, the order
service) is a real aiohttp server on a free local port that records what it receives.

The agent behind the channels is a scripted bot: the channels' job is transport and identity, so the
tests need a bot whose answers and delays they control (a slow action, a card, buttons).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from rasa.core.channels.channel import UserMessage, register
from sanic import Sanic

from daogou.cards import ProductCard, ProductCardsPayload


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


CARD: ProductCard = {  # a card as actions.cards builds it (contract: daogou.cards)
    "sku": "CPU-R7-7800X3D",
    "name": "AMD Ryzen 7 7800X3D",
    "brand": "AMD",
    "price": 449.0,
    "price_text": "$449.00",
    "kind": "CPU",
    "specs": [{"name": "cores", "value": "8"}, {"name": "socket", "value": "AM5"}],
    "image": "/img/cpu.png",
    "url": "https://shop.example/p/CPU-R7-7800X3D",
    "currency": "USD",
    "buttons": [{"title": "Details", "payload": '/product_details{"sku": "CPU-R7-7800X3D"}'}],
}


def cards_payload(*cards: ProductCard) -> ProductCardsPayload:
    return {"type": "product_cards", "products": list(cards)}


@dataclass
class ScriptedBot:
    """Answers like Rasa's agent would, through the message's output channel."""

    delay_s: float = 0.0
    received: list[UserMessage] = field(default_factory=list)

    async def handle_message(self, message: UserMessage) -> None:
        self.received.append(message)
        text, out, to = message.text or "", message.output_channel, message.sender_id
        if text.startswith("slow"):
            await asyncio.sleep(self.delay_s)
        if "one card" in text:
            await out.send_response(to, {"text": "Here it is:"})
            await out.send_response(to, {"custom": cards_payload(CARD)})
        elif "cards" in text:
            cards = [
                dict(CARD, sku=f"SKU-{i}", name=f"Product {i}", url=f"https://shop.example/p/{i}")
                for i in range(3)
            ]
            await out.send_response(to, {"custom": cards_payload(*cards)})
        elif "buttons" in text:
            await out.send_response(
                to,
                {
                    "text": "Which one?",
                    "buttons": [
                        {"title": "Cheapest", "payload": '/choose{"rank":"cheapest"}'},
                        {"title": "Fastest", "payload": '/choose{"rank":"fastest"}'},
                    ],
                },
            )
        else:
            await out.send_response(to, {"text": f"echo: {text}"})


@dataclass
class Outside:
    """Stand-in for WeChat's API and the order service, with what they received."""

    url: str = ""
    token_requests: int = 0
    expire_first_token: bool = False
    sent: list[dict[str, Any]] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)
    staff_tokens: dict[str, dict[str, Any]] = field(default_factory=dict)
    staff_checks: int = 0
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/cgi-bin/token", self._token)
        app.router.add_post("/cgi-bin/message/custom/send", self._custom_send)
        app.router.add_post("/customers/resolve", self._resolve)
        app.router.add_get("/auth/staff/me", self._staff_me)
        return app

    async def _token(self, request: web.Request) -> web.Response:
        self.token_requests += 1
        if request.query.get("appid") != "wx-test-app" or request.query.get("secret") != "app-secret":
            return web.json_response({"errcode": 40013, "errmsg": "invalid appid"})
        return web.json_response({"access_token": f"tok-{self.token_requests}", "expires_in": 7200})

    async def _custom_send(self, request: web.Request) -> web.Response:
        token = request.query.get("access_token")
        if self.expire_first_token and token == "tok-1":
            return web.json_response({"errcode": 42001, "errmsg": "access_token expired"})
        if not (token or "").startswith("tok-"):
            return web.json_response({"errcode": 40001, "errmsg": "invalid credential"})
        self.sent.append(await request.json())
        self.arrived.set()
        return web.json_response({"errcode": 0, "errmsg": "ok"})

    async def _resolve(self, request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != "Bearer service-secret":
            return web.json_response({"detail": "service token required"}, status=401)
        body = await request.json()
        known = any(r["external_id"] == body["external_id"] for r in self.resolved)
        self.resolved.append(body)
        # like the order service: 201 when the customer is created, 200 when it already existed
        return web.json_response(
            {"customer_id": 1000 + len(body["external_id"])}, status=200 if known else 201
        )

    async def _staff_me(self, request: web.Request) -> web.Response:
        self.staff_checks += 1
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        member = self.staff_tokens.get(token)
        if member is None:
            return web.json_response({"detail": "invalid token"}, status=401)
        return web.json_response(member)

    async def wait_sent(self, count: int, timeout: float = 10.0) -> list[dict[str, Any]]:
        async def until() -> None:
            while len(self.sent) < count:
                self.arrived.clear()
                await self.arrived.wait()

        await asyncio.wait_for(until(), timeout)
        return self.sent


@contextlib.asynccontextmanager
async def outside_world():
    outside = Outside()
    runner = web.AppRunner(outside.app())
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    outside.url = f"http://127.0.0.1:{port}"
    try:
        yield outside
    finally:
        await runner.cleanup()


@contextlib.asynccontextmanager
async def rasa_like_server(channels: list, bot: ScriptedBot):
    """A Sanic app with the channels registered under /webhooks/ as ``rasa run`` does; yields its URL."""
    app = Sanic(f"test-{uuid.uuid4().hex[:8]}")
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 1.0  # socket.io long-polls would hold the close for 15 s
    Sanic.test_mode = (
        True  # else sanic 21.12 rewrites its protocol class again for a second app and breaks it
    )
    app.ctx.agent = bot
    register(channels, app, "/webhooks/")
    port = free_port()
    server = await app.create_server(
        host="127.0.0.1", port=port, return_asyncio_server=True, access_log=False
    )
    await server.startup()
    await server.before_start()
    await server.after_start()
    try:
        yield f"http://127.0.0.1:{port}", app
    finally:
        await server.before_stop()
        await server.close()
        await server.after_stop()


@pytest.fixture
def run():
    """Runs one coroutine per test on a fresh event loop (the Rasa environment has no pytest-asyncio)."""
    return lambda coro: asyncio.run(asyncio.wait_for(coro, 60))
