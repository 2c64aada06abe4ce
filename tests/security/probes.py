"""What an outsider tries against a running Daogou (issue 16): Rasa's administrative routes, CORS from a
foreign page, and a hand-made call to the action server. Shared by tests/security and
`make bench-security` (benchmarks/security.py), so both count the same doors."""

from __future__ import annotations

import http.client
import json
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx

FOREIGN_ORIGIN = "https://attacker.example"
REFUSED = frozenset({401, 403, 404, 405})


def admin_routes(sender: str) -> list[tuple[str, str, Any]]:
    """(method, path, JSON body) of every route of Rasa's HTTP API that reads or changes a
    conversation, the model, the domain or the server's status (rasa/server.py, Rasa 3.6)."""
    conversation = f"/conversations/{sender}"
    return [
        ("GET", "/status", None),
        ("GET", "/domain", None),
        ("GET", f"{conversation}/tracker", None),
        ("POST", f"{conversation}/tracker/events", {"event": "slot", "name": "cart", "value": []}),
        ("PUT", f"{conversation}/tracker/events", []),
        ("GET", f"{conversation}/story", None),
        ("POST", f"{conversation}/execute", {"name": "action_restart"}),
        ("POST", f"{conversation}/trigger_intent", {"name": "greet"}),
        ("POST", f"{conversation}/predict", None),
        ("POST", f"{conversation}/messages", {"text": "hello", "sender": "user"}),
        ("POST", "/model/parse", {"text": "hello"}),
        ("POST", "/model/predict", []),
        ("POST", "/model/train", {}),
        ("POST", "/model/test/stories", None),
        ("POST", "/model/test/intents", None),
        ("PUT", "/model", {"model_file": "models"}),
        ("DELETE", "/model", None),
    ]


def disguised(path: str) -> list[str]:
    """The same route behind a channel prefix, as a balancer that routes by prefix might be fooled."""
    return [f"/webhooks/rest/..{path}", f"/webhooks/%2e%2e{path}", f"/socket.io/..{path}"]


@dataclass
class Door:
    what: str
    status: int

    @property
    def open(self) -> bool:
        return self.status not in REFUSED


def call(
    base_url: str, method: str, path: str, body: Any = None, params: dict[str, str] | None = None
) -> int:
    """The status of one raw request: http.client sends the path exactly as written (httpx would
    resolve its dot segments before sending)."""
    parts = urlsplit(base_url)
    target = path + (f"?{urlencode(params)}" if params else "")
    payload = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if payload is not None else {}
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
    try:
        connection.request(method, target, body=payload, headers=headers)
        return connection.getresponse().status
    finally:
        connection.close()


def rasa_doors(base_url: str, sender: str, params: dict[str, str] | None = None) -> list[Door]:
    """Every administrative route from `base_url`, plainly and disguised, with the query `params`
    an attacker sends (none, a guessed token)."""
    return [
        Door(f"{method} {variant}", call(base_url, method, variant, body, params))
        for method, path, body in admin_routes(sender)
        for variant in [path, *disguised(path)]
    ]


def cors_allows(url: str, origin: str) -> bool:
    """Would a browser on `origin` be allowed to read the answer (preflight or simple request)?"""
    with httpx.Client(timeout=30, trust_env=False) as client:
        preflight = client.options(
            url,
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type",
            },
        )
        simple = client.get(url, headers={"Origin": origin})
    allowed = {r.headers.get("access-control-allow-origin") for r in (preflight, simple)}
    return bool(allowed & {origin, "*"})


def crafted_action_call(victim_customer: str, action: str = "action_order_status") -> dict[str, Any]:
    """A hand-made action call: another customer named in the message metadata (issue 16)."""
    sender = f"attacker-{uuid.uuid4().hex[:8]}"
    message = {
        "text": "where is my order?",
        "intent": {"name": "order_status", "confidence": 1.0},
        "entities": [],
        "metadata": {"customer_id": victim_customer},
    }
    return {
        "next_action": action,
        "sender_id": sender,
        "version": "3.6.0",
        "domain": {"slots": {}, "responses": {}, "intents": [], "entities": [], "actions": [action]},
        "tracker": {
            "sender_id": sender,
            "slots": {},
            "latest_message": message,
            "events": [
                {
                    "event": "user",
                    "text": message["text"],
                    "parse_data": message,
                    "metadata": message["metadata"],
                }
            ],
            "paused": False,
            "followup_action": None,
            "active_loop": {},
            "latest_action_name": "action_listen",
        },
    }


def action_webhook_status(actions_url: str, body: dict[str, Any], token: str | None = None) -> int:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    with httpx.Client(timeout=30, trust_env=False) as client:
        return client.post(f"{actions_url}/webhook", json=body, headers=headers).status_code


def chat(base_url: str, sender: str, text: str) -> list[dict[str, Any]]:
    with httpx.Client(timeout=60, trust_env=False) as client:
        reply = client.post(f"{base_url}/webhooks/rest/webhook", json={"sender": sender, "message": text})
    reply.raise_for_status()
    return reply.json()
