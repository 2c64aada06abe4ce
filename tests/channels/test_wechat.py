"""WeChat channel over real HTTP with requests signed (and encrypted) the way WeChat does it."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid

import aiohttp
import xmltodict
from wechatpy.crypto import WeChatCrypto

from bot.channels.wechat import WeChatInput, wechat_signature
from tests.channels.conftest import CARD, ScriptedBot, cards_payload, outside_world, rasa_like_server

TOKEN = "wechat-test-token"
APP_ID = "wx-test-app"
AES_KEY = base64.b64encode(b"k" * 32).decode().rstrip("=")  # 43 characters, as WeChat issues them
OPENID = "oUser123openid"
PATH = "/webhooks/wechat/webhook"


def signed_args(timestamp: int | None = None, token: str = TOKEN) -> dict:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = uuid.uuid4().hex[:10]
    return {"timestamp": ts, "nonce": nonce, "signature": wechat_signature(token, ts, nonce)}


def text_xml(content: str, msg_id: int, openid: str = OPENID) -> str:
    return (
        f"<xml><ToUserName><![CDATA[gh_shop]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName>"
        f"<CreateTime>{int(time.time())}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
        f"<Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )


def channel(outside_url: str, **overrides) -> WeChatInput:
    credentials = {
        "token": TOKEN,
        "app_id": APP_ID,
        "app_secret": "app-secret",
        "api_base": outside_url,
        "order_service_url": outside_url,
        "service_token": "service-secret",
        "reply_window_s": 1.0,
    }
    credentials.update(overrides)
    return WeChatInput.from_credentials(credentials)


async def post(url: str, args: dict, body: str | bytes) -> tuple[int, str]:
    async with aiohttp.ClientSession() as session:
        async with session.post(
            url + PATH, params=args, data=body, headers={"Content-Type": "text/xml"}
        ) as resp:
            return resp.status, await resp.text()


def reply_of(xml: str) -> dict:
    return xmltodict.parse(xml)["xml"]


def test_url_verification_echoes_only_for_a_valid_signature(run):
    async def scenario():
        async with (
            outside_world() as outside,
            rasa_like_server([channel(outside.url)], ScriptedBot()) as (url, _),
        ):
            async with aiohttp.ClientSession() as s:
                good = dict(signed_args(), echostr="echo-4711")
                async with s.get(url + PATH, params=good) as resp:
                    assert (resp.status, await resp.text()) == (200, "echo-4711")
                forged = dict(good, signature="0" * 40)
                async with s.get(url + PATH, params=forged) as resp:
                    assert resp.status == 403 and "echo" not in await resp.text()
                stale = dict(signed_args(timestamp=int(time.time()) - 3600), echostr="echo-4711")
                async with s.get(url + PATH, params=stale) as resp:
                    assert resp.status == 403

    run(scenario())


def test_text_message_gets_passive_reply_with_customer_identity(run):
    async def scenario():
        bot = ScriptedBot()
        async with outside_world() as outside, rasa_like_server([channel(outside.url)], bot) as (url, _):
            status, body = await post(url, signed_args(), text_xml("你好 <b>&", 1001))
            assert status == 200
            reply = reply_of(body)
            assert reply["MsgType"] == "text" and reply["ToUserName"] == OPENID
            assert reply["Content"] == "echo: 你好 <b>&"
            (message,) = bot.received
            assert message.sender_id == f"wechat-{OPENID}" and message.input_channel == "wechat"
            assert message.metadata["customer_id"] == 1000 + len(OPENID)
            assert outside.resolved == [{"channel": "wechat", "external_id": OPENID}]

    run(scenario())


def test_hostile_text_cannot_break_out_of_the_reply_xml(run):
    hostile = "]]></Content><MsgType><![CDATA[news]]></MsgType><Content><![CDATA[x"

    async def scenario():
        bot = ScriptedBot()
        async with outside_world() as outside, rasa_like_server([channel(outside.url)], bot) as (url, _):
            # the attacker's text is split into two CDATA sections so it survives the request XML too
            body = text_xml(hostile.replace("]]>", "]]]]><![CDATA[>"), 1002)
            status, reply = await post(url, signed_args(), body)
            assert status == 200
            parsed = reply_of(reply)
            assert parsed["MsgType"] == "text" and parsed["Content"] == "echo: " + hostile

    run(scenario())


def test_forged_signature_and_stale_timestamp_never_reach_the_bot(run):
    async def scenario():
        bot = ScriptedBot()
        async with outside_world() as outside, rasa_like_server([channel(outside.url)], bot) as (url, _):
            forged = signed_args(token="not-the-token")
            assert (await post(url, forged, text_xml("hi", 1)))[0] == 403
            missing = {"timestamp": str(int(time.time())), "nonce": "n"}
            assert (await post(url, missing, text_xml("hi", 2)))[0] == 403
            stale = signed_args(timestamp=int(time.time()) - 301)
            assert (await post(url, stale, text_xml("hi", 3)))[0] == 403
            future = signed_args(timestamp=int(time.time()) + 3600)
            assert (await post(url, future, text_xml("hi", 4)))[0] == 403
            assert bot.received == []

    run(scenario())


def test_malformed_xml_and_xxe_are_refused(run):
    xxe = (
        '<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY leak SYSTEM "file:///etc/passwd">]>'
        f"<xml><ToUserName>gh</ToUserName><FromUserName>{OPENID}</FromUserName><CreateTime>1</CreateTime>"
        "<MsgType>text</MsgType><Content>&leak;</Content><MsgId>9</MsgId></xml>"
    )
    laughs = (
        '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>'
        "<xml><Content>&b;</Content></xml>"
    )

    async def scenario():
        bot = ScriptedBot()
        async with outside_world() as outside, rasa_like_server([channel(outside.url)], bot) as (url, _):
            assert (await post(url, signed_args(), "<xml><Content>unclosed"))[0] == 400
            assert (await post(url, signed_args(), "not xml at all"))[0] == 400
            status, body = await post(url, signed_args(), xxe)
            assert status == 400 and "root:" not in body
            assert (await post(url, signed_args(), laughs))[0] == 400
            assert (await post(url, signed_args(), b"<xml>" + b"a" * 70_000 + b"</xml>"))[0] == 413
            assert bot.received == []

    run(scenario())


def test_retried_msgid_reaches_the_bot_once_and_the_answer_is_resent_once(run):
    async def scenario():
        bot = ScriptedBot()
        async with outside_world() as outside, rasa_like_server([channel(outside.url)], bot) as (url, _):
            xml = text_xml("where is my order", 2002)
            status, first = await post(url, signed_args(), xml)
            assert status == 200 and reply_of(first)["Content"] == "echo: where is my order"
            # WeChat retries only when it did not get the reply: the answer goes out by the API, once
            for _ in range(3):
                status, again = await post(url, signed_args(), xml)
                assert (status, again) == (200, "success")
            sent = await outside.wait_sent(1)
            await asyncio.sleep(0.3)
            assert len(bot.received) == 1
            assert sent == [
                {"touser": OPENID, "msgtype": "text", "text": {"content": "echo: where is my order"}}
            ]

    run(scenario())


def test_slow_answer_is_acknowledged_at_once_and_delivered_by_customer_service_api(run):
    async def scenario():
        bot = ScriptedBot(delay_s=2.0)
        async with (
            outside_world() as outside,
            rasa_like_server([channel(outside.url, reply_window_s=0.5)], bot) as (url, _),
        ):
            outside.expire_first_token = True  # the first token is refused: the channel must renew it
            started = time.monotonic()
            status, body = await post(url, signed_args(), text_xml("slow stock check", 3003))
            assert (status, body) == (200, "success")
            assert time.monotonic() - started < 1.5
            # WeChat's retry during the wait must neither re-ask the bot nor deliver twice
            assert await post(url, signed_args(), text_xml("slow stock check", 3003)) == (200, "success")
            sent = await outside.wait_sent(1)
            await asyncio.sleep(0.3)
            assert sent == [
                {"touser": OPENID, "msgtype": "text", "text": {"content": "echo: slow stock check"}}
            ]
            assert outside.token_requests == 2 and len(bot.received) == 1

    run(scenario())


def test_safe_mode_decrypts_the_request_and_encrypts_the_reply(run):
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)

    async def scenario():
        bot = ScriptedBot()
        ch = channel("http://127.0.0.1:9", encoding_aes_key=AES_KEY, order_service_url="")
        async with rasa_like_server([ch], bot) as (url, _):
            args = signed_args()
            envelope = crypto.encrypt_message(text_xml("加密的消息", 4004), args["nonce"], args["timestamp"])
            msg_signature = reply_of(envelope)["MsgSignature"]
            aes_args = dict(args, encrypt_type="aes", msg_signature=msg_signature)
            status, body = await post(url, aes_args, envelope)
            assert status == 200
            outer = reply_of(body)
            assert "Content" not in outer and outer["Encrypt"]
            inner = reply_of(
                crypto.decrypt_message(body, outer["MsgSignature"], outer["TimeStamp"], outer["Nonce"])
            )
            assert inner["Content"] == "echo: 加密的消息"
            # a tampered envelope, or a message signature that does not match it, is refused
            bad = dict(aes_args, msg_signature="f" * 40)
            assert (await post(url, dict(bad, nonce=args["nonce"]), envelope))[0] == 403
            inner_xxe = (
                '<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><Content>&e;</Content></xml>'
            )
            args2 = signed_args()
            env2 = crypto.encrypt_message(inner_xxe, args2["nonce"], args2["timestamp"])
            args2.update(encrypt_type="aes", msg_signature=reply_of(env2)["MsgSignature"])
            assert (await post(url, args2, env2))[0] == 400
            assert [m.text for m in bot.received] == ["加密的消息"]

    run(scenario())


def test_subscribe_event_greets_and_cards_become_news_or_linked_text(run):
    async def scenario():
        bot = ScriptedBot()
        async with (
            outside_world() as outside,
            rasa_like_server([channel(outside.url, subscribe_message="show me one card")], bot) as (url, _),
        ):
            subscribe = (
                f"<xml><ToUserName>gh_shop</ToUserName><FromUserName>{OPENID}</FromUserName>"
                f"<CreateTime>{int(time.time())}</CreateTime><MsgType>event</MsgType>"
                "<Event>subscribe</Event></xml>"
            )
            status, body = await post(url, signed_args(), subscribe)
            # a text and a card: one passive reply can hold one message, so the two become one text
            content = reply_of(body)["Content"]
            assert "Here it is:" in content and f"{CARD['name']} {CARD['price_text']}" in content
            assert CARD["url"] in content
            status, body = await post(url, signed_args(), text_xml("three cards please", 5005))
            reply = reply_of(body)
            assert reply["MsgType"] == "text"
            assert all(f"https://shop.example/p/{i}" in reply["Content"] for i in range(3))
            assert bot.received[0].text == "show me one card"

    run(scenario())


def test_single_card_is_a_news_message(run):
    async def scenario():
        bot = ScriptedBot()

        async def card_only(message):
            bot.received.append(message)
            await message.output_channel.send_response(message.sender_id, {"custom": cards_payload(CARD)})

        bot.handle_message = card_only
        async with outside_world() as outside, rasa_like_server([channel(outside.url)], bot) as (url, _):
            status, body = await post(url, signed_args(), text_xml("7800x3d", 6006))
            reply = reply_of(body)
            assert reply["MsgType"] == "news" and reply["ArticleCount"] == "1"
            item = reply["Articles"]["item"]
            assert item["Title"] == f"{CARD['name']} {CARD['price_text']}"
            assert item["Url"] == CARD["url"] and "socket: AM5" in item["Description"]

    run(scenario())


def test_numbered_buttons_and_staff_shortcut(run):
    async def scenario():
        bot = ScriptedBot()
        async with outside_world() as outside, rasa_like_server([channel(outside.url)], bot) as (url, _):
            _, body = await post(url, signed_args(), text_xml("buttons", 7001))
            assert "1. Cheapest\n2. Fastest" in reply_of(body)["Content"]
            await post(url, signed_args(), text_xml("2", 7002))
            await post(url, signed_args(), text_xml("/staff_stock_report", 7003))
            assert [m.text for m in bot.received] == [
                "buttons",
                '/choose{"rank":"fastest"}',
                "staff_stock_report",
            ]
            assert all("staff" not in m.metadata for m in bot.received)

    run(scenario())


def test_unconfigured_channel_refuses_everything(run):
    async def scenario():
        bot = ScriptedBot()
        async with rasa_like_server([WeChatInput.from_credentials({"token": ""})], bot) as (url, _):
            assert (await post(url, signed_args(token=""), text_xml("hi", 1)))[0] == 503
            assert bot.received == []

    run(scenario())
