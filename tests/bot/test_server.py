"""The Rasa server patches of bot/server.py, in the Rasa environment (no processes started)."""
from __future__ import annotations

import pytest
from jsonschema import ValidationError
from rasa.core.actions.action import RemoteAction
from rasa.utils.endpoints import EndpointConfig

from bot import server


@pytest.fixture()
def action() -> RemoteAction:
    server.install()
    return RemoteAction("action_anything", EndpointConfig("http://127.0.0.1:1/webhook"))


def test_install_replaces_the_schema_check(action: RemoteAction) -> None:
    assert RemoteAction._validate_action_result is server.validate_action_result


def test_a_valid_response_passes_with_one_cached_validator(action: RemoteAction) -> None:
    response = {"events": [{"event": "slot", "name": "cart", "value": [{"sku": "A1", "qty": 2}]}],
                "responses": [{"text": "Added.", "buttons": [{"title": "Checkout", "payload": "/checkout"}]}]}
    assert action._validate_action_result(response)
    assert action._validate_action_result({"events": [], "responses": []})
    assert server.response_validator.cache_info().currsize == 1


@pytest.mark.parametrize("response", [
    {"events": [{"event": "slot", "name": "cart"}]},           # a slot event without its value
    {"events": [{"timestamp": 1.0}]},                          # an event without a type
    {"events": "not a list"},
    {"responses": [["not", "an", "object"]]},
])
def test_an_invalid_response_gets_rasas_own_error(action: RemoteAction, response: dict) -> None:
    with pytest.raises(ValidationError, match="Failed to validate Action server response"):
        action._validate_action_result(response)
