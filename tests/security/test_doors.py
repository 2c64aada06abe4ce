"""Issue 16, the open doors, tried from outside over real HTTP against running stacks: Rasa's
administrative routes (conversations, events, execute, domain, status, model) are refused from the
public port, CORS allows no foreign origin, and a hand-made call to the action server without the
credential Rasa presents is refused (401) and runs nothing."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.security.probes import (
    FOREIGN_ORIGIN,
    action_webhook_status,
    admin_routes,
    cors_allows,
    crafted_action_call,
    rasa_doors,
)

pytestmark = [pytest.mark.slow, pytest.mark.stack]


def shop_origin(stack) -> str:
    """The chat page's origin, from the port the stack gave it."""
    return f"http://{stack.host}:{stack.env['WEB_PORT']}"


def command_line(pid: int) -> list[str]:
    return Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0")


def other_address() -> str | None:
    """An address of this machine that is not loopback (None when it has none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: nothing is sent
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def accepts(address: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((address, port)) == 0


# --- the single stack, as `make run` starts it ------------------------------------------------------


def test_rasa_runs_without_its_http_api_by_default(shop):
    argv = command_line(shop.rasa[0].pid)
    assert "bot.server" in argv, argv  # the Rasa server itself (deploy.rasa replaced itself with it)
    assert "--enable-api" not in argv and "*" not in argv, argv


def test_no_administrative_route_from_the_public_port(shop):
    opened = [d for d in rasa_doors(shop.rasa_url, shop.victim) if d.open]
    assert not opened, opened
    guessed = [d for d in rasa_doors(shop.rasa_url, shop.victim, {"token": "dev-action-token"}) if d.open]
    assert not guessed, guessed


def test_cors_allows_the_shop_and_no_foreign_origin(shop):
    for path in ("/webhooks/rest/webhook", "/socket.io/?EIO=4&transport=polling"):
        url = f"{shop.rasa_url}{path}"
        assert not cors_allows(url, FOREIGN_ORIGIN), path
        assert cors_allows(url, shop_origin(shop)), path  # the chat page still works


def test_crafted_action_call_without_credential_is_refused(shop):
    body = crafted_action_call(victim_customer="1")
    assert action_webhook_status(shop.actions_url, body) == 401
    assert action_webhook_status(shop.actions_url, body, token="dev-service-token") == 401
    # With Rasa's credential the call reaches rasa-sdk, which knows no such action: the check lets
    # exactly the credential through (no action runs in this test).
    probe = crafted_action_call(victim_customer="1", action="action_that_does_not_exist")
    assert action_webhook_status(shop.actions_url, probe, token=shop.action_server_token) == 404


def test_action_server_listens_on_the_internal_interface_only(shop):
    address = other_address()
    if address is None:
        pytest.skip("this machine has no address besides loopback")
    port = shop.actions[0].port
    assert accepts(shop.internal_host, port)
    assert not accepts(address, port), f"the action server answers on {address}:{port}"


# --- the scale-out deployment, Rasa's API on for operations ------------------------------------------


def test_balancer_routes_no_administrative_route_even_with_the_token(scaled):
    token = {"token": scaled.rasa_api_token}
    assert not [d for d in rasa_doors(scaled.rasa_url, scaled.victim) if d.open]
    assert not [d for d in rasa_doors(scaled.rasa_url, scaled.victim, token) if d.open]


def test_api_on_a_rasa_server_port_answers_only_its_token(scaled):
    for i in range(len(scaled.rasa)):
        internal = scaled.instance_url(i)
        assert not [d for d in rasa_doors(internal, scaled.victim) if d.open]
        assert not [d for d in rasa_doors(internal, scaled.victim, {"token": "guess"}) if d.open]
    # operations, with the token, on a server's own port: the conversation is there
    import httpx

    method, path, _ = admin_routes(scaled.victim)[2]
    assert (method, path.rsplit("/", 1)[-1]) == ("GET", "tracker")
    reply = httpx.get(
        f"{scaled.instance_url(0)}{path}",
        params={"token": scaled.rasa_api_token},
        trust_env=False,
        timeout=30,
    )
    assert reply.status_code == 200
    said = [e.get("text") for e in reply.json()["events"] if e["event"] == "user"]
    assert said == ["hello", "an AMD CPU under $300"], said


def test_balancer_cors_allows_no_foreign_origin(scaled):
    url = f"{scaled.rasa_url}/webhooks/rest/webhook"
    assert not cors_allows(url, FOREIGN_ORIGIN)
    assert cors_allows(url, shop_origin(scaled))


def test_crafted_action_call_refused_by_every_action_server(scaled):
    body = crafted_action_call(victim_customer="1")
    fronts = [scaled.actions_url, *(f"http://{scaled.internal_host}:{p.port}" for p in scaled.actions)]
    assert [action_webhook_status(url, body) for url in fronts] == [401] * len(fronts)
    probe = crafted_action_call(victim_customer="1", action="action_that_does_not_exist")
    assert action_webhook_status(scaled.actions_url, probe, token=scaled.action_server_token) == 404
