"""The widget in headless Chromium against the real socket.io channel (tests/browser/widget_server.py)."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = [pytest.mark.browser, pytest.mark.slow]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "img"
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script> & "quotes"'


def open_chat(page: Page, url: str) -> None:
    page.goto(url)
    page.get_by_role("button", name=re.compile("shopping assistant|导购助手")).click()
    expect(page.locator(".dg-panel")).to_be_visible()


def say(page: Page, text: str) -> None:
    page.locator(".dg-input").fill(text)
    page.locator(".dg-input").press("Enter")


def bot_texts(page: Page) -> list[str]:
    return page.locator(".dg-bot .dg-text").all_inner_texts()


def shoot(page: Page, name: str) -> None:
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / name))


def test_cards_buttons_history_and_escaping(page: Page, widget_server):
    open_chat(page, widget_server.url)
    say(page, "an AMD CPU under $300")
    expect(page.locator(".dg-typing")).to_be_visible()  # the scripted answer takes 0.8 s
    carousel = page.locator(".dg-carousel")
    expect(carousel).to_be_visible()
    expect(page.locator(".dg-typing")).to_be_hidden()
    cards = carousel.locator(".dg-card")
    expect(cards).to_have_count(3)
    first = cards.nth(0)
    expect(first.locator(".dg-card-name")).to_have_text("AMD Ryzen 5 7600X")
    expect(first.locator(".dg-card-price")).to_have_text("$170.49")
    expect(first.locator(".dg-card-specs li")).to_have_text(
        ["cores: 6", "boost clock: 5.3 GHz", "socket: AM5"]
    )
    expect(first.get_by_role("button", name="Add to cart")).to_be_visible()
    expect(first.locator(".dg-card-name a")).to_have_attribute("href", "https://shop.example/p/6501")
    shoot(page, "widget-carousel.png")

    # a card button sends its payload; the transcript shows the button's title
    cards.nth(1).get_by_role("button", name="Details").click()
    expect(page.locator(".dg-user").last).to_have_text(re.compile("Details$"))
    expect(page.locator(".dg-bot .dg-card")).to_have_count(4)  # three in the carousel, one detail card
    expect(page.locator(".dg-bot > .dg-card .dg-card-name")).to_have_text("AMD Ryzen 7 7700X")
    page.locator(".dg-bot > .dg-card").get_by_role("button", name="Add to cart").click()
    expect(page.locator(".dg-bot .dg-text").last).to_have_text("Added AMD Ryzen 7 7700X to your cart.")
    sent = [m["text"] for m in widget_server.received()]
    assert '/product_details{"sku": "6502"}' in sent and '/add_to_cart{"sku":"6502"}' in sent

    # hostile text is shown as text, never run or parsed as markup
    say(page, HOSTILE)
    expect(page.locator(".dg-user").last).to_have_text(re.compile(re.escape(HOSTILE)))
    expect(page.locator(".dg-bot .dg-text").last).to_contain_text(HOSTILE)
    assert page.evaluate("window.__pwned") is None
    assert page.locator(".dg-log img[src='x'], .dg-log script").count() == 0
    # links in bot text are real links, and only http(s)
    expect(page.locator(".dg-bot .dg-text a").last).to_have_attribute("href", "https://shop.example/help")

    # a reload shows the same conversation and keeps the same session
    before = page.locator(".dg-msg").count()
    page.reload()
    expect(page.locator(".dg-panel")).to_be_visible()  # it stays open
    expect(page.locator(".dg-msg")).to_have_count(before)
    expect(page.locator(".dg-carousel .dg-card")).to_have_count(3)
    say(page, "still there?")
    expect(page.locator(".dg-bot .dg-text").last).to_contain_text("You said: still there?")
    page.wait_for_function(
        "() => window.DaogouWidget.instance.socket.io.engine.transport.name === 'websocket'"
    )
    senders = {m["sender_id"] for m in widget_server.received()}
    assert len(senders) == 1, senders
    assert page.errors == []


def test_quick_replies_language_switch_and_keyboard_only(page: Page, widget_server):
    page.goto(widget_server.url)
    # keyboard only: tab to the launcher, open, type, answer a quick reply, close with Escape
    launcher = page.locator(".dg-launcher")
    for _ in range(30):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.classList.contains('dg-launcher')"):
            break
    else:
        pytest.fail("the launcher cannot be reached with Tab")
    page.keyboard.press("Enter")
    expect(page.locator(".dg-input")).to_be_focused()
    page.keyboard.type("help")
    page.keyboard.press("Enter")
    quick = page.locator(".dg-quick-btn")
    expect(quick).to_have_count(2)
    quick.first.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".dg-user").last).to_have_text(re.compile("CPUs$"))
    expect(quick.first).to_be_disabled()  # a quick reply is used once
    expect(page.locator(".dg-carousel")).to_be_visible()
    track = page.locator(".dg-carousel-track")
    track.focus()
    start = track.evaluate("t => t.scrollLeft")
    page.keyboard.press("ArrowRight")
    # one card further (smooth scrolling: wait until it got there)
    page.wait_for_function(
        "start => document.querySelector('.dg-carousel-track').scrollLeft > start + 100", arg=start
    )
    page.keyboard.press("Escape")
    expect(page.locator(".dg-panel")).to_be_hidden()
    expect(launcher).to_be_focused()

    # English and Chinese interface strings
    launcher.press("Enter")
    expect(page.locator(".dg-title")).to_have_text("Shopping assistant")
    page.get_by_role("button", name="切换到中文").click()
    expect(page.locator(".dg-title")).to_have_text("导购助手")
    expect(page.locator(".dg-input")).to_have_attribute("placeholder", "想买点什么？")
    expect(page.locator(".dg-send")).to_have_text("发送")
    say(page, "处理器")
    expect(page.locator(".dg-carousel")).to_have_count(2)
    expect(
        page.locator(".dg-carousel").last.locator(".dg-card").first.get_by_role("button", name="加入购物车")
    ).to_be_visible()
    shoot(page, "widget-chinese.png")
    assert widget_server.received()[-1]["metadata"].get("language") == "zh"
    page.reload()
    expect(page.locator(".dg-title")).to_have_text("导购助手")  # the choice is remembered


@pytest.mark.parametrize("page", [{"width": 375, "height": 667}], indirect=True)
def test_phone_sized_screen(page: Page, widget_server):
    open_chat(page, widget_server.url)
    box = page.locator(".dg-panel").bounding_box()
    assert box["x"] == 0 and box["width"] == 375 and box["height"] == 667
    say(page, "cpu")
    expect(page.locator(".dg-carousel .dg-card")).to_have_count(3)
    # nothing sticks out sideways: the page does not scroll horizontally
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    card = page.locator(".dg-carousel .dg-card").first.bounding_box()
    assert card["width"] <= 375
    for button in page.locator(".dg-send, .dg-close").all():
        assert button.bounding_box()["height"] >= 34  # big enough for a finger
    shoot(page, "widget-phone.png")


def test_reconnects_after_a_server_restart(page: Page, widget_server):
    open_chat(page, widget_server.url)
    say(page, "hello")
    expect(page.locator(".dg-bot .dg-text").last).to_contain_text("You said: hello")
    session = page.evaluate("JSON.parse(localStorage.getItem('daogou:session'))")
    widget_server.stop()
    expect(page.locator(".dg-status")).to_be_visible(timeout=15000)
    say(page, "are you back?")  # typed while the server is down: sent after the reconnect
    widget_server.start()
    expect(page.locator(".dg-status")).to_be_hidden(timeout=30000)
    expect(page.locator(".dg-bot .dg-text").last).to_contain_text("You said: are you back?", timeout=15000)
    log = widget_server.received()  # the restarted server saw the message, in the same session
    assert [m["sender_id"] for m in log] == [session]
