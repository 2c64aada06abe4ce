"""The staff console (/staff on the web server, staff_console/) in headless Chromium and over plain HTTP,
against a live stack: the order service, the action server and the trained Rasa server on free ports
(tests/conversations/stack.py, or the stack CONVERSATIONS_STACK_JSON describes), with the web server
(`python -m ops.web`) started here in front of it.

Expected answers come from the order service (stock, the store's name, the low-stock list) and the shop
catalogue (the SKU of a product named in a question), never from the console.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from benchmarks.staff import web_server as console_web_server
from catalog import load_products
from demo.shop import DEMO_PASSWORDS
from tests.browser.conftest import ROOT, free_port

pytestmark = [pytest.mark.browser, pytest.mark.stack, pytest.mark.slow]
SHOTS = ROOT / "docs" / "img"
ANSWER_MS = 60_000  # the first answer of a fresh stack loads models
IDLE_S = 3  # session idle time of the second web server, for the expiry test


@dataclass
class Shop:
    """The stack's order service and database, and answers asked of them."""

    orders_url: str
    rasa_url: str
    database: Path
    service_token: str  # the stack's service credential (the console uses it for the handoff path)
    web_port: int  # the port the console's web server takes: the stack lets the chat page on it call Rasa

    def associate(self) -> tuple[str, int]:
        """(username, store id) of the first demo associate, as the conversation suite picks it."""
        with sqlite3.connect(self.database) as db:
            username, store_id = db.execute(
                "SELECT username, store_id FROM staff_users WHERE role = 'associate' AND active "
                "ORDER BY store_id LIMIT 1"
            ).fetchone()
        return username, store_id

    def token(self, username: str, password: str) -> str:
        r = httpx.post(
            f"{self.orders_url}/auth/staff/token",
            json={"username": username, "password": password},
            timeout=10,
        )
        r.raise_for_status()
        return r.json()["access_token"]

    def manager_get(self, path: str, **params) -> object:
        token = self.token("manager", DEMO_PASSWORDS["manager"])
        r = httpx.get(
            f"{self.orders_url}{path}",
            params=params,
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        r.raise_for_status()
        return r.json()


@contextmanager
def web_server(shop: Shop, port: int | None = None, **settings: str) -> Iterator[str]:
    """`python -m ops.web` in front of the shop's stack (on a free port unless given)."""
    with console_web_server(shop.orders_url, shop.rasa_url, port or free_port(), **settings) as url:
        yield url


@pytest.fixture(scope="module")
def shop() -> Iterator[Shop]:
    described = os.environ.get("CONVERSATIONS_STACK_JSON", "")
    web_port = free_port()
    if described and Path(described).exists():  # a stack held up by `python -m tests.conversations.stack`
        d = json.loads(Path(described).read_text())
        token = d.get("service_token", "")
        yield Shop(d["orders_url"], d["rasa_url"], Path(d["database"]), token, web_port)
        return
    from tests.conversations.stack import live_stack

    train = os.environ.get("CONVERSATIONS_SKIP_TRAIN", "") in ("", "0", "false")
    saved = os.environ.get("SHOP_ORIGINS")
    os.environ["SHOP_ORIGINS"] = f"http://127.0.0.1:{web_port}"  # CORS for the shopper's widget
    try:
        with live_stack(train=train) as stack:
            yield Shop(stack.orders_url, stack.rasa_url, stack.database, stack.service_token, web_port)
    finally:
        if saved is None:
            os.environ.pop("SHOP_ORIGINS", None)
        else:
            os.environ["SHOP_ORIGINS"] = saved


@pytest.fixture(scope="module")
def web(shop: Shop) -> Iterator[str]:
    with web_server(shop, shop.web_port) as url:
        yield url


@pytest.fixture(scope="module")
def short_web(shop: Shop) -> Iterator[str]:
    with web_server(shop, STAFF_SESSION_IDLE_S=str(IDLE_S)) as url:
        yield url


def product_sku(name_has: str) -> str:
    """The one catalogue product whose name contains `name_has`."""
    found = [p.sku for p in load_products() if name_has in p.name]
    assert len(found) == 1, (name_has, found)
    return found[0]


def shoot(page: Page, name: str) -> None:
    if os.environ.get("UPDATE_SCREENSHOTS"):
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / name))


