"""A stand-in for WeChat's API on a free local port, speaking the protocol of the one the channel tests
use (tests/channels/conftest.py `Outside`: GET /cgi-bin/token, POST /cgi-bin/message/custom/send,
errcode 42001 for an expired token), on the standard library's threaded HTTP server because the
application environment has no aiohttp. It records every message it accepted; `fail_next` makes the
next sends answer WeChat's "system busy" (-1) and `refuse` answers a given errcode for an openid."""

from __future__ import annotations

import json
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

APP_ID, APP_SECRET = "wx-test-app", "app-secret"


@dataclass
class WeChatStandIn:
    url: str = ""
    token_requests: int = 0
    expire_first_token: bool = False
    fail_next: int = 0
    refuse: dict[str, int] = field(default_factory=dict)
    sent: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def texts_to(self, openid: str) -> list[str]:
        with self.lock:
            return [
                m.get("text", {}).get("content") or m["msgmenu"]["head_content"]
                for m in self.sent
                if m["touser"] == openid
            ]

    def per_user(self) -> Counter[str]:
        with self.lock:
            return Counter(m["touser"] for m in self.sent)

    def answer(self, method: str, path: str, query: dict[str, str], body: bytes) -> dict[str, Any]:
        with self.lock:
            if method == "GET" and path == "/cgi-bin/token":
                self.token_requests += 1
                if query.get("appid") != APP_ID or query.get("secret") != APP_SECRET:
                    return {"errcode": 40013, "errmsg": "invalid appid"}
                return {"access_token": f"tok-{self.token_requests}", "expires_in": 7200}
            if method == "POST" and path == "/cgi-bin/message/custom/send":
                token = query.get("access_token", "")
                if self.expire_first_token and token == "tok-1":
                    return {"errcode": 42001, "errmsg": "access_token expired"}
                if not token.startswith("tok-"):
                    return {"errcode": 40001, "errmsg": "invalid credential"}
                message = json.loads(body)
                if message["touser"] in self.refuse:
                    return {"errcode": self.refuse[message["touser"]], "errmsg": "refused"}
                if self.fail_next > 0:
                    self.fail_next -= 1
                    return {"errcode": -1, "errmsg": "system error"}
                self.sent.append(message)
                return {"errcode": 0, "errmsg": "ok"}
            return {"errcode": 404, "errmsg": "no such endpoint"}


def serve(standin: WeChatStandIn, port: int = 0) -> ThreadingHTTPServer:
    """Start the stand-in in a daemon thread; `server.shutdown()` stops it."""

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self) -> None:
            super().setup()
            # headers and body leave in separate writes: without this, Nagle's algorithm holds the body
            # for the client's delayed ACK (40 ms a request on Linux)
            self.request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

        def _reply(self, method: str) -> None:
            parsed = urlparse(self.path)
            query = {k: v[0] for k, v in parse_qs(parsed.query).items()}
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            data = json.dumps(standin.answer(method, parsed.path, query, body)).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            self._reply("GET")

        def do_POST(self) -> None:  # noqa: N802
            self._reply("POST")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    standin.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
