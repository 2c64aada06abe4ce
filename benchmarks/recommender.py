"""Recommender benchmark: the offline protocol of docs/recommender.md on UCI Online Retail.

`make bench-recommender` runs this module; it tunes on validation, evaluates every model on the
test period for variants A and B, writes benchmarks/results/recommender.json and the comparison
plot docs/img/recommender_comparison.png.
"""
from __future__ import annotations

import time
from pathlib import Path

from benchmarks.common import write_result

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
        title = "A: all test purchases, repeats allowed" if variant == "A" else "B: new items only, history excluded"
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


def main() -> None:
    from recommender.data import load_online_retail, retail_items
    from recommender.evaluation import ProtocolConfig, run_protocol

    t0 = time.perf_counter()
    lines, report, descriptions = load_online_retail()
    # Item records (description + median price) for the content-based model, priced from the
    # training period only so nothing comes from the test period.
    config = ProtocolConfig()
    items = retail_items(lines[lines["ordered_at"] < config.test_start], descriptions)
    result = run_protocol(lines, config, progress=print, products=items)
    metrics: dict[str, float] = {}
    for r in result.results:
        for key, value in r.metrics.items():
            metrics[f"{key}_{r.variant}_{r.model}"] = round(value, 4)
        metrics[f"train_seconds_{r.variant}_{r.model}"] = round(r.train_seconds, 3)
    metrics["total_seconds"] = round(time.perf_counter() - t0, 1)
    plot_comparison(result.results)
    details = {
        "data": "UCI Online Retail (Chen 2015, CC BY 4.0, DOI 10.24432/C5BW33)",
        "cleaning": report.__dict__,
        "protocol": result.config.__dict__,
        "splits": result.split_stats,
        "tuned_params": {v: {"models": t.params, "hybrid_weights": t.hybrid_weights} for v, t in result.tuned.items()},
        "validation_metrics": {v: t.validation for v, t in result.tuned.items()},
        "plot": str(IMG.relative_to(IMG.parent.parent.parent)),
    }
    write_result("recommender", metrics, details)


if __name__ == "__main__":
    main()
