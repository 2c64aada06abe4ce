"""Fast checks of the held-out conversation set (no stack): it parses, it is the size and mix it claims,
and every check, flow, selector, response and FAQ entry it names is real. A spec error found only when
the set is scored would cost a scoring; nothing here runs the assistant or reads how it answers."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.conversations.runner import (
    HELDOUT,
    ROOT,
    SCORING_LOG,
    Checker,
    ConversationResult,
    heldout_scored,
    load_conversations,
    log_heldout_scoring,
)
from tests.conversations.test_checks import assert_expectations_are_real
from tests.unit.test_no_test_leak import normalise

HELD = load_conversations(HELDOUT)
MAIN = load_conversations()


def test_the_set_has_its_size_and_mix() -> None:
    mix = Counter("staff" if c.channel == "staff" else c.language for c in HELD)
    assert mix == {"en": 36, "zh": 36, "staff": 18}, mix
    assert {c.language for c in HELD if c.channel == "staff"} == {"en", "zh"}
    bad = [f"{c.id}: {len(c.turns)} turns" for c in HELD if not 2 <= len(c.turns) <= 6]
    assert not bad, bad


def test_ids_are_apart_from_the_main_suite() -> None:
    assert not {c.id for c in HELD} & {c.id for c in MAIN}


def test_flows_are_the_main_suites() -> None:
    """The per-flow breakdown compares like with like: every held-out flow is one the main suite has."""
    unknown = sorted({c.flow for c in HELD} - {c.flow for c in MAIN})
    assert not unknown, unknown


def test_no_turn_is_copied_from_the_main_suite() -> None:
    """A turn of the main suite, which the assistant was fixed against, would not be held out."""
    main = {normalise(t.text) for c in MAIN for t in c.turns if t.text}
    copied = [f"{c.id}: {t.text!r}" for c in HELD for t in c.turns if t.text and normalise(t.text) in main]
    assert not copied, copied


@pytest.mark.parametrize("convo", HELD, ids=lambda c: c.id)
def test_every_expectation_names_something_real(convo: Any) -> None:
    assert_expectations_are_real(convo)
    for turn in convo.turns:
        for key in ("products", "not_products"):
            if key in turn.expect:
                Checker._constraints(turn.expect[key])


def test_scorings_are_counted(tmp_path: Any) -> None:
    """Each scoring adds a numbered row; the count is the rows, starting at #0."""
    log = tmp_path / "SCORING_LOG.md"
    log.write_text("| # | date | commit | passed | by |\n|---|---|---|---|---|\n", encoding="utf-8")
    results = [
        ConversationResult("a", "en", "en", "shopper", "search", "x.yml", True),
        ConversationResult("b", "zh", "zh", "staff", "staff_stock", "x.yml", False),
    ]
    assert heldout_scored(log) == 0
    assert log_heldout_scoring(results, "test", log) == 0
    assert log_heldout_scoring(results, "test", log) == 1
    assert heldout_scored(log) == 2
    assert "| 1/2 (en 1/1 zh 0/0 staff 0/1) |" in log.read_text(encoding="utf-8")
    assert SCORING_LOG.parent == HELDOUT and HELDOUT.is_relative_to(ROOT)
