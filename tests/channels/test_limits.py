"""Abuse limits on every channel (issue 16), over real HTTP and socket.io: a message too long is refused
with a clear error, a sender or an address over its rate is refused politely (429 / a short message) and
what was accepted before is answered; nothing refused reaches the bot. The limits are the test's own
(small, so the test is quick); the channels read them from their credentials as bot/credentials.yml
hands them over."""

from __future__ import annotations

import aiohttp
from limits import parse_many

from bot.channels.limits import TOO_FAST, TOO_LONG, ChannelLimits
from bot.channels.rest import ShopperRestInput
from bot.channels.staff import StaffInput
from tests.channels.conftest import ScriptedBot, outside_world, rasa_like_server
from tests.channels.test_staff_boundary import MANAGER
from tests.channels.test_web import Browser
from tests.channels.test_wechat import channel as wechat_channel
from tests.channels.test_wechat import post, reply_of, signed_args, text_xml

SENDER_RATE = "3 per 10 seconds; 20 per minute"
ADDRESS_RATE = "5/minute"
MAX_CHARS = 40
# loopback is exempt by default (this machine's tools): these tests count it
LIMITS = {
    "rate_limit": SENDER_RATE,
    "address_rate_limit": "0",
    "exempt_addresses": "",
    "max_message_chars": MAX_CHARS,
}


def allowed(rate: str) -> int:
    return min(limit.amount for limit in parse_many(rate))


def refusal_prefix(template: str) -> str:
    return template.split("{")[0]


async def rest_post(
    http: aiohttp.ClientSession, url: str, sender: str, text: str, **headers
) -> tuple[int, object, dict]:
    async with http.post(
        f"{url}/webhooks/rest/webhook", json={"sender": sender, "message": text}, headers=headers
    ) as r:
        return r.status, await r.json(), dict(r.headers)


def test_rest_refuses_a_sender_over_its_rate_and_answers_what_it_accepted(run):
    async def scenario():
        bot = ScriptedBot()
        rest = ShopperRestInput.from_credentials(LIMITS)
        async with rasa_like_server([rest], bot) as (url, _), aiohttp.ClientSession() as http:
            results = [
                await rest_post(http, url, "flooder", f"message {i}") for i in range(allowed(SENDER_RATE) + 2)
            ]
            calm = await rest_post(http, url, "calm-shopper", "hello")
        accepted = results[: allowed(SENDER_RATE)]
        assert [(status, body) for status, body, _ in accepted] == [
            (200, [{"recipient_id": "flooder", "text": f"echo: message {i}"}])
            for i in range(allowed(SENDER_RATE))
        ]
        for status, body, headers in results[allowed(SENDER_RATE) :]:
            assert status == 429 and body["error"] == "rate_limited"
            assert body["message"].startswith(refusal_prefix(TOO_FAST["en"]))
            assert 0 < int(headers["Retry-After"]) <= 60
        assert calm[0] == 200  # another shopper is not held up
        assert [m.text for m in bot.received] == [f"message {i}" for i in range(allowed(SENDER_RATE))] + [
            "hello"
        ]

    run(scenario())


def test_rest_refuses_an_address_over_its_rate_whatever_sender_it_names(run):
    async def scenario():
        bot = ScriptedBot()
        rest = ShopperRestInput.from_credentials(
            dict(LIMITS, rate_limit="0", address_rate_limit=ADDRESS_RATE)
        )
        async with rasa_like_server([rest], bot) as (url, _), aiohttp.ClientSession() as http:
            statuses = [
                (await rest_post(http, url, f"sender-{i}", "hi"))[0] for i in range(allowed(ADDRESS_RATE) + 3)
            ]
        assert statuses == [200] * allowed(ADDRESS_RATE) + [429] * 3
        assert len(bot.received) == allowed(ADDRESS_RATE)

    run(scenario())


def test_rest_exempts_the_listed_addresses(run):
    async def scenario():
        bot = ScriptedBot()
        rest = ShopperRestInput.from_credentials(dict(LIMITS, exempt_addresses="127.0.0.1,::1"))
        async with rasa_like_server([rest], bot) as (url, _), aiohttp.ClientSession() as http:
            statuses = [
                (await rest_post(http, url, "local-tool", "hi"))[0] for _ in range(allowed(SENDER_RATE) + 3)
            ]
        assert set(statuses) == {200}

    run(scenario())


