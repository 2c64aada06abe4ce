"""A Rasa-shaped server for the widget's browser tests (runs in .venv-rasa).

It serves bot/web (the demo shop page and the built widget) and the real socket.io channel
(``bot.channels.web.WebChatInput``), registered the way ``rasa run`` registers channels. Behind the channel
is a scripted agent instead of a trained model, so the tests control what comes back: product cards in
the shape actions/products.py sends them, quick replies, a slow answer, an echo. The end-to-end test
against the real stack is tests/browser/test_stack_widget.py.

    .venv-rasa/bin/python tests/browser/widget_server.py --port 5099
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from rasa.core.channels.channel import UserMessage, register  # noqa: E402
from sanic import Sanic, response  # noqa: E402

from bot.channels.web import WebChatInput  # noqa: E402

WEB = ROOT / "bot" / "web"
PRODUCTS = [
    {
        "sku": "6501",
        "name": "AMD Ryzen 5 7600X",
        "brand": "AMD",
        "kind": "CPU",
        "price": 170.49,
        "price_text": "$170.49",
        "specs": [
            {"name": "cores", "value": "6"},
            {"name": "boost clock", "value": "5.3 GHz"},
            {"name": "socket", "value": "AM5"},
        ],
        "image": "/widget/none.png",
        "url": "https://shop.example/p/6501",
    },
    {
        "sku": "6502",
        "name": "AMD Ryzen 7 7700X",
        "brand": "AMD",
        "kind": "CPU",
        "price": 249.0,
        "price_text": "$249.00",
        "specs": [{"name": "cores", "value": "8"}, {"name": "socket", "value": "AM5"}],
        "image": None,
        "url": None,
    },
    {
        "sku": "6503",
        "name": "AMD Ryzen 5 5600",
        "brand": "AMD",
        "kind": "CPU",
        "price": 99.0,
        "price_text": "$99.00",
        "specs": [{"name": "cores", "value": "6"}, {"name": "socket", "value": "AM4"}],
        "image": None,
        "url": None,
    },
]


def card(product: dict) -> dict:
    sku = json.dumps({"sku": product["sku"]})
    return dict(
        product,
        currency="USD",
        buttons=[
            {"title": "Details", "payload": f"/product_details{sku}"},
            {"title": "Similar", "payload": f"/show_similar{sku}"},
        ],
    )


class ScriptedAgent:
    def __init__(self) -> None:
        self.log = []

    async def handle_message(self, message: UserMessage) -> None:
        text, out, to = message.text or "", message.output_channel, message.sender_id
        self.log.append({"text": text, "sender_id": to, "metadata": message.metadata})
        sku = re.search(r'"sku"\s*:\s*"([^"]+)"', text)
        by_sku = {p["sku"]: p for p in PRODUCTS}
        if text.startswith("/product_details") and sku and sku.group(1) in by_sku:
            product = by_sku[sku.group(1)]
            await out.send_response(to, {"text": f"{product['name']}: details below."})
            await out.send_response(to, {"custom": {"type": "product_cards", "products": [card(product)]}})
        elif text.startswith("/add_to_cart") and sku and sku.group(1) in by_sku:
            await out.send_response(to, {"text": f"Added {by_sku[sku.group(1)]['name']} to your cart."})
        elif re.search(r"(?i)cpu|处理器", text):
            await asyncio.sleep(0.8)  # long enough to see the typing indicator
            await out.send_response(to, {"text": "Here are AMD CPUs under $300:"})
            await out.send_response(
                to, {"custom": {"type": "product_cards", "products": [card(p) for p in PRODUCTS]}}
            )
        elif re.search(r"(?i)help|帮助", text):
            await out.send_response(
                to,
                {
                    "text": "What would you like?",
                    "buttons": [
                        {"title": "CPUs", "payload": "show me a cpu"},
                        {"title": "Returns", "payload": "returns"},
                    ],
                },
            )
        else:
            await out.send_response(to, {"text": f"You said: {text} — see https://shop.example/help"})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    app = Sanic("widget_test_server")
    app.config.GRACEFUL_SHUTDOWN_TIMEOUT = 0.5
    agent = ScriptedAgent()
    app.ctx.agent = agent
    register([WebChatInput.from_credentials({"session_persistence": True})], app, "/webhooks/")

    @app.get("/")
    async def index(_):
        return await response.file(str(WEB / "index.html"))

    @app.get("/config.js")
    async def config_js(request):
        rasa = f"http://127.0.0.1:{args.port}"
        return response.text(
            f"window.DAOGOU_CONFIG = {json.dumps({'rasaUrl': rasa})};", content_type="text/javascript"
        )

    @app.get("/test/log")
    async def log(_):
        return response.json(agent.log)

    app.static("/widget", str(WEB / "widget"))
    print(f"widget test server on {args.port}", flush=True)
    app.run(host="127.0.0.1", port=args.port, access_log=False, motd=False)


if __name__ == "__main__":
    main()
