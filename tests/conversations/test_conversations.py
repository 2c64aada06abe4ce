"""The conversation suite against the live stack: started once for the module, every conversation run
once, then one test per conversation. Every conversation must pass except those in
known_failures.yml, which are expected failures with their reason: not strict, because a few
conversations depend on which demo customer or which store's stock they meet, and a landing must
not hang on one of those passing by chance; pytest reports a known failure that passed as XPASS
(`-ra`), and bench-conversations lists both, so the list is pruned from the report."""

from __future__ import annotations

import pytest

from tests.conversations.runner import ConversationResult, load_conversations, load_known_failures, run_suite

pytestmark = [pytest.mark.slow, pytest.mark.stack]

CONVERSATIONS = load_conversations()
KNOWN_FAILURES = load_known_failures()


def _params() -> list:
    params = []
    for convo in CONVERSATIONS:
        marks = ()
        if convo.id in KNOWN_FAILURES:
            marks = (pytest.mark.xfail(strict=False, reason=KNOWN_FAILURES[convo.id]),)
        params.append(pytest.param(convo.id, id=convo.id, marks=marks))
    return params


@pytest.fixture(scope="module")
def results() -> dict[str, ConversationResult]:
    from tests.conversations.stack import live_stack

    with live_stack() as stack:
        return {r.id: r for r in run_suite(CONVERSATIONS, stack, progress=False)}


@pytest.mark.parametrize("conversation_id", _params())
def test_conversation(results: dict[str, ConversationResult], conversation_id: str) -> None:
    result = results[conversation_id]
    if not result.passed:
        pytest.fail(result.explain(), pytrace=False)  # the turn, the reasons and the reply say it all


def test_known_failures_name_real_conversations() -> None:
    unknown = set(KNOWN_FAILURES) - {c.id for c in CONVERSATIONS}
    assert not unknown, f"known_failures.yml lists conversations that do not exist: {sorted(unknown)}"
