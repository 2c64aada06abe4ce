"""Stacks for the tests from outside: the single stack as `make run` configures it, and the scale-out
deployment (nginx in front of two Rasa and two action servers) with Rasa's HTTP API on for operations.
The model and the prepared state are the reliability tests' fixtures."""

from __future__ import annotations

import os
import secrets

import pytest

from deploy.stack import Stack, nginx_binary
from tests.reliability.conftest import fresh_state, prepared_state, rasa_model  # noqa: F401 (fixtures)
from tests.security.probes import chat

REQUIRE_SERVICES = os.environ.get("DAOGOU_REQUIRE_SERVICES", "") not in ("", "0", "false")


def _with_a_conversation(stack: Stack, base_url: str) -> str:
    """A conversation with a search in it, started through the REST channel (the doors are tried on
    a conversation that exists, so a refusal is not just "no such conversation")."""
    sender = f"victim-{secrets.token_hex(6)}"
    assert chat(base_url, sender, "hello")
    assert chat(base_url, sender, "an AMD CPU under $300")
    return sender


def running(stack: Stack):
    """Start `stack`, open a conversation on its public port, yield it, stop every process it started."""
    try:
        stack.start()
        stack.victim = _with_a_conversation(stack, stack.rasa_url)
        yield stack
    finally:
        stack.close()


@pytest.fixture(scope="module")
def shop(rasa_model, prepared_state, tmp_path_factory):  # noqa: F811
    """The single stack in its default configuration (no settings given: what `make run` starts)."""
    yield from running(Stack(fresh_state(prepared_state, tmp_path_factory.mktemp("doors")), rasa_model))


@pytest.fixture(scope="module")
def scaled(rasa_model, prepared_state, tmp_path_factory):  # noqa: F811
    """nginx in front of two Rasa servers and two action servers, Rasa's API on with a token (what an
    operator runs). One SQLite tracker store and in-memory locks are enough for these tests."""
    if nginx_binary() is None:
        message = "nginx is not installed (apt-get install nginx)"
        if REQUIRE_SERVICES:
            pytest.fail(message + " and DAOGOU_REQUIRE_SERVICES=1 makes it mandatory")
        pytest.skip(message)
    yield from running(
        Stack(
            fresh_state(prepared_state, tmp_path_factory.mktemp("doors-scaled")),
            rasa_model,
            rasa=2,
            actions=2,
            settings={"RASA_API_TOKEN": secrets.token_urlsafe(32)},
        )
    )