def sign_in(page: Page, web: str, username: str, password: str) -> None:
    page.goto(web + "/staff")
    expect(page.locator("#signin")).to_be_visible()
    page.locator("#username").fill(username)
    page.locator("#password").fill(password)
    page.locator("#signin button[type=submit]").click()


def ask(page: Page, text: str):
    """Send a question; the bot's answer bubble once it is in."""
    before = page.locator(".msg.bot").count()
    page.locator("#message").fill(text)
    page.locator("#message").press("Enter")
    answer = page.locator(".msg.bot").nth(before)
    expect(answer).not_to_have_class(re.compile(r"\bpending\b"), timeout=ANSWER_MS)
    return answer


# --- over plain HTTP ---------------------------------------------------------------------------------


def test_api_refuses_unauthenticated_and_foreign_requests(web: str, shop: Shop):
    origin = {"Origin": web}
    with httpx.Client(base_url=web + "/staff", timeout=30) as http:
        assert http.get("/api/session").json() == {"error": "signed_out"}
        r = http.post("/api/chat", json={"message": "what is running low?"}, headers=origin)
        assert (r.status_code, r.json()) == (401, {"error": "signed_out"})
        forged = {**origin, "Cookie": "daogou_staff=made-up"}
        r = http.post("/api/chat", json={"message": "what is running low?"}, headers=forged)
        assert (r.status_code, r.json()) == (401, {"error": "session_expired"})

        username, _ = shop.associate()
        creds = {"username": username, "password": DEMO_PASSWORDS["associate"]}
        r = http.post("/api/login", json=creds)  # no Origin: not provably from the page
        assert (r.status_code, r.json()) == (403, {"error": "cross_origin"})
        r = http.post("/api/login", json=creds, headers={"Origin": "http://evil.example"})
        assert r.status_code == 403 and "set-cookie" not in r.headers
        r = http.post("/api/login", json={**creds, "password": "not-the-password"}, headers=origin)
        assert (r.status_code, r.json()) == (401, {"error": "bad_credentials"})

        r = http.post("/api/login", json=creds, headers=origin)
        assert r.status_code == 200, r.text
        cookie = r.headers["set-cookie"]
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie and "Path=/staff" in cookie, cookie
        body = r.json()
        assert set(body) == {"staff", "csrf", "idle_s"}  # never the staff token
        assert body["staff"]["username"] == username
        csrf = body["csrf"]

        question = {"message": "what is running low at my store?"}
        r = http.post("/api/chat", json=question, headers=origin)  # signed in, no CSRF token
        assert (r.status_code, r.json()) == (403, {"error": "csrf"})
        r = http.post(
            "/api/chat", json=question, headers={"Origin": "http://evil.example", "X-CSRF-Token": csrf}
        )
        assert (r.status_code, r.json()) == (403, {"error": "cross_origin"})
        r = http.post(
            "/api/chat",
            json=question,
            headers={**origin, "X-CSRF-Token": csrf, "Sec-Fetch-Site": "cross-site"},
        )
        assert r.status_code == 403
        r = http.post(
            "/api/chat",
            content="message=hi",
            headers={**origin, "X-CSRF-Token": csrf, "Content-Type": "text/plain"},
        )
        assert (r.status_code, r.json()) == (400, {"error": "message_required"})

        r = http.post("/api/logout", json={}, headers={**origin, "X-CSRF-Token": csrf})
        assert r.status_code == 200
        r = http.post("/api/chat", json=question, headers={**origin, "X-CSRF-Token": csrf})
        assert r.status_code == 401


# --- in the browser ----------------------------------------------------------------------------------


