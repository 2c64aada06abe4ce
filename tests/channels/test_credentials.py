"""bot/credentials.yml must serve shoppers only through channels that control metadata.

The actions trust ``metadata.customer_id`` and ``metadata.staff`` (actions.common.identity). Rasa's
built-in ``rest`` and ``socketio`` channels pass client metadata through untouched, so with either of
them enabled a shopper could act as another customer by sending ``{"customer_id": ...}``; the built-in
``socketio`` also loses every reply with session persistence (see bot/channels/web.py).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from rasa.core.run import create_http_input_channels

CREDENTIALS = Path(__file__).resolve().parents[2] / "bot" / "credentials.yml"
UNSAFE = {
    "rest",
    "socketio",
    "rasa.core.channels.rest.RestInput",
    "rasa.core.channels.socketio.SocketIOInput",
}


@pytest.fixture
def channels(monkeypatch):
    # the values `daogou config --env` exports; empty ones are what a shop without WeChat has
    for name in (
        "WECHAT_TOKEN",
        "WECHAT_ENCODING_AES_KEY",
        "WECHAT_APP_ID",
        "WECHAT_APP_SECRET",
        "WECHAT_PRODUCT_URL_TEMPLATE",
        "SERVICE_TOKEN",
        "REST_CHANNEL_TOKEN",
        "WEB_SESSION_SECRET",
    ):
        monkeypatch.setenv(name, "")
    monkeypatch.setenv("WECHAT_API_BASE", "https://api.weixin.qq.com")
    for name, value in (
        ("CHANNEL_RATE_LIMIT", "5 per 10 seconds; 30 per minute"),
        ("CHANNEL_ADDRESS_RATE_LIMIT", "20 per 10 seconds; 120 per minute"),
        ("RATE_LIMIT_EXEMPT", "127.0.0.1,::1"),
        ("MAX_MESSAGE_CHARS", "2000"),
        ("REDIS_URL", ""),
    ):
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("ORDER_SERVICE_URL", "http://127.0.0.1:8000")
    return create_http_input_channels(None, str(CREDENTIALS))


def test_no_channel_passes_client_metadata_through(channels):
    import yaml

    configured = set((yaml.safe_load(CREDENTIALS.read_text()) or {}).keys())
    assert not configured & UNSAFE, (
        f"replace {sorted(configured & UNSAFE)} in bot/credentials.yml by bot.channels.* (docs/channels.md)"
    )
    modules = {type(c).__module__ for c in channels}
    assert modules <= {
        "bot.channels.web",
        "bot.channels.rest",
        "bot.channels.staff",
        "bot.channels.wechat",
        "bot.channels.handoff",  # the handoff desk's internal path: service credential, no shopper input
    }, modules
    assert "bot.channels.web" in modules  # the widget's channel
