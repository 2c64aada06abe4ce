"""Who a shopper is, per channel (issue 16): widget session ids are issued and signed by the server
(bot.channels.sessions), a made-up or guessed one is replaced, a REST client cannot write into a widget
session, and the REST channel demands its token when one is configured."""

from __future__ import annotations

import collections
import math

import aiohttp

from bot.channels.rest import ShopperRestInput
from bot.channels.sessions import SessionIds
from bot.channels.web import WebChatInput
from tests.channels.conftest import ScriptedBot, rasa_like_server
from tests.channels.test_web import Browser


def test_issued_ids_carry_128_random_bits_and_only_the_issuer_accepts_them():
    issuer = SessionIds("secret-a")
    ids = [issuer.issue() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    nonces = "".join(i[:32] for i in ids)  # the random half: 32 hex characters
    counts = collections.Counter(nonces)
    entropy = -sum(n / len(nonces) * math.log2(n / len(nonces)) for n in counts.values())
    assert len(ids[0][:32]) * entropy >= 127.5  # ≈ 4 bits per hex character, 32 characters
    assert all(issuer.valid(i) for i in ids[:50])
    assert not any(SessionIds("secret-b").valid(i) for i in ids[:50])  # another key: none valid
    forged = ids[0][:32] + ("0" * 32 if ids[0][32:] != "0" * 32 else "1" * 32)
    assert not issuer.valid(forged)
    assert not issuer.valid(ids[0].upper()) and not issuer.valid(ids[0] + "0") and not issuer.valid(None)


def test_widget_replaces_ids_it_did_not_sign(run):
    async def scenario():
        bot = ScriptedBot()
        web = WebChatInput.from_credentials({"session_persistence": True, "session_secret": "k1"})
        async with rasa_like_server([web], bot) as (url, _):
            browser = Browser()
            made_up = "0123456789abcdef" * 4  # the right shape, not signed
            session = await browser.open(url, session_id=made_up)
            assert session != made_up and SessionIds("k1").valid(session)
            await browser.close()
            again = Browser()
            assert await again.open(url, session_id=session) == session  # a reload keeps it
            await again.close()

    run(scenario())


def test_rest_cannot_write_into_a_widget_session_and_needs_its_token(run):
    async def scenario():
        bot = ScriptedBot()
        widget_session = SessionIds("k2").issue()
        rest = ShopperRestInput.from_credentials({"token": "integration-secret", "session_secret": "k2"})
        async with rasa_like_server([rest], bot) as (url, _), aiohttp.ClientSession() as http:
            endpoint = f"{url}/webhooks/rest/webhook"
            body = {"sender": widget_session, "message": "hello"}
            for headers in ({}, {"Authorization": "Bearer guess"}, {"Authorization": "integration-secret"}):
                async with http.post(endpoint, json=body, headers=headers) as reply:
                    assert reply.status == 401, headers
            good = {"Authorization": "Bearer integration-secret"}
            async with http.post(endpoint, json=body, headers=good) as reply:
                assert reply.status == 200
            async with http.post(
                endpoint, json={"sender": "shop-42", "message": "hi"}, headers=good
            ) as reply:
                assert reply.status == 200
        assert [m.sender_id for m in bot.received] == [f"rest-{widget_session}", "shop-42"]

    run(scenario())


def test_rest_without_a_token_is_open_for_development(run):
    async def scenario():
        bot = ScriptedBot()
        async with rasa_like_server([ShopperRestInput.from_credentials({})], bot) as (url, _):
            async with aiohttp.ClientSession() as http:
                body = {"sender": "dev", "message": "hello"}
                async with http.post(f"{url}/webhooks/rest/webhook", json=body) as reply:
                    assert reply.status == 200
        assert [m.sender_id for m in bot.received] == ["dev"]

    run(scenario())
