"""Headless Chromium (Debian's package, /usr/bin/chromium: Playwright never downloads a browser here)
driven by Playwright for Python, against the widget test server or the running stack."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
REQUIRE = os.environ.get("DAOGOU_REQUIRE_SERVICES", "") not in ("", "0", "false")
WIDGET_JS = ROOT / "bot" / "web" / "widget" / "daogou-widget.js"
# Flags for a root user on a machine without a network beyond the package registries.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def _missing(reason: str) -> None:
    if REQUIRE:
        pytest.fail(reason + " (DAOGOU_REQUIRE_SERVICES=1 makes it mandatory)")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.3)
        return s.connect_ex(("127.0.0.1", port)) == 0


# Module scope, not session: Playwright's sync API keeps an event loop running in the main thread
# while it is open, and every async test collected after the browser tests would fail on it.
@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        _missing(f"{CHROMIUM} not found: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    profile = tempfile.mkdtemp(prefix="daogou-chromium-")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()
    shutil.rmtree(profile, ignore_errors=True)


class WidgetServer:
    """tests/browser/widget_server.py in the Rasa environment; can be stopped and started again on the
    same port (a server restart, as far as the widget can tell)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "RASA_TELEMETRY_ENABLED": "false"}
        self.log = open(tempfile.mktemp(prefix="widget-server-", suffix=".log"), "w")
        self.proc = subprocess.Popen(
            [
                str(ROOT / ".venv-rasa/bin/python"),
                str(ROOT / "tests/browser/widget_server.py"),
                "--port",
                str(self.port),
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while not port_open(self.port):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(
                    "widget server did not start: " + Path(self.log.name).read_text()[-3000:]
                )
            time.sleep(0.3)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def received(self) -> list:
        import httpx

        return httpx.get(self.url + "/test/log", timeout=5).json()


@pytest.fixture(scope="module")
def widget_server():
    if not WIDGET_JS.exists():
        _missing("widget not built: bash widget/build.sh")
    if not (ROOT / ".venv-rasa/bin/python").exists():
        _missing("the Rasa environment .venv-rasa is not installed")
    server = WidgetServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def page(browser, request):
    viewport = getattr(request, "param", None) or {"width": 1280, "height": 800}
    context = browser.new_context(viewport=viewport, locale="en-US")
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda e: errors.append(str(e)))
    pg.errors = errors
    yield pg
    context.close()