def test_rest_refuses_a_message_over_the_size_cap_in_the_shoppers_language(run):
    async def scenario():
        bot = ScriptedBot()
        rest = ShopperRestInput.from_credentials(LIMITS)
        async with rasa_like_server([rest], bot) as (url, _), aiohttp.ClientSession() as http:
            at_cap = await rest_post(http, url, "a", "x" * MAX_CHARS)
            over = await rest_post(http, url, "b", "x" * (MAX_CHARS + 1))
            over_zh = await rest_post(http, url, "c", "我" * (MAX_CHARS + 1))
        assert at_cap[0] == 200
        assert over[0] == 413 and over[1]["error"] == "message_too_long"
        assert (
            over[1]["message"].startswith(refusal_prefix(TOO_LONG["en"]))
            and str(MAX_CHARS) in over[1]["message"]
        )
        assert over_zh[0] == 413 and over_zh[1]["message"].startswith(refusal_prefix(TOO_LONG["zh"]))
        assert [m.sender_id for m in bot.received] == ["a"]

    run(scenario())


def test_widget_refuses_with_a_short_message_and_answers_what_it_accepted(run):
    async def scenario():
        bot = ScriptedBot()
        from bot.channels.web import WebChatInput

        web = WebChatInput.from_credentials({"session_persistence": True, **LIMITS})
        async with rasa_like_server([web], bot) as (url, _):
            browser = Browser()
            session = await browser.open(url)
            too_long = await browser.say(session, "y" * (MAX_CHARS + 1))
            answers = [await browser.say(session, f"turn {i}") for i in range(allowed(SENDER_RATE) + 1)]
            await browser.close()
        assert too_long[0]["text"].startswith(refusal_prefix(TOO_LONG["en"]))
        assert answers[:-1] == [[{"text": f"echo: turn {i}"}] for i in range(allowed(SENDER_RATE))]
        assert answers[-1][0]["text"].startswith(refusal_prefix(TOO_FAST["en"]))
        assert [m.text for m in bot.received] == [f"turn {i}" for i in range(allowed(SENDER_RATE))]

    run(scenario())


def test_staff_channel_is_limited_per_staff_member(run):
    async def scenario():
        bot = ScriptedBot()
        async with outside_world() as outside:
            outside.staff_tokens["good-token"] = MANAGER
            staff = StaffInput.from_credentials({"order_service_url": outside.url, **LIMITS})
            async with rasa_like_server([staff], bot) as (url, _), aiohttp.ClientSession() as http:
                statuses = []
                for text in ["z" * (MAX_CHARS + 1)] + ["stock report"] * (allowed(SENDER_RATE) + 1):
                    async with http.post(
                        url + "/webhooks/staff/webhook",
                        json={"message": text},
                        headers={"Authorization": "Bearer good-token"},
                    ) as reply:
                        statuses.append(reply.status)
        assert statuses == [413] + [200] * allowed(SENDER_RATE) + [429]
        assert len(bot.received) == allowed(SENDER_RATE)

    run(scenario())


def test_wechat_is_limited_per_openid_and_answers_with_a_short_message(run):
    async def scenario():
        bot = ScriptedBot()
        async with outside_world() as outside:
            wechat = wechat_channel(outside.url, **dict(LIMITS, address_rate_limit="1/minute"))
            async with rasa_like_server([wechat], bot) as (url, _):
                replies = [
                    reply_of((await post(url, signed_args(), text_xml(f"你好 {i}", 9000 + i)))[1])["Content"]
                    for i in range(allowed(SENDER_RATE) + 1)
                ]
                other = reply_of((await post(url, signed_args(), text_xml("你好", 9100, openid="oOther")))[1])
        # every request comes from WeChat's address: only the OpenID's rate counts
        assert replies[:-1] == [f"echo: 你好 {i}" for i in range(allowed(SENDER_RATE))]
        assert replies[-1].startswith(refusal_prefix(TOO_FAST["zh"]))
        assert other["Content"] == "echo: 你好"

    run(scenario())


def test_limits_are_off_when_set_to_zero():
    limits = ChannelLimits("test", per_sender="0", per_address="0", exempt="")
    assert all(limits.check("s", "203.0.113.9", "hi") is None for _ in range(100))
