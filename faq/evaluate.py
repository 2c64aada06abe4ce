"""Evaluation and calibration on the development set (data/faq/dev), shared by
`daogou faq calibrate` and the benchmark.

Each dev query is scored once (both signals for every entry); the fused ranking for any weight is
then a cheap array operation, so the grid search over weights and thresholds costs no model calls.

The dev set is split by a hash of the query text: one part tunes the weights and thresholds, the
held-out part (about a third) only measures. The split is stable when queries are added.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from faq.models import LANGUAGES, Calibration, DevQuery, LanguageCalibration
from faq.retriever import FaqRetriever

WEIGHT_GRID = [round(i * 0.05, 2) for i in range(21)]
THRESHOLD_STEP, SMOOTHING = 0.0025, 0.02
WRONG_ANSWER_COST = 2.0  # a confident wrong answer costs twice what an honest "not sure" gains


def is_heldout(query: DevQuery) -> bool:
    return int(hashlib.sha1(query.text.encode("utf-8")).hexdigest(), 16) % 3 == 0


@dataclass
class ScoredQuery:
    query: DevQuery
    dense: np.ndarray  # per entry
    bm25: np.ndarray
    expected_rows: list[int]

    def fused(self, weight: float) -> np.ndarray:
        return weight * self.dense + (1.0 - weight) * self.bm25

    def rank_of_expected(self, weight: float) -> int:
        """1-based rank of the best-placed acceptable entry."""
        scores = self.fused(weight)
        order = np.argsort(-scores, kind="stable")
        positions = [int(np.where(order == row)[0][0]) for row in self.expected_rows]
        return min(positions) + 1

    def top(self, weight: float) -> tuple[int, float]:
        scores = self.fused(weight)
        best = int(np.argmax(scores))
        return best, float(scores[best])


def score_queries(retriever: FaqRetriever, queries: list[DevQuery]) -> list[ScoredQuery]:
    rows = {e.id: i for i, e in enumerate(retriever.entries)}
    scored = []
    for q in queries:
        dense, bm25 = retriever.signals(q.text, q.lang, need_dense=True)
        scored.append(ScoredQuery(q, dense, bm25, [rows[x] for x in q.expected]))
    return scored


@dataclass
class Metrics:
    top1: float
    mrr5: float
    n: int
    oos_rejection: float | None = None
    answered_correct: float | None = None  # in-scope: confident and right
    answered_wrong: float | None = None  # in-scope: confident and wrong
    n_oos: int = 0


def ranking_metrics(scored: list[ScoredQuery], weight: float) -> tuple[float, float]:
    inscope = [s for s in scored if s.query.in_scope]
    if not inscope:
        return 0.0, 0.0
    ranks = [s.rank_of_expected(weight) for s in inscope]
    top1 = sum(r == 1 for r in ranks) / len(ranks)
    mrr5 = sum(1.0 / r for r in ranks if r <= 5) / len(ranks)
    return top1, mrr5


def confidence_metrics(scored: list[ScoredQuery], weight: float, threshold: float) -> dict[str, float]:
    inscope = [s for s in scored if s.query.in_scope]
    oos = [s for s in scored if not s.query.in_scope]
    correct = wrong = 0
    for s in inscope:
        best, score = s.top(weight)
        if score >= threshold:
            correct += best in s.expected_rows
            wrong += best not in s.expected_rows
    rejected = sum(s.top(weight)[1] < threshold for s in oos)
    return {
        "answered_correct": correct / max(len(inscope), 1),
        "answered_wrong": wrong / max(len(inscope), 1),
        "oos_rejection": rejected / max(len(oos), 1),
    }


def evaluate(scored: list[ScoredQuery], cal: LanguageCalibration) -> Metrics:
    top1, mrr5 = ranking_metrics(scored, cal.dense_weight)
    conf = confidence_metrics(scored, cal.dense_weight, cal.threshold)
    return Metrics(
        top1=top1,
        mrr5=mrr5,
        n=sum(s.query.in_scope for s in scored),
        n_oos=sum(not s.query.in_scope for s in scored),
        **conf,
    )


def utility(scored: list[ScoredQuery], weight: float, threshold: float) -> float:
    """What the threshold is chosen to maximise: right answers given plus out-of-scope questions
    declined, minus confident wrong answers (in or out of scope) at WRONG_ANSWER_COST each."""
    m = confidence_metrics(scored, weight, threshold)
    oos_answered = 1.0 - m["oos_rejection"]
    return (
        m["answered_correct"] + m["oos_rejection"] - WRONG_ANSWER_COST * (m["answered_wrong"] + oos_answered)
    )


def calibrate_language(scored: list[ScoredQuery]) -> tuple[LanguageCalibration, dict]:
    """Pick the dense weight by ranking quality (top-1 + MRR@5), then the threshold by utility.

    The threshold maximises the utility averaged over a small window around it (see below)."""
    weight_scores = {w: sum(ranking_metrics(scored, w)) for w in WEIGHT_GRID}
    best_weight = max(WEIGHT_GRID, key=lambda w: (round(weight_scores[w], 6), -abs(w - 0.5)))
    # Utility on a fine grid, then averaged over a window of +-SMOOTHING: the raw optimum sits
    # exactly where a few tuning queries happen to score, and a threshold whose neighbourhood is
    # also good generalises better to new queries than a sharp peak.
    grid = np.round(np.arange(0.0, 1.0 + 1e-9, THRESHOLD_STEP), 4)
    raw = np.array([utility(scored, best_weight, float(t)) for t in grid])
    width = int(round(SMOOTHING / THRESHOLD_STEP))
    smoothed = np.array([raw[max(0, i - width) : i + width + 1].mean() for i in range(len(grid))])
    threshold = float(grid[int(np.argmax(smoothed))])
    optimal = grid[raw >= raw.max() - 1e-9]
    return LanguageCalibration(float(best_weight), float(threshold)), {
        "weight_objective": {str(w): round(v, 4) for w, v in weight_scores.items()},
        "utility": round(float(raw[grid == threshold][0]), 4),
        "threshold_range": [float(optimal.min()), float(optimal.max())],
    }


def calibrate(
    retriever: FaqRetriever, queries: list[DevQuery], extra: list[DevQuery] = ()
) -> tuple[Calibration, dict]:
    """Calibrate on the dev set's tuning split plus `extra` (dev/tune_*.yaml, all tuning data)."""
    from faq.index import model_fingerprint

    scored = score_queries(retriever, [q for q in queries if not is_heldout(q)] + list(extra))
    per_language, notes = {}, {}
    for lang in LANGUAGES:
        subset = [s for s in scored if s.query.lang == lang]
        per_language[lang], notes[lang] = calibrate_language(subset)
        notes[lang]["tuning_queries"] = len(subset)
    summary = {
        lang: {"threshold_range": n["threshold_range"], "tuning_queries": n["tuning_queries"]}
        for lang, n in notes.items()
    }
    return Calibration(
        per_language=per_language,
        model=model_fingerprint(retriever.model),
        notes={"tuned_on": "dev set minus the held-out third, plus dev/tune_*.yaml", **summary},
    ), notes


def keep_other_languages(new: Calibration, old: Calibration, languages: list[str]) -> Calibration:
    """`new` for `languages`; every other language keeps its values (and notes) from `old` where
    `old` has it (`daogou faq calibrate --lang zh` must not move the English threshold)."""
    per_language, notes = dict(new.per_language), dict(new.notes)
    for lang in set(per_language) - set(languages):
        if lang in old.per_language:
            per_language[lang] = old.per_language[lang]
            if lang in old.notes:
                notes[lang] = old.notes[lang]
    return Calibration(per_language=per_language, model=new.model, notes=notes)
