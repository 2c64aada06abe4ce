"""Conversations persist: every process is killed in the middle of a conversation and started again;
the same conversation continues with its slots (SQL tracker store, bot/endpoints.yml)."""

from __future__ import annotations

import uuid

import pytest

from tests.reliability.helpers import chat, product_cards, texts, tracker

pytestmark = [pytest.mark.slow, pytest.mark.stack]


def test_restart_of_every_process_continues_the_conversation(stack):
    sender = f"persist-{uuid.uuid4().hex[:8]}"
    assert texts(chat(stack.rasa_url, sender, "hello"))
    cards = product_cards(chat(stack.rasa_url, sender, "an AMD CPU under $300"))
    assert cards, "the search showed no products"
    before = tracker(stack.rasa_url, sender, stack.rasa_api_token)
    assert any(value for name, value in before["slots"].items() if name != "session_started_metadata")

    for proc in stack.processes:  # as a power cut would: no chance to flush anything
        proc.kill()
    for proc in stack.processes:
        proc.start()
    for proc in stack.processes:
        proc.wait_ready()

    after = tracker(stack.rasa_url, sender, stack.rasa_api_token)
    assert after["slots"] == before["slots"]
    assert len(after["events"]) >= len(before["events"])
    stock = texts(chat(stack.rasa_url, sender, "is the first one in stock at Mall of America?"))
    assert cards[0]["name"] in stock and "Mall of America" in stock, stock