def test_sign_in_ask_stock_by_name_see_a_table_sign_out(page: Page, web: str, shop: Shop):
    username, store_id = shop.associate()
    sign_in(page, web, username, "wrong-password")
    expect(page.locator("#notice")).to_have_text("Wrong username or password.")
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#chat")).to_be_hidden()

    page.locator("#password").fill(DEMO_PASSWORDS["associate"])
    page.locator("#signin button[type=submit]").click()
    store = shop.manager_get(f"/stores/{store_id}")
    expect(page.locator("#who-store")).to_contain_text(store["name"])
    expect(page.locator("#who-role")).to_have_text("Associate")
    expect(page.locator("#who-user")).to_have_text(username)
    expect(page.locator("#notice")).to_be_hidden()

    sku = product_sku("Core i9-13900KF")
    answer = ask(page, "how many i9-13900KF do we have?")
    stock = shop.manager_get(f"/stores/{store_id}/stock/{sku}")
    expect(answer).to_contain_text(store["name"])
    expect(answer).to_contain_text(sku)
    expect(answer).to_contain_text(f"{stock['available']} available")

    low = shop.manager_get(f"/staff/stores/{store_id}/low-stock", limit=10)
    answer = ask(page, "what is running low at my store?")
    rows = answer.locator("table tbody tr")
    if low:
        expect(rows).to_have_count(len(low))
        expect(answer.locator("table thead th")).to_have_count(3)  # the product, available, on hand
        first_cells = rows.locator("td:first-child").all_inner_texts()
        assert {re.search(r"\(([^()]+)\)$", c).group(1) for c in first_cells} == {i["sku"] for i in low}
        for item in low:  # each row: available, on hand, as the order service counts them
            row = rows.filter(has_text=item["sku"])
            expect(row.locator("td")).to_have_text(
                [f"{item['name']} ({item['sku']})", str(item["available"]), str(item["on_hand"])]
            )
    else:
        expect(rows).to_have_count(0)
    shoot(page, "staff-console.png")

    page.locator("#signout").click()
    expect(page.locator("#signin")).to_be_visible()
    expect(page.locator("#notice")).to_have_text("You have signed out.")
    expect(page.locator("#who")).to_be_hidden()
    page.reload()
    expect(page.locator("#signin")).to_be_visible()
    assert not [c for c in page.context.cookies() if c["name"] == "daogou_staff"]
    assert page.errors == []


@pytest.mark.parametrize("page", [{"width": 390, "height": 844}], indirect=True)
def test_chinese_on_a_phone(page: Page, web: str, shop: Shop):
    username, store_id = shop.associate()
    page.goto(web + "/staff/")
    page.locator("#lang").click()
    expect(page.locator("#signin button[type=submit]")).to_have_text("登录")
    sign_in(page, web, username, DEMO_PASSWORDS["associate"])  # the choice is kept across a reload
    expect(page.locator("#who-role")).to_have_text("店员")
    sku = product_sku("Core i9-13900KF")
    answer = ask(page, "本店i9-13900KF还有多少？")
    stock = shop.manager_get(f"/stores/{store_id}/stock/{sku}")
    expect(answer).to_contain_text(sku)
    expect(answer).to_contain_text(f"可售 {stock['available']} 件")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the page scrolls sideways on a phone: {width}px"
    shoot(page, "staff-console-phone-zh.png")
    assert page.errors == []


def test_session_expires_after_idle_time(page: Page, short_web: str, shop: Shop):
    """The page polls the handoff inbox, which does not count as activity: an unattended screen signs
    itself out after the idle time, and the server refuses the old session."""
    username, _ = shop.associate()
    sign_in(page, short_web, username, DEMO_PASSWORDS["associate"])
    expect(page.locator("#chat")).to_be_visible()
    expect(page.locator("#signin")).to_be_visible(timeout=(IDLE_S + 10) * 1000)
    expect(page.locator("#notice")).to_have_text("Your session has expired. Please sign in again.")
    expect(page.locator("#who")).to_be_hidden()
    page.reload()
    expect(page.locator("#signin")).to_be_visible()
    status = page.evaluate(
        "fetch('api/chat', {method: 'POST', headers: {'Content-Type': 'application/json'},"
        " body: JSON.stringify({message: 'hello'})}).then(r => r.status)"
    )
    assert status == 401


