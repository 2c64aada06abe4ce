"""No shopper message reaches a staff intent; a staff token accepted by the order service does."""

from __future__ import annotations

import aiohttp
import socketio
from rasa.shared.nlu.training_data.message import Message

from bot.channels.guard import (
    StaffIntentGuard,
    defuse_staff_trigger,
    guard_parse,
    sign_staff_claims,
    verified_staff,
)
from bot.channels.rest import ShopperRestInput
from bot.channels.staff import StaffInput
from bot.channels.web import WebChatInput
from tests.channels.conftest import ScriptedBot, outside_world, rasa_like_server

MANAGER = {"staff_id": 7, "username": "li.na", "role": "store_manager", "store_id": 3}
FORGED = {"staff": dict(MANAGER, signature="0" * 64), "language": "zh", "customer_id": 1}


def staff_prediction(message) -> dict:
    """What the NLU would hand to the policies: a classifier that *does* pick the staff intent for
    these words, followed by the guard."""
    parse = {
        "metadata": message.metadata,
        "intent": {"name": "staff_stock_report", "confidence": 0.97},
        "intent_ranking": [
            {"name": "staff_stock_report", "confidence": 0.97},
            {"name": "ask_stock", "confidence": 0.03},
        ],
    }
    guard_parse(parse)
    return parse


def test_signed_claims_verify_and_tampering_is_detected():
    signed = sign_staff_claims(MANAGER)
    assert verified_staff({"staff": signed}) == dict(MANAGER, token=None)
    assert verified_staff({"staff": dict(signed, token="someone-elses")}) is None
    assert verified_staff({"staff": dict(signed, role="admin")}) is None
    assert verified_staff({"staff": dict(signed, store_id=4)}) is None
    assert verified_staff({"staff": MANAGER}) is None
    assert verified_staff(FORGED) is None and verified_staff(None) is None and verified_staff("x") is None


def test_intent_shortcuts_to_staff_intents_are_defused():
    for text in ("/staff_stock_report", '  /staff_x{"store":1}', "//STAFF_adjust", "/ staff_y"):
        assert not defuse_staff_trigger(text).lstrip().startswith("/"), text
    assert defuse_staff_trigger('/choose{"rank":"cheapest"}') == '/choose{"rank":"cheapest"}'
    assert defuse_staff_trigger("what is /staff_ about?") == "what is /staff_ about?"


def test_guard_component_demotes_staff_intents_without_signed_claims():
    guard = StaffIntentGuard()

    def message(metadata):
        m = Message(data={"text": "stock report", "metadata": metadata})
        m.set("intent", {"name": "staff_stock_report", "confidence": 0.9}, add_to_output=True)
        m.set(
            "intent_ranking",
            [{"name": "staff_stock_report", "confidence": 0.9}, {"name": "greet", "confidence": 0.1}],
            add_to_output=True,
        )
        return m

    shopper, forged, staff = message({}), message(FORGED), message({"staff": sign_staff_claims(MANAGER)})
    guard.process([shopper, forged, staff])
    for m in (shopper, forged):
        assert m.get("intent")["name"] == "nlu_fallback"
        assert [r["name"] for r in m.get("intent_ranking")] == ["greet"]
    assert staff.get("intent")["name"] == "staff_stock_report"


