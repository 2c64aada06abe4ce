"""The widget's socket.io channel, spoken to by a real socket.io client over HTTP."""

from __future__ import annotations

import asyncio

import socketio

from bot.channels.web import WebChatInput
from tests.channels.conftest import CARD, ScriptedBot, cards_payload, outside_world, rasa_like_server


class Browser:
    """What the widget does on the wire: session_request on connect, user_uttered with the session id."""

    def __init__(self) -> None:
        self.client = socketio.AsyncClient(reconnection=False)
        self.sessions: list = []
        self.answers: list = []
        self.client.on("session_confirm", self.sessions.append)
        self.client.on("bot_uttered", self.answers.append)

    async def open(self, url: str, session_id=None) -> str:
        await self.client.connect(url, socketio_path="/socket.io", transports=["polling"])
        await self.client.emit("session_request", {"session_id": session_id})
        await self.until(lambda: self.sessions)
        return self.sessions[-1]

    async def close(self) -> None:
        # abort: this engineio client's polite polling disconnect waits forever on aiohttp 3.9
        await self.client.eio.disconnect(abort=True)

    async def say(self, session_id: str, text: str, count: int = 1, **extra) -> list:
        before = len(self.answers)
        await self.client.emit("user_uttered", {"session_id": session_id, "message": text, **extra})
        await self.until(lambda: len(self.answers) >= before + count)
        return self.answers[before:]

    @staticmethod
    async def until(condition, timeout: float = 10.0) -> None:
        async def poll():
            while not condition():
                await asyncio.sleep(0.02)

        await asyncio.wait_for(poll(), timeout)


def test_session_persists_cards_arrive_and_sessions_map_to_customers(run):
    async def scenario():
        bot = ScriptedBot()
        async with outside_world() as outside:
            web = WebChatInput.from_credentials(
                {
                    "session_persistence": True,
                    "order_service_url": outside.url,
                    "service_token": "service-secret",
                }
            )
            async with rasa_like_server([web], bot) as (url, _):
                browser = Browser()
                session = await browser.open(url)
                assert len(session) == 64  # 128 random bits and 128 bits of signature, in hex
                answers = await browser.say(
                    session, "show me one card", count=2, metadata={"language": "en", "customer_id": 1}
                )
                assert answers == [{"text": "Here it is:"}, {"custom": cards_payload(CARD)}]
                await browser.close()

                # a reload: a new connection asks for the stored session id and keeps talking in it
                again = Browser()
                assert await again.open(url, session_id=session) == session
                assert await again.say(session, "hello") == [{"text": "echo: hello"}]
                await again.close()

                # ids the widget never issues are replaced (no writing into wechat-/staff- conversations)
                third = Browser()
                assert await third.open(url, session_id="staff-7") != "staff-7"
                await third.close()

        assert [m.sender_id for m in bot.received] == [session, session]
        assert all(m.metadata["customer_id"] == 1000 + len(session) for m in bot.received)
        assert bot.received[0].metadata["language"] == "en"
        assert outside.resolved == [{"channel": "web", "external_id": session}]  # cached afterwards

    run(scenario())


def test_message_before_session_request_is_ignored(run):
    async def scenario():
        bot = ScriptedBot()
        async with rasa_like_server([WebChatInput.from_credentials({"session_persistence": True})], bot) as (
            url,
            _,
        ):
            client = socketio.AsyncClient(reconnection=False)
            await client.connect(url, socketio_path="/socket.io", transports=["polling"])
            await client.emit("user_uttered", {"session_id": "0" * 32, "message": "hi"})
            await asyncio.sleep(0.5)
            await client.eio.disconnect(abort=True)
        assert bot.received == []

    run(scenario())


def test_websocket_transport_works_on_this_python(run):
    """A raw websocket speaking engine.io/socket.io (the browser upgrades to it): Rasa 3.6's sanic closes
    such sockets at once on Python 3.11 unless bot.channels.web's fix is in place."""
    import json

    import websockets

    async def scenario():
        bot = ScriptedBot()
        async with rasa_like_server([WebChatInput.from_credentials({"session_persistence": True})], bot) as (
            url,
            _,
        ):
            ws_url = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
            async with websockets.connect(ws_url) as ws:

                async def packet(prefix: str) -> str:
                    while True:  # skip pings and anything else until the expected packet type
                        data = await asyncio.wait_for(ws.recv(), 5)
                        if data == "2":
                            await ws.send("3")
                        elif data.startswith(prefix):
                            return data[len(prefix) :]

                assert json.loads(await packet("0"))["sid"]  # engine.io open
                await ws.send("40")  # socket.io connect
                await packet("40")
                await ws.send('42["session_request",{"session_id":null}]')
                event, session = json.loads(await packet("42"))
                assert event == "session_confirm"
                await ws.send(
                    "42" + json.dumps(["user_uttered", {"session_id": session, "message": "over ws"}])
                )
                assert json.loads(await packet("42")) == ["bot_uttered", {"text": "echo: over ws"}]
        assert [m.sender_id for m in bot.received] == [session]

    run(scenario())
