"""FAQ follow-ups read with the previous FAQ question, and ratings given in words (fast: a word-overlap
retriever stands in for the hybrid one, whose own tests are in tests/faq)."""

from __future__ import annotations

import re

import pytest

from actions import faq_answers as faq
from actions.feedback import ActionSaveFeedback
from actions.ratings import rating_in_words
from faq.models import Candidate, FaqEntry, SearchResult
from tests.actions.action_harness import ent, run, tracker

THRESHOLD = 0.45


def entry(entry_id: str, question: str) -> FaqEntry:
    return FaqEntry(
        entry_id, entry_id.split("-")[0] + ".x", {"en": (question,)}, {"en": f"answer of {entry_id}"}
    )


ENTRIES = [
    entry("returns-policy", "what is your return policy"),
    entry("returns-opened", "can I return an opened box"),
    entry("shipping-time", "how long does delivery take"),
    entry("shipping-express", "can I get delivery faster with express"),
    entry("payment-methods", "which payment methods do you take"),
]


def words(text: str) -> set[str]:
    return set(re.findall(r"[a-z]+", text.lower())) - {
        "the",
        "a",
        "and",
        "if",
        "is",
        "i",
        "it",
        "can",
        "you",
        "do",
    }


class OverlapRetriever:
    """Scores an entry by the share of its question's words the query has."""

    entries = ENTRIES

    def entry(self, entry_id):
        return next((e for e in ENTRIES if e.id == entry_id), None)

    def search(self, text, lang=None, k=5):
        scored = sorted(
            ((len(words(text) & words(e.question("en"))) / len(words(e.question("en"))), e) for e in ENTRIES),
            key=lambda x: -x[0],
        )[:k]
        candidates = tuple(Candidate(e, s, s, s) for s, e in scored)
        return SearchResult(text, "en", candidates, candidates[0].fused >= THRESHOLD, THRESHOLD)


def after_faq(previous: str, entities=None) -> list[dict]:
    parse = {"intent": {"name": "faq"}, "entities": entities or []}
    return [
        {"event": "user", "text": previous, "parse_data": parse},
        {"event": "action", "name": "action_answer_faq"},
        {"event": "bot", "text": "an answer"},
        {"event": "action", "name": "action_listen"},
    ]


def test_the_previous_faq_turn_is_found_only_right_after_a_faq_answer():
    r = OverlapRetriever()
    assert faq.previous_faq_question(
        tracker("and then?", "faq", events=after_faq("what is your return policy")), r, "en"
    ) == ("what is your return policy", "returns-policy")
    button = after_faq('/faq{"faq_id": "shipping-time"}', [ent("faq_id", "shipping-time")])
    assert faq.previous_faq_question(tracker("faster?", "faq", events=button), r, "en") == (
        r.entry("shipping-time").question("en"),
        "shipping-time",
    )
    other = [
        {"event": "user", "text": "an amd cpu", "parse_data": {}},
        {"event": "action", "name": "action_search_products"},
        {"event": "bot", "text": "1. ..."},
    ]
    assert faq.previous_faq_question(tracker("and if opened?", "faq", events=other), r, "en") is None
    assert faq.previous_faq_question(tracker("and if opened?", "faq"), r, "en") is None


@pytest.mark.parametrize(
    "previous, follow_up, expected",
    [
        ("what is your return policy", "and opened ones?", "returns-opened"),
        ("how long does delivery take", "faster delivery?", "shipping-express"),
    ],
)
def test_a_follow_up_is_answered_with_the_previous_question(previous, follow_up, expected):
    r = OverlapRetriever()
    own = r.search(follow_up)
    assert not own.confident  # alone it is not enough
    answered = r.search(previous).best.entry.id
    assert faq.follow_up_answer(r, follow_up, "en", (previous, answered), own).id == expected


def test_a_follow_up_never_repeats_the_answer_nor_answers_from_the_previous_topic_alone():
    r = OverlapRetriever()
    # nothing in "thanks a lot" points at any entry: the previous question alone must not answer it
    assert (
        faq.follow_up_answer(
            r,
            "thanks a lot",
            "en",
            ("what is your return policy", "returns-policy"),
            r.search("thanks a lot"),
        )
        is None
    )
    # the entry just answered is left out when the follow-up alone points elsewhere first...
    assert (
        faq.follow_up_answer(
            r,
            "and opened ones?",
            "en",
            ("what is your return policy", "returns-policy"),
            r.search("and opened ones?"),
        ).id
        != "returns-policy"
    )
    # ...and answered again when the follow-up alone points at it first (its answer covers the follow-up)
    own = r.search("policy?")
    assert (
        faq.follow_up_answer(r, "policy?", "en", ("what is your return policy", "returns-policy"), own).id
        == own.best.entry.id
        == "returns-policy"
    )


@pytest.mark.parametrize(
    "text, rating",
    [
        ("太难用了，一星", 1),
        ("挺好用的，给你五星好评", 5),
        ("给个三颗星吧", 3),
        ("打2分", 2),
        ("满分！", 5),
        ("four stars, nice", 4),
        ("3 out of 5", 3),
        ("I'd say 2/5", 2),
        ("10/10 would chat again", 5),
        ("等了5分钟才回复", None),
        ("a 2 TB SSD", None),
        ("1.5 stars", None),
        ("RTX 4090", None),
    ],
)
def test_a_rating_in_words(text, rating):
    assert rating_in_words(text) == rating


async def test_a_rating_in_words_is_saved_without_an_entity(shop):
    messages, _ = await run(ActionSaveFeedback(), tracker("太难用了，一星", "rate"))
    assert [m["response"] for m in messages] == ["utter_feedback_sorry"]
    messages, _ = await run(
        ActionSaveFeedback(), tracker("挺好用的，给你五星好评", "rate", [ent("rating", "五星")])
    )
    assert [m["response"] for m in messages] == ["utter_feedback_thanks"]
    messages, _ = await run(ActionSaveFeedback(), tracker("I want to rate you", "rate"))
    assert [m["response"] for m in messages] == ["utter_ask_feedback"]