def test_staff_channel_checks_the_token_with_the_order_service(run):
    async def scenario():
        bot = ScriptedBot()
        async with outside_world() as outside:
            outside.staff_tokens["good-token"] = MANAGER
            staff = StaffInput.from_credentials({"order_service_url": outside.url, "token_cache_s": 0})
            async with rasa_like_server([staff], bot) as (url, _), aiohttp.ClientSession() as s:
                hook = url + "/webhooks/staff/webhook"
                body = {"message": "stock report", "metadata": FORGED}
                async with s.post(hook, json=body) as resp:
                    assert resp.status == 401
                async with s.post(hook, json=body, headers={"Authorization": "Bearer stolen"}) as resp:
                    assert resp.status == 401
                assert bot.received == []
                async with s.post(hook, json=body, headers={"Authorization": "Bearer good-token"}) as resp:
                    assert resp.status == 200
                    assert await resp.json() == [{"recipient_id": "staff-7", "text": "echo: stock report"}]
                (message,) = bot.received
                assert message.sender_id == "staff-7" and message.input_channel == "staff"
                assert verified_staff(message.metadata) == dict(MANAGER, token="good-token")
                assert "customer_id" not in message.metadata and message.metadata["language"] == "zh"
                assert staff_prediction(message)["intent"]["name"] == "staff_stock_report"
                # the order service revokes the token: the next message is refused
                del outside.staff_tokens["good-token"]
                async with s.post(hook, json=body, headers={"Authorization": "Bearer good-token"}) as resp:
                    assert resp.status == 401
            # the order service is down: refuse rather than guess
            staff_down = StaffInput.from_credentials({"order_service_url": "http://127.0.0.1:9"})
            async with rasa_like_server([staff_down], bot) as (url, _), aiohttp.ClientSession() as s:
                async with s.post(
                    url + "/webhooks/staff/webhook",
                    json={"message": "hi"},
                    headers={"Authorization": "Bearer good-token"},
                ) as resp:
                    assert resp.status == 503

    run(scenario())


def test_shopper_channels_never_carry_staff_claims(run):
    async def scenario():
        bot = ScriptedBot()
        channels = [ShopperRestInput(), WebChatInput.from_credentials({"session_persistence": True})]
        async with rasa_like_server(channels, bot) as (url, _), aiohttp.ClientSession() as s:
            for text in ("stock report", "/staff_stock_report"):
                async with s.post(
                    url + "/webhooks/rest/webhook",
                    json={"sender": "staff-7", "message": text, "metadata": FORGED, "input_channel": "staff"},
                ) as resp:
                    assert resp.status == 200
            client = socketio.AsyncClient()
            confirmed = []
            client.on("session_confirm", lambda sid: confirmed.append(sid))
            answers = []
            client.on("bot_uttered", lambda data: answers.append(data))
            await client.connect(url, socketio_path="/socket.io", transports=["polling"])
            await client.emit("session_request", {"session_id": None})
            while not confirmed:
                await client.sleep(0.05)
            await client.emit(
                "user_uttered",
                {"session_id": confirmed[0], "message": "/staff_stock_report", "metadata": FORGED},
            )
            while not answers:
                await client.sleep(0.05)
            await client.eio.disconnect(abort=True)  # see tests/channels/test_web.py
        assert len(bot.received) == 3
        for message in bot.received:
            assert "staff" not in message.metadata and verified_staff(message.metadata) is None
            assert not message.text.startswith("/")
            assert message.input_channel in ("rest", "socketio")
            assert staff_prediction(message)["intent"]["name"] == "nlu_fallback"
        assert bot.received[0].sender_id == "rest-staff-7"
        assert "customer_id" not in bot.received[0].metadata  # only a channel sets it, never the client

    run(scenario())


def test_rest_refuses_sender_ids_that_cannot_key_a_conversation(run):
    """A lone surrogate, a NUL or an over-long id would break the tracker store's row key: 400, not a crash."""

    async def scenario():
        bot = ScriptedBot()
        async with rasa_like_server([ShopperRestInput()], bot) as (url, _), aiohttp.ClientSession() as s:
            for body in (
                b'{"sender": "\\ud800", "message": "hi"}',
                b'{"sender": "a\\u0000b", "message": "hi"}',
                ('{"sender": "%s", "message": "hi"}' % ("x" * 300)).encode(),
            ):
                async with s.post(
                    url + "/webhooks/rest/webhook", data=body, headers={"Content-Type": "application/json"}
                ) as resp:
                    assert resp.status == 400, (body[:40], resp.status)
                    assert "invalid sender" in await resp.text()
            async with s.post(
                url + "/webhooks/rest/webhook", json={"sender": "ok-ünï", "message": "hi"}
            ) as resp:
                assert resp.status == 200
        assert [m.sender_id for m in bot.received] == ["ok-ünï"]

    run(scenario())
