"""Faults against the real processes: the action server or the order service down (killed) or slow
(SIGSTOP: connections are accepted, nothing answers). The shopper always gets an answer in time, in
their language, with the offer of a human colleague, and the bot works again once the process is back.
Time budgets of the shared stack: ACTION_TIMEOUT_S=6, HTTP_TIMEOUT_S=1 with 2 retries."""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from deploy.stack import Process
from order_service.client import OrderServiceClient
from tests.reliability.conftest import FAULT_SETTINGS
from tests.reliability.faultproxy import FaultProxy
from tests.reliability.helpers import chat, is_apology, product_cards, texts, timed_chat

pytestmark = [pytest.mark.slow, pytest.mark.stack]

ACTION_BUDGET_S = float(FAULT_SETTINGS["ACTION_TIMEOUT_S"])
HTTP_TIMEOUT_S = float(FAULT_SETTINGS["HTTP_TIMEOUT_S"])
SEARCH = {"en": "an AMD CPU under $300", "zh": "300美元以下的AMD处理器"}
STOCK = {"en": "is the first one in stock at Mall of America?", "zh": "第一个在Mall of America有货吗？"}


def sender(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:8]}"


@contextmanager
def injected(proc: Process, fault: str) -> Iterator[None]:
    """`down`: killed, started again afterwards; `slow`: stopped (SIGSTOP), continued afterwards."""
    proc.kill() if fault == "down" else proc.pause()
    try:
        yield
    finally:
        if fault == "down":
            proc.start()
        else:
            proc.resume()
        proc.wait_ready()


@pytest.mark.parametrize("fault", ["down", "slow"])
def test_action_server_fault(stack, fault):
    actions = stack.actions[0]
    shoppers = {lang: sender(f"act-{fault}-{lang}") for lang in SEARCH}
    for lang, who in shoppers.items():
        chat(stack.rasa_url, who, "你好" if lang == "zh" else "hello")
    with injected(actions, fault):
        # Meanwhile another conversation that needs no custom action is answered at once.
        other: dict[str, float] = {}
        probe = threading.Thread(
            target=lambda: other.update(t=timed_chat(stack.rasa_url, sender("bystander"), "hello")[1])
        )
        probe.start()
        for lang, who in shoppers.items():
            messages, elapsed = timed_chat(stack.rasa_url, who, SEARCH[lang])
            assert is_apology(texts(messages), lang), messages
            assert elapsed < ACTION_BUDGET_S + 4, f"{fault}: the apology took {elapsed:.1f} s"
            if fault == "down":
                assert elapsed < 3, f"a refused connection should fail fast, took {elapsed:.1f} s"
        probe.join(30)
        assert other["t"] < 5, f"a greeting waited {other['t']:.1f} s behind a hung action"
        # The bot itself keeps working: a response that needs no action server.
        assert texts(chat(stack.rasa_url, shoppers["en"], "hello"))
    for lang, who in shoppers.items():  # back to normal, same conversations
        assert product_cards(chat(stack.rasa_url, who, SEARCH[lang])), f"{lang}: no products after recovery"


@pytest.mark.parametrize("fault", ["down", "slow"])
def test_order_service_fault(stack, fault):
    orders = stack.orders
    shoppers = {lang: sender(f"ord-{fault}-{lang}") for lang in SEARCH}
    for lang, who in shoppers.items():
        assert product_cards(chat(stack.rasa_url, who, SEARCH[lang]))  # the graph is in-process: no service
    with injected(orders, fault):
        for lang, who in shoppers.items():
            messages, elapsed = timed_chat(stack.rasa_url, who, STOCK[lang])
            assert is_apology(texts(messages), lang), messages
            if fault == "slow":  # three attempts of HTTP_TIMEOUT_S each, with backoff in between
                assert 3 * HTTP_TIMEOUT_S <= elapsed < ACTION_BUDGET_S, f"took {elapsed:.1f} s"
            else:
                assert elapsed < 3, f"a refused connection should fail fast, took {elapsed:.1f} s"
    for lang, who in shoppers.items():
        stock = texts(chat(stack.rasa_url, who, STOCK[lang]))
        assert "Mall of America" in stock and not is_apology(stock, lang), stock


def _sku_in_warehouse(stack) -> str:
    with sqlite3.connect(stack.state_dir / "daogou.db") as db:
        row = db.execute(
            "SELECT sku FROM stock_levels WHERE location_id = 0 AND on_hand - reserved >= 10 "
            "ORDER BY sku LIMIT 1"
        ).fetchone()
    assert row, "no SKU with warehouse stock in the demo shop"
    return row[0]


async def test_retry_after_timeout_places_one_order(stack):
    """The first answer to POST /orders is held past the client's timeout after the service placed the
    order; the client retries with the same Idempotency-Key and gets that same order back."""
    sku = _sku_in_warehouse(stack)
    host, port = stack.orders_url.rsplit("/", 1)[1].split(":")
    with FaultProxy(host, int(port)) as proxy:
        async with OrderServiceClient(stack.orders_url) as direct:
            customer = await direct.resolve_customer("web", sender("idem"))
        async with OrderServiceClient(proxy.url, timeout_s=0.5, retries=2) as client:
            proxy.hold_responses(2.0)  # the first connection: this client's first request
            order = await client.create_order(
                customer, [(sku, 1)], fulfilment="delivery", delivery_address="1 Main Street, Springfield"
            )
        async with OrderServiceClient(stack.orders_url) as direct:
            placed = await direct.list_orders(customer)
    posts = [line for line in proxy.request_lines if line.startswith("POST /orders")]
    assert len(posts) == 2, proxy.request_lines  # the timed-out attempt and its retry
    assert [o.id for o in placed] == [order.id], "the retry placed a second order"
    assert order.status == "pending"


async def test_idempotent_read_retried_through_slow_answers(stack):
    """Two slow answers in a row, then a normal one: a GET succeeds on its third attempt."""
    host, port = stack.orders_url.rsplit("/", 1)[1].split(":")
    with FaultProxy(host, int(port)) as proxy:
        async with OrderServiceClient(proxy.url, timeout_s=0.5, retries=2) as client:
            proxy.hold_responses(2.0, 2.0)
            stores = await client.find_stores("Mall of America")
    assert stores and "Mall of America" in stores[0].name
    assert proxy.connections == 3
