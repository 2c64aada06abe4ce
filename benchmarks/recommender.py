"""Recommender benchmark: the offline protocol of docs/recommender.md on UCI Online Retail.

`make bench-recommender` runs this module; it tunes on validation, evaluates every model on the
test period for variants A and B, writes benchmarks/results/recommender.json and the comparison
plot docs/img/recommender_comparison.png. `python -m benchmarks.recommender --retime-serving`
re-measures only the serving figures of that file (for a quieter machine), without the test period.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from benchmarks.common import RESULTS_DIR, write_result

IMG = Path(__file__).resolve().parent.parent / "docs" / "img" / "recommender_comparison.png"


def plot_comparison(results, path: Path = IMG) -> Path:
    """Grouped bars: one panel per variant, Recall@10 / NDCG@10 / MAP@10 / hit rate per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    metrics = ["recall10", "ndcg10", "map10", "hitrate10"]
    variants = sorted({r.variant for r in results})
    fig, axes = plt.subplots(1, len(variants), figsize=(6 * len(variants), 4.2), sharey=True)
    for ax, variant in zip(np.atleast_1d(axes), variants):
        rows = [r for r in results if r.variant == variant]
        x = np.arange(len(rows))
        width = 0.8 / len(metrics)
        for i, m in enumerate(metrics):
            ax.bar(x + i * width - 0.4 + width / 2, [r.metrics[m] for r in rows], width, label=m)
        ax.set_xticks(x, [r.model for r in rows], rotation=20)
        title = (
            "A: all test purchases, repeats allowed"
            if variant == "A"
            else "B: new items only, history excluded"
        )
        ax.set_title(f"Variant {title}", fontsize=10)
        ax.grid(axis="y", alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel("score @10")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.suptitle("UCI Online Retail: train ≤ 2011-09-30, test 2011-10-01 … 2011-12-09", fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def serve_best(lines, products, tuned, variant: str, samples: int = 300, seed: int = 7) -> dict:
    """Fit the variant's best model on all the data (as the shop would) and time one customer's
    top 10 in process: score, drop history in variant B, pick the top 10."""
    import numpy as np

    from benchmarks.common import summarise_ms
    from recommender.data import Interactions
    from recommender.evaluation import build_model, model_grids, top_k

    name = tuned[variant].best_model
    model = build_model(name, tuned[variant], model_grids(products))
    t0 = time.perf_counter()
    inter = Interactions.from_lines(lines)
    model.fit(inter)
    train_s = time.perf_counter() - t0
    rows = np.random.default_rng(seed).choice(
        len(inter.users), size=min(samples, len(inter.users)), replace=False
    )
    history = inter.strength.tocsr()

    def top10(r: int) -> np.ndarray:
        scores = model.score(np.array([r]))
        if variant == "B":  # discovery: drop what the customer already bought
            scores[0, history.indices[history.indptr[r] : history.indptr[r + 1]]] = -np.inf
        return top_k(scores, 10)

    for r in rows[:20]:  # warm-up: first calls pay for imports and allocations
        top10(r)
    times = []
    for r in rows:
        t = time.perf_counter()
        top10(r)
        times.append(time.perf_counter() - t)
    return {
        "model": name,
        "train_s": round(train_s, 3),
        "customers": len(inter.users),
        "items": len(inter.items),
        "latency": summarise_ms(times),
    }


def retime_serving(path: Path = RESULTS_DIR / "recommender.json") -> None:
    """Re-time `train_s` and `latency_p95_ms` from the tuned parameters of the last run: timings
    depend on the machine's load, accuracy does not, and this never scores the test period again."""
    import json

    from recommender.data import load_online_retail, retail_items
    from recommender.evaluation import Tuned

    result = json.loads(path.read_text(encoding="utf-8"))
    details = result["details"]
    tuned = {
        v: Tuned(p["models"], p["hybrid_weights"], details["validation_metrics"][v])
        for v, p in details["tuned_params"].items()
    }
    lines, _, descriptions = load_online_retail()
    served = {v: serve_best(lines, retail_items(lines, descriptions), tuned, v) for v in tuned}
    metrics = {
        **result["metrics"],
        "train_s": max(s["train_s"] for s in served.values()),
        "latency_p95_ms": max(s["latency"]["p95_ms"] for s in served.values()),
    }
    details["best_model_on_all_data"] = served
    details.setdefault("protocol_measured_at", result["measured_at"])
    write_result("recommender", metrics, details)


def ablate(component: str, variant: str = "B", path: Path = RESULTS_DIR / "recommender.json") -> dict:
    """Does `component` earn its place in the variant's blend? Validation only (the test period is not
    scored): the blend with the tuned weights of the last run, the same with the component's weight at
    zero, and the weights tuned again with and without it. Written to recommender_ablation.json."""
    import json

    from recommender.data import load_online_retail, retail_items
    from recommender.evaluation import (
        FitCache,
        ProtocolConfig,
        evaluate_scores,
        hybrid_components,
        make_splits,
        mean_metrics,
        model_grids,
        tune_weights,
    )
    from recommender.models import blend, normalise_rows

    config = ProtocolConfig()
    lines, _, descriptions = load_online_retail(descriptions_before=config.test_start)
    grids = model_grids(retail_items(lines[lines["ordered_at"] < config.test_start], descriptions))
    tuned = json.loads(path.read_text(encoding="utf-8"))["details"]["tuned_params"][variant]
    folds = []
    for start, end in config.validation_folds():
        cache = FitCache(make_splits(lines[lines["ordered_at"] < end], start, None), grids)
        scores = {
            name: normalise_rows(cache.scores(cache.get(name, tuned["models"][name])[2], variant))
            for name in hybrid_components(grids)
        }
        folds.append((scores, cache.splits[variant]))

    def validation(weights: dict[str, float]) -> dict[str, float]:
        return mean_metrics(evaluate_scores(blend(n, weights, normalised=True), s) for n, s in folds)

    weights = tuned["hybrid_weights"]
    without = [({k: v for k, v in n.items() if k != component}, s) for n, s in folds]
    retuned_with, metrics_with = tune_weights(folds)
    retuned_without, metrics_without = tune_weights(without)
    result = {
        "component": component,
        "variant": variant,
        "tuned_weights": weights,
        "validation_tuned": validation(weights),
        "validation_component_zero": validation({**weights, component: 0.0}),
        "retuned_with": {"weights": retuned_with, "validation": metrics_with},
        "retuned_without": {"weights": retuned_without, "validation": metrics_without},
    }
    write_result("recommender_ablation", {}, result)
    return result


def main() -> None:
    from recommender.data import load_online_retail, retail_items
    from recommender.evaluation import ProtocolConfig, run_protocol

    if "--retime-serving" in sys.argv[1:]:
        retime_serving()
        return
    if "--ablate" in sys.argv[1:]:
        ablate(sys.argv[sys.argv.index("--ablate") + 1])
        return

    t0 = time.perf_counter()
    config = ProtocolConfig()
    lines, report, descriptions = load_online_retail(descriptions_before=config.test_start)
    # Item records (description + median price) for the content-based model, named and priced from
    # the training period only so nothing comes from the test period.
    items = retail_items(lines[lines["ordered_at"] < config.test_start], descriptions)
    result = run_protocol(lines, config, progress=print, products=items)
    metrics: dict[str, float] = {}
    for r in result.results:
        metrics[f"recall10_{r.variant.lower()}_{r.model}"] = round(r.metrics["recall10"], 4)
    for variant in ("A", "B"):
        best = result.best(variant)
        metrics[f"recall10_{variant.lower()}_best"] = round(best.metrics["recall10"], 4)
        metrics[f"ndcg10_{variant.lower()}_best"] = round(best.metrics["ndcg10"], 4)
    protocol_s = time.perf_counter() - t0
    all_items = retail_items(lines, load_online_retail()[2])  # serving on all data: every item's record
    served = {v: serve_best(lines, all_items, result.tuned, v) for v in ("A", "B")}
    metrics["train_s"] = max(s["train_s"] for s in served.values())
    metrics["latency_p95_ms"] = max(s["latency"]["p95_ms"] for s in served.values())
    plot_comparison(result.results)
    details = {
        "data": "UCI Online Retail (Chen 2015, CC BY 4.0, DOI 10.24432/C5BW33)",
        "cleaning": report.__dict__,
        "protocol": result.config.__dict__,
        "splits": result.split_stats,
        "test_metrics": {
            v: {
                r.model: {
                    **{k: round(x, 4) for k, x in r.metrics.items()},
                    "train_seconds": round(r.train_seconds, 3),
                }
                for r in result.results
                if r.variant == v
            }
            for v in ("A", "B")
        },
        "best_model": {v: result.tuned[v].best_model for v in ("A", "B")},
        "best_model_on_all_data": served,
        "tuned_params": {
            v: {"models": t.params, "hybrid_weights": t.hybrid_weights} for v, t in result.tuned.items()
        },
        "ranker_params": {r.variant: r.params for r in result.results if r.model == "ranker"},
        "validation_metrics": {v: t.validation for v, t in result.tuned.items()},
        "protocol_seconds": round(protocol_s, 1),
        "total_seconds": round(time.perf_counter() - t0, 1),
        "plot": str(IMG.relative_to(IMG.parent.parent.parent)),
    }
    write_result("recommender", metrics, details)


if __name__ == "__main__":
    main()
