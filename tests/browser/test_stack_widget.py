"""End to end: the demo shop page served by the running stack (`make run`), the widget, the trained bot,
the action server and the order service, in headless Chromium.

Runs against STACK_WEB_URL when it is set (it must answer), otherwise against a stack it starts the way
`make run` does (the ``stack`` fixture of tests/stack), with the widget's channel
(``bot.channels.web.WebChatInput``) from bot/credentials.yml.
"""

from __future__ import annotations

import os
import re
import time
from urllib.parse import urlparse

import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import _missing, port_open
from tests.stack.test_vertical_slice import stack  # noqa: F401  (the fixture: scripts/run.sh on spare ports)

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.slow]
WEB = os.environ.get("STACK_WEB_URL", "http://127.0.0.1:8080")
HOSTILE = '<img src=x onerror="window.__pwned=1"><b>bold?</b>'
ANSWER_MS = 60_000  # the first answer of a fresh stack loads models


def widget_journey(page: Page, web_url: str, query: str) -> None:
    """Open the shop page, ask for a product, see a card, click its first button, send hostile text, reload
    and see the whole conversation again. Also callable from a test that starts the stack itself."""
    page.goto(web_url)
    page.locator(".dg-launcher").click()
    expect(page.locator(".dg-panel")).to_be_visible()
    ask(page, query)
    card = page.locator(".dg-bot .dg-card").first
    expect(card).to_be_visible(timeout=ANSWER_MS)
    expect(card.locator(".dg-card-name")).to_contain_text("AMD")
    price = card.locator(".dg-card-price").inner_text()
    assert re.search(r"\d", price), price
    bots_before = page.locator(".dg-bot").count()
    card.locator(".dg-card-actions button").first.click()  # "Details" / "详情"
    expect(page.locator(".dg-bot")).not_to_have_count(bots_before, timeout=ANSWER_MS)

    ask(page, HOSTILE)
    expect(page.locator(".dg-user").last).to_contain_text(HOSTILE)
    expect(page.locator(".dg-typing")).to_be_hidden(timeout=ANSWER_MS)
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".dg-log img[src='x'], .dg-log b").count() == 0

    messages = settled_count(page, ".dg-msg")
    page.reload()
    expect(page.locator(".dg-msg")).to_have_count(messages)
    expect(page.locator(".dg-bot .dg-card").first).to_be_visible()


def settled_count(page: Page, selector: str, quiet_s: float = 1.5) -> int:
    """How many elements match once no new one has appeared for `quiet_s`: a reply can come as several
    messages (and through a custom action), so the typing indicator going away does not mean the last
    one is in."""
    deadline = time.monotonic() + ANSWER_MS / 1000
    count, since = page.locator(selector).count(), time.monotonic()
    while time.monotonic() < deadline:
        page.wait_for_timeout(250)
        now = page.locator(selector).count()
        if now != count:
            count, since = now, time.monotonic()
        elif time.monotonic() - since >= quiet_s:
            break
    return count


def ask(page: Page, text: str) -> None:
    page.locator(".dg-input").fill(text)
    page.locator(".dg-input").press("Enter")


@pytest.fixture(scope="module")
def web_url(request) -> str:
    """STACK_WEB_URL when set (a stack someone runs), else a stack started here as `make run` starts it."""
    if os.environ.get("STACK_WEB_URL"):
        if not port_open(urlparse(WEB).port or 80):
            _missing(f"STACK_WEB_URL={WEB} does not answer")
        return WEB
    return request.getfixturevalue("stack")["web"]


@pytest.mark.parametrize("query", ["an AMD CPU under $300", "300美元以下的AMD处理器"])
def test_ask_for_a_product_see_a_card_click_reload_escape(page: Page, web_url: str, query: str):
    widget_journey(page, web_url, query)
    assert page.errors == []