class _Attacker(BaseHTTPRequestHandler):
    """A page of another site whose forms post to the console: a plain-text body that reads as JSON, the
    classic way around a JSON-only endpoint."""

    target = ""

    def do_GET(self) -> None:
        action = self.path.lstrip("/") or "chat"
        page = (
            "<!doctype html><form id=f method=POST enctype=text/plain "
            f'action="{self.target}/staff/api/{action}">'
            '<input name=\'{"message":"what is running low at my store?","x":"\' value=\'"}\'>'
            "</form><script>document.getElementById('f').submit()</script>"
        )
        data = page.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def attacker(web: str) -> Iterator[str]:
    handler = type("Attacker", (_Attacker,), {"target": web})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://localhost:{server.server_address[1]}"  # localhost: another site than 127.0.0.1
    server.shutdown()


def test_cross_origin_posts_are_refused(page: Page, web: str, shop: Shop, attacker: str):
    username, _ = shop.associate()
    sign_in(page, web, username, DEMO_PASSWORDS["associate"])
    expect(page.locator("#chat")).to_be_visible()
    for action in ("logout", "chat"):
        with page.expect_response(re.compile(rf"/staff/api/{action}$")) as posted:
            page.goto(f"{attacker}/{action}")
        assert posted.value.status == 403, (action, posted.value.status)
        assert posted.value.json() == {"error": "cross_origin"}
    page.goto(web + "/staff/")  # the forged sign-out did not end the session
    expect(page.locator("#chat")).to_be_visible()
    expect(page.locator(".msg")).to_have_count(0)


# --- the handoff inbox -------------------------------------------------------------------------------


def open_widget(page: Page, web: str) -> None:
    page.goto(web + "/")
    page.locator(".dg-launcher").click()
    expect(page.locator(".dg-panel")).to_be_visible()


def shopper_says(page: Page, text: str) -> None:
    before = page.locator(".dg-bot").count()
    page.locator(".dg-input").fill(text)
    page.locator(".dg-input").press("Enter")
    expect(page.locator(".dg-bot")).not_to_have_count(before, timeout=ANSWER_MS)


def shopper_writes(page: Page, text: str) -> None:
    """Send without waiting for an answer (a person has the conversation: the bot is silent)."""
    before = page.locator(".dg-user").count()
    page.locator(".dg-input").fill(text)
    page.locator(".dg-input").press("Enter")
    expect(page.locator(".dg-user")).to_have_count(before + 1)


def staff_row(shop: Shop, username: str) -> tuple[int, int | None]:
    with sqlite3.connect(shop.database) as db:
        return db.execute("SELECT id, store_id FROM staff_users WHERE username = ?", (username,)).fetchone()


def test_handoff_path_is_internal_and_needs_the_service_credential(shop: Shop, web: str):
    """Rasa's HTTP API is not what the console uses: the console has no token for it, and the internal
    handoff path answers only the service credential."""
    url = f"{shop.rasa_url}/webhooks/handoff/conversations/nobody-{os.getpid()}"
    assert httpx.get(url, timeout=10).status_code == 401
    assert httpx.get(url, headers={"Authorization": "Bearer not-the-token"}, timeout=10).status_code == 401
    posted = httpx.post(url, json={"text": "hi"}, headers={"Authorization": "Bearer wrong"}, timeout=10)
    assert posted.status_code == 401
    known = httpx.get(url, headers={"Authorization": f"Bearer {shop.service_token}"}, timeout=10)
    assert known.status_code == 404  # authorised, and no such conversation


