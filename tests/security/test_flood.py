"""Issue 16, abuse: one sender and one address flood the REST channel while other shoppers chat, against
a running stack over real HTTP. The other shoppers' p95 latency stays within 2× of the same shoppers'
without the flood, every shopper's message is answered, the flood is refused (429) beyond its rate, and
every flood message the channel accepted is in the tracker store (nothing accepted is lost)."""

from __future__ import annotations

import pytest

from deploy.stack import Stack
from tests.reliability.conftest import fresh_state, prepared_state, rasa_model  # noqa: F401 (fixtures)
from tests.security.conftest import running
from tests.security.flood import FLOOD_SETTINGS, run_flood

pytestmark = [pytest.mark.slow, pytest.mark.stack]


@pytest.fixture(scope="module")
def behind_a_proxy(rasa_model, prepared_state, tmp_path_factory):  # noqa: F811
    """The single stack, its Rasa server trusting one proxy's X-Forwarded-For (as behind the balancer)."""
    state = fresh_state(prepared_state, tmp_path_factory.mktemp("flood"))
    yield from running(Stack(state, rasa_model, settings=FLOOD_SETTINGS))


def test_a_flood_does_not_hold_up_other_shoppers_nor_lose_accepted_messages(behind_a_proxy):
    result = run_flood(behind_a_proxy.rasa_url, behind_a_proxy.state_dir / "conversations.db", seconds=30)
    assert result["baseline"]["unanswered"] == 0 and result["flooded"]["unanswered"] == 0, result
    for flooder in result["flooders"]:
        assert flooder["statuses"].get("429", 0) > flooder["accepted"] > 0, flooder
        assert set(flooder["statuses"]) <= {"200", "429"}, flooder
    assert result["accepted_lost"] == 0, result
    assert result["flood_p95_ratio"] <= 2, result
