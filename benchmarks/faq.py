"""FAQ retrieval benchmark: dense-only, BM25-only and fused side by side on the development set.

Ranking metrics (top-1, MRR@5) use the calibrated fusion weight for "fused", weight 1 for "_dense"
and weight 0 for "_bm25". Confidence metrics use the committed calibration (data/faq/calibration.yaml),
i.e. exactly what the bot ships with. The held-out third of the dev set, never used for
calibration, is reported separately (suffix `_heldout`). Latency is one `get_retriever().search`
call as the FAQ action makes it, end to end (edit check, tokenising, embedding, FAISS, BM25, fusion),
over every dev query, one at a time (see query_latencies): `p95_ms` is wall-clock time with a short
pause before each query; `details.latency` adds the same calls back to back and their CPU time,
which shows the work itself when other processes compete for the cores.
"""
from __future__ import annotations

import os
import time

from benchmarks.common import summarise_ms, write_result
from faq.content import load_dev_queries
from faq.evaluate import ScoredQuery, evaluate, is_heldout, ranking_metrics, score_queries
from faq.models import LANGUAGES
from actions.faq import SUGGESTIONS
from faq.retriever import FaqRetriever, get_retriever

PAUSE_S = 0.001
ROUNDS = 2


def _failures(retriever: FaqRetriever, scored: list[ScoredQuery], weight: float, threshold: float) -> list[dict]:
    """Every dev query the fused retriever ranks wrongly or answers when it should not."""
    rows = []
    for s in scored:
        best, score = s.top(weight)
        confident = score >= threshold
        wrong = (best not in s.expected_rows) if s.query.in_scope else confident
        if wrong:
            rows.append({"q": s.query.text, "expected": list(s.query.expected) or "out of scope",
                         "got": retriever.entries[best].id, "score": round(score, 3), "confident": confident})
    return rows


def main() -> None:
    retriever = FaqRetriever.load(progress=True)
    dev = load_dev_queries(_faq_dir(), set(retriever.content.by_id()))
    scored = score_queries(retriever, dev)
    metrics: dict[str, float] = {}
    details: dict = {"entries": len(retriever.entries), "model": retriever.calibration.model,
                     "index_fingerprint": retriever.fingerprint, "calibration": {}, "failures": {}}
    oos_all, oos_heldout = [], []
    for lang in LANGUAGES:
        cal = retriever.calibration.per_language[lang]
        subset = [s for s in scored if s.query.lang == lang]
        heldout = [s for s in subset if is_heldout(s.query)]
        fused = evaluate(subset, cal)
        metrics[f"top1_{lang}"], metrics[f"mrr5_{lang}"] = round(fused.top1, 4), round(fused.mrr5, 4)
        for name, weight in (("dense", 1.0), ("bm25", 0.0)):
            top1, mrr5 = ranking_metrics(subset, weight)
            metrics[f"top1_{lang}_{name}"], metrics[f"mrr5_{lang}_{name}"] = round(top1, 4), round(mrr5, 4)
        held = evaluate(heldout, cal)
        metrics[f"top1_{lang}_heldout"], metrics[f"mrr5_{lang}_heldout"] = round(held.top1, 4), round(held.mrr5, 4)
        metrics[f"oos_rejection_{lang}"] = round(fused.oos_rejection, 4)
        metrics[f"answered_correct_{lang}"] = round(fused.answered_correct, 4)
        metrics[f"answered_wrong_{lang}"] = round(fused.answered_wrong, 4)
        oos_all.append((fused.oos_rejection, fused.n_oos))
        oos_heldout.append((held.oos_rejection, held.n_oos))
        details["calibration"][lang] = {"dense_weight": cal.dense_weight, "threshold": cal.threshold}
        details["failures"][lang] = _failures(retriever, subset, cal.dense_weight, cal.threshold)
        details[f"n_{lang}"] = {"paraphrases": fused.n, "out_of_scope": fused.n_oos,
                                "heldout_paraphrases": held.n, "heldout_out_of_scope": held.n_oos}
    metrics["oos_rejection"] = round(sum(r * n for r, n in oos_all) / sum(n for _, n in oos_all), 4)
    metrics["oos_rejection_heldout"] = round(sum(r * n for r, n in oos_heldout) / sum(n for _, n in oos_heldout), 4)

    latency = query_latencies([(q.text, q.lang) for q in dev])
    metrics["p95_ms"] = latency["p95_ms"]
    details["latency"] = latency
    details["split"] = "held-out = sha1(query) % 3 == 0; calibration used only the rest"
    write_result("faq", metrics, details)


def query_latencies(queries: list[tuple[str, str]]) -> dict:
    """Latency of exactly the call action_answer_faq makes (the process-wide retriever with its
    check for edited files, the message's language, suggestions + 1 candidates), one query at a
    time, every dev query ROUNDS times after a warm-up pass, measured three ways:
    - paced (the headline p50/p95): a PAUSE_S pause before each query, as the action server
      receives them — it sleeps in its event loop until a request arrives;
    - back_to_back: the same calls in a tight loop; on shared cores a busy loop uses up its time
      slice and is preempted mid-query for other processes, which says more about the machine's
      load than about the query;
    - cpu: the thread's CPU time of each back-to-back call (its own cost; torch runs on this
      thread with one intra-op thread)."""
    def call(text: str, lang: str) -> None:
        get_retriever().search(text, lang, SUGGESTIONS + 1)

    for text, lang in queries:  # warm-up: first calls pay for lazy initialisation
        call(text, lang)
    load_before = os.getloadavg()[0]  # shared machine: latency means little without the load it ran under
    paced, tight, cpu = [], [], []
    for _ in range(ROUNDS):
        for text, lang in queries:
            time.sleep(PAUSE_S)
            start = time.perf_counter()
            call(text, lang)
            paced.append(time.perf_counter() - start)
        for text, lang in queries:
            start, cpu_start = time.perf_counter(), time.thread_time()
            call(text, lang)
            tight.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - cpu_start)
    return {**summarise_ms(paced), "back_to_back": summarise_ms(tight), "cpu": summarise_ms(cpu),
            "pause_ms": PAUSE_S * 1000,
            "load_average_1m_before_after": [round(load_before, 2), round(os.getloadavg()[0], 2)]}


def _faq_dir():
    from daogou.config import get_settings

    return get_settings().faq_dir


if __name__ == "__main__":
    main()