def test_handoff_claimed_answered_in_the_widget_and_handed_back(browser, web: str, shop: Shop):
    contexts = [
        browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US") for _ in range(3)
    ]
    shopper, associate, manager = (c.new_page() for c in contexts)
    errors: list[str] = []
    for p in (shopper, associate, manager):
        p.on("pageerror", lambda e: errors.append(str(e)))
    try:
        username, _ = shop.associate()
        sign_in(associate, web, username, DEMO_PASSWORDS["associate"])  # before the shopper asks
        associate.locator("#tab-inbox").click()
        requests: list[str] = []
        associate.on("request", lambda r: requests.append(r.url))

        open_widget(shopper, web)
        shopper_says(shopper, "can I speak with someone from the store")
        sender_id = shopper.evaluate("window.DaogouWidget.instance.sessionId")
        assert sender_id
        entry = associate.locator(f'#handoffs button[data-id="{sender_id}"]')
        expect(entry).to_be_visible(timeout=5_000)  # pushed (server-sent events), nothing polls
        expect(entry).to_contain_text("waiting")
        entry.click()
        expect(associate.locator("#handoff-log .msg.shopper").first).to_have_text(
            "can I speak with someone from the store"
        )
        associate.locator("#claim").click()
        expect(associate.locator("#handback")).to_be_visible()
        # the shopper sees that a person, named, with their role, has taken over
        expect(shopper.locator(".dg-bot").last).to_contain_text(
            f"{username} (store associate)", timeout=10_000
        )

        sign_in(manager, web, "manager", DEMO_PASSWORDS["manager"])  # a second claim is refused
        manager.locator("#tab-inbox").click()
        manager.locator(f'#handoffs button[data-id="{sender_id}"]').click()
        expect(manager.locator("#handoff-state")).to_contain_text(f"claimed by {username}")
        expect(manager.locator("#claim")).to_be_hidden()
        refused = httpx.post(
            f"{web}/staff/api/handoffs/{sender_id}/claim",
            json={},
            headers={
                "Origin": web,
                "X-CSRF-Token": manager.evaluate(
                    "fetch('api/session').then(r => r.json()).then(b => b.csrf)"
                ),
                "Cookie": "; ".join(f"{c['name']}={c['value']}" for c in contexts[2].cookies()),
            },
            timeout=10,
        )
        assert (refused.status_code, refused.json().get("claimed_by")) == (409, username)

        reply = "Hello, this is the store. Which size do you need?"
        associate.locator("#handoff-message").fill(reply)
        associate.locator("#handoff-message").press("Enter")
        expect(shopper.locator(".dg-bot").last).to_contain_text(reply, timeout=10_000)
        expect(shopper.locator(".dg-bot").last).to_contain_text(username)  # a person, named, is writing
        bot_lines = shopper.locator(".dg-bot").count()
        shopper_writes(shopper, "a 15 inch one please")
        expect(associate.locator("#handoff-log .msg.shopper").last).to_have_text(
            "a 15 inch one please", timeout=5_000
        )  # pushed to the associate's screen
        asked = len(requests)
        shopper.wait_for_timeout(4_000)
        assert shopper.locator(".dg-bot").count() == bot_lines  # the bot stays silent: a person answers
        assert requests[asked:] == []  # the console page does not poll meanwhile
        shoot(associate, "staff-console-handoff.png")

        associate.locator("#handback").click()
        expect(associate.locator(f'#handoffs button[data-id="{sender_id}"]')).to_have_count(0, timeout=10_000)
        expect(shopper.locator(".dg-bot").last).to_contain_text("assistant", timeout=10_000)
        shopper_says(shopper, "an AMD CPU under $300")  # the bot answers again
        expect(shopper.locator(".dg-bot .dg-card").first).to_be_visible(timeout=ANSWER_MS)
        assert errors == []

        # every step is in the order service's audit, with the associate and their store
        staff_id, store_id = staff_row(shop, username)
        audited = shop.manager_get("/staff/actions", staff_id=staff_id, limit=50)
        steps = [(a["action"], a["object"]) for a in audited if a["object"] == f"conversation:{sender_id}"]
        assert steps == [
            ("handoff_hand_back", f"conversation:{sender_id}"),
            ("handoff_reply", f"conversation:{sender_id}"),
            ("handoff_claim", f"conversation:{sender_id}"),
        ]
        assert {(a["username"], a["store_id"]) for a in audited} == {(username, store_id)}
        assert "sign_in" in {a["action"] for a in audited}
    finally:
        for c in contexts:
            c.close()


# --- the store's work from the page -------------------------------------------------------------------


def service_call(shop: Shop, method: str, path: str, customer_id: str | None = None, **kw) -> dict:
    headers = {"Authorization": f"Bearer {shop.service_token}"}
    if customer_id:
        headers["X-Customer-Id"] = customer_id
    r = httpx.request(
        method, f"{shop.orders_url}{path}", headers={**headers, **kw.pop("headers", {})}, timeout=10, **kw
    )
    assert r.status_code in (200, 201), r.text
    return r.json()


