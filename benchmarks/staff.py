"""bench-staff: how fast a person's reply in the staff console reaches the shopper's widget (issue 20).

`handoff_delivery_p95_ms` (target ≤ 500): the stack of the Procfile on free ports
(tests/conversations/stack.py: order service, action server, Rasa), the web server
(`python -m ops.web`, which serves the shop page with the widget and the staff console) in front of
it, and Debian's Chromium (Playwright) as the shopper. The shopper asks the widget for a person; a store
associate signs in to the console over HTTP, claims the conversation and sends BENCH_STAFF_REPLIES
replies (default 40), one at a time. Each is timed from just before the console's POST leaves to the
moment a MutationObserver in the shopper's page sees it in the widget (both clocks are this machine's).
The path measured: console → the Rasa server's internal handoff path (bot/channels/handoff.py, service
credential; the console has no Rasa HTTP API token, as under `make run`) → socket.io → the widget. The
console's own POST round trip is reported beside it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

import httpx

from benchmarks.common import percentile, write_result
from daogou.config import ROOT

REPLIES = int(os.environ.get("BENCH_STAFF_REPLIES", "40"))
ASK_FOR_A_PERSON = "can I speak with someone from the store"
# Records when each marked reply first shows in the widget, by its number.
OBSERVER_JS = """() => {
  window.__seen = {};
  const scan = () => {
    for (const el of document.querySelectorAll('.dg-bot')) {
      const m = /\\[m(\\d+)\\]/.exec(el.textContent || '');
      if (m && !(m[1] in window.__seen)) window.__seen[m[1]] = Date.now();
    }
  };
  new MutationObserver(scan).observe(document.body, {childList: true, subtree: true, characterData: true});
}"""


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def web_server(orders_url: str, rasa_url: str, port: int, **settings: str) -> Iterator[str]:
    """`python -m ops.web` (shop page, widget, staff console) in front of a stack, without Rasa's HTTP
    API token (the default configuration); yields its URL."""
    env = {
        **os.environ,
        "HOST": "127.0.0.1",
        "WEB_PORT": str(port),
        "RASA_PORT": str(urlsplit(rasa_url).port),
        "ORDER_SERVICE_URL": orders_url,
        "RASA_API_TOKEN": "",
        **settings,
    }
    with tempfile.TemporaryFile("w+") as log:
        proc = subprocess.Popen(
            [str(ROOT / ".venv/bin/python"), "-m", "ops.web"], cwd=ROOT, env=env, stdout=log, stderr=log
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.seek(0)
                    raise RuntimeError("web server did not start: " + log.read()[-3000:])
                time.sleep(0.2)
            yield f"http://127.0.0.1:{port}"
        finally:
            proc.terminate()
            proc.wait(timeout=15)


def first_associate(database) -> tuple[str, int]:
    import sqlite3

    with sqlite3.connect(database) as db:
        return db.execute(
            "SELECT username, store_id FROM staff_users WHERE role = 'associate' AND active "
            "ORDER BY store_id LIMIT 1"
        ).fetchone()


def measure(web: str, database) -> dict:
    from playwright.sync_api import sync_playwright

    from demo.shop import DEMO_PASSWORDS
    from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        page = browser.new_page()
        page.goto(web + "/")
        page.locator(".dg-launcher").click()
        page.locator(".dg-input").fill(ASK_FOR_A_PERSON)
        page.locator(".dg-input").press("Enter")
        page.locator(".dg-bot").first.wait_for(timeout=60_000)
        sender = page.evaluate("window.DaogouWidget.instance.sessionId")
        page.evaluate(OBSERVER_JS)

        username, _ = first_associate(database)
        console = httpx.Client(base_url=web + "/staff/api", headers={"Origin": web}, timeout=30)
        r = console.post("/login", json={"username": username, "password": DEMO_PASSWORDS["associate"]})
        r.raise_for_status()
        console.headers["X-CSRF-Token"] = r.json()["csrf"]
        deadline = time.monotonic() + 30
        while sender not in [h["id"] for h in console.get("/handoffs").json()["handoffs"]]:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the handoff of {sender} never reached the inbox")
            time.sleep(0.3)
        console.post(f"/handoffs/{sender}/claim", json={}).raise_for_status()

        delivery, roundtrip = [], []
        for i in range(REPLIES):
            sent = time.time() * 1000
            r = console.post(f"/handoffs/{sender}/reply", json={"message": f"[m{i}] a reply from the store"})
            roundtrip.append(time.time() * 1000 - sent)
            r.raise_for_status()
            page.wait_for_function(f"window.__seen && window.__seen['{i}'] !== undefined", timeout=10_000)
            delivery.append(page.evaluate(f"window.__seen['{i}']") - sent)
        console.post(f"/handoffs/{sender}/hand-back", json={}).raise_for_status()
        browser.close()
    return {"delivery_ms": delivery, "roundtrip_ms": roundtrip}


def main() -> None:
    from tests.conversations.stack import live_stack

    web_port = free_port()
    os.environ["SHOP_ORIGINS"] = f"http://127.0.0.1:{web_port}"  # the widget's page may call Rasa
    train = os.environ.get("CONVERSATIONS_SKIP_TRAIN", "") in ("", "0", "false")
    load_before = os.getloadavg()
    with live_stack(train=train) as stack:
        with web_server(stack.orders_url, stack.rasa_url, web_port) as web:
            samples = measure(web, stack.database)
    delivery, roundtrip = samples["delivery_ms"], samples["roundtrip_ms"]
    metrics = {
        "handoff_delivery_p95_ms": round(percentile(delivery, 95), 1),
        "handoff_delivery_p50_ms": round(percentile(delivery, 50), 1),
        "handoff_delivery_max_ms": round(max(delivery), 1),
        "console_post_p95_ms": round(percentile(roundtrip, 95), 1),
        "replies": len(delivery),
    }
    write_result(
        "staff",
        metrics,
        {
            "method": "replies from the staff console (HTTP) to the shopper's widget in headless Chromium, "
            "one at a time, timed from before the POST to a MutationObserver seeing the text; "
            "console -> Rasa's internal handoff path (bot utterance on the shopper's channel) -> socket.io -> widget",
            "load_average_before": load_before,
            "load_average_after": os.getloadavg(),
            "delivery_ms": [round(x, 1) for x in delivery],
        },
    )


if __name__ == "__main__":
    main()
