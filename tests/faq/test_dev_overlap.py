"""The FAQ dev set stays a set of new wordings: no dev paraphrase may be a near-duplicate of an
indexed variant (benchmarks.faq.near_duplicates: normalised identical, cosine >= 0.85 with the FAQ's
embedding model where it knows the language, character ratio >= 0.85). Otherwise top-1 measures the
index remembering its own questions."""

from __future__ import annotations

import pytest

from benchmarks.faq import NEAR_COSINE, NEAR_RATIO, near_duplicates, normalise
from faq.content import load_dev_queries
from faq.models import DevQuery
from tests.faq.conftest import FAQ_DIR


def test_normalise_ignores_case_width_punctuation_and_spaces():
    assert normalise("What's  the RETURN policy?") == normalise("what s the return policy")
    assert normalise("退款什么时候到账？") == normalise("退款什么时候到账") == "退款什么时候到账"
    assert normalise("ＧＰＵ保修几年！") == normalise("gpu保修几年!")  # full-width forms
    assert normalise("“优惠码”在哪里填。") == normalise('"优惠码"在哪里填.')
    assert normalise("return policy") != normalise("refund policy")


@pytest.mark.slow
def test_the_check_finds_planted_near_duplicates(content):
    """The check must be able to fail: copies of indexed variants, cosmetically changed, are caught."""
    en = next(e for e in content.entries if len(e.questions["en"][0]) > 20)
    zh = next(e for e in content.entries if len(e.questions["zh"][0]) > 6)
    planted = [
        DevQuery(en.questions["en"][0].upper() + " !!", "en", (en.id,)),
        DevQuery(en.questions["en"][0] + " please", "en", (en.id,)),
        DevQuery(zh.questions["zh"][0].rstrip("？?") + "。", "zh", (zh.id,)),
    ]
    found, how = near_duplicates(content, planted)
    assert {d.query for d in found} == {q.text for q in planted}
    assert how["cosine_min"] == NEAR_COSINE and how["ratio_min"] == NEAR_RATIO


@pytest.mark.slow
def test_no_dev_paraphrase_is_a_near_duplicate_of_an_indexed_variant(content):
    dev = load_dev_queries(FAQ_DIR, set(content.by_id()))
    found, how = near_duplicates(content, dev)
    leaked = [
        f"{d.lang}: {d.query!r} ~ {d.variant!r} ({d.entry}; cosine {d.cosine}, ratio {d.ratio})"
        for d in found
        if d.in_scope
    ]
    assert how["en"]["embedding_criterion"], "the shipped model should cover English"
    assert not leaked, (
        "dev paraphrases too close to indexed variants (remove or reword them):\n  " + "\n  ".join(leaked)
    )