def test_pickup_marked_ready_from_the_page_tells_the_shopper(browser, web: str, shop: Shop):
    """A confirmed pick-up order placed in the shopper's widget conversation: the associate marks it ready
    on the Store tab; the order service has it ready and audited, and the shopper reads it in the widget."""
    username, store_id = shop.associate()
    with sqlite3.connect(shop.database) as db:
        sku = db.execute(
            "SELECT sku FROM stock_levels WHERE location_id = ? AND on_hand - reserved > 0 ORDER BY sku LIMIT 1",
            (store_id,),
        ).fetchone()[0]
    contexts = [
        browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US") for _ in range(2)
    ]
    shopper, associate = (c.new_page() for c in contexts)
    try:
        open_widget(shopper, web)
        shopper_says(shopper, "hello")
        sender_id = shopper.evaluate("window.DaogouWidget.instance.sessionId")
        customer_id = service_call(
            shop, "POST", "/customers/resolve", json={"channel": "web", "external_id": sender_id}
        )["customer_id"]
        order = service_call(
            shop,
            "POST",
            "/orders",
            customer_id,
            json={
                "lines": [{"sku": sku, "quantity": 1}],
                "fulfilment": "pickup",
                "store_id": store_id,
                "conversation_id": sender_id,
            },
            headers={"Idempotency-Key": f"pickup-test-{sender_id}"},
        )
        service_call(shop, "POST", f"/orders/{order['id']}/confirm", customer_id)
        store_name = shop.manager_get(f"/stores/{store_id}")["name"]

        sign_in(associate, web, username, DEMO_PASSWORDS["associate"])
        associate.locator("#tab-store").click()
        row = associate.locator(f'#pickups li[data-order="{order["id"]}"]')
        expect(row).to_be_visible(timeout=10_000)
        row.locator("button").click()
        expect(associate.locator("#notice")).to_have_text(
            f"Order #{order['id']} is ready for pick-up. The shopper has been told.", timeout=10_000
        )
        expect(row).to_have_count(0)
        told = shopper.locator(".dg-bot").last
        expect(told).to_contain_text(f"#{order['id']}", timeout=10_000)
        expect(told).to_contain_text(store_name)

        assert shop.manager_get(f"/staff/orders/{order['id']}")["status"] == "ready_for_pickup"
        staff_id, _ = staff_row(shop, username)
        audited = shop.manager_get("/staff/actions", staff_id=staff_id, action="order_status")
        assert {"from": "confirmed", "to": "ready_for_pickup"} in [
            a["detail"] for a in audited if a["object"] == f"order:{order['id']}"
        ]
    finally:
        for c in contexts:
            c.close()


def test_suggested_transfer_confirmed_from_the_page(page: Page, web: str, shop: Shop):
    """The Store tab lists the order service's transfer suggestions for the associate's store; confirming
    the first moves that stock (both ledger rows) and is audited."""
    username, store_id = shop.associate()
    token = shop.token(username, DEMO_PASSWORDS["associate"])
    suggested = httpx.get(
        f"{shop.orders_url}/staff/stores/{store_id}/transfer-suggestions",
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    ).json()
    if not suggested:
        pytest.skip(f"the demo data suggests no transfer for store {store_id}")
    first = suggested[0]
    sign_in(page, web, username, DEMO_PASSWORDS["associate"])
    page.locator("#tab-store").click()
    row = page.locator("#transfers li").first
    expect(row).to_contain_text(first["sku"], timeout=30_000)
    expect(row).to_contain_text(f"{first['quantity']} ×")
    row.locator("button").click()
    expect(page.locator("#notice")).to_contain_text("Transfer", timeout=10_000)
    ref = page.locator("#notice").text_content().split()[1]

    moves = shop.manager_get("/staff/movements", location_id=store_id, sku=first["sku"], limit=5)
    mine = [m for m in moves if m["transfer_ref"] == ref]
    assert [(m["kind"], m["quantity"]) for m in mine] == [("transfer_in", first["quantity"])]
    staff_id, _ = staff_row(shop, username)
    confirmed = shop.manager_get("/staff/actions", staff_id=staff_id, action="transfer_confirm")
    assert confirmed and confirmed[0]["object"] == f"transfer:{ref}"
    assert confirmed[0]["detail"]["sku"] == first["sku"]
