"""Offline evaluation protocol (time split, two relevance variants, validation-only tuning).

The protocol is fixed so numbers compare across runs and with published anchors:
- train on orders before `test_start`, test on orders from `test_start` to the end of the data;
- test users are customers with orders in both periods;
- variant "A": relevant = every item the customer bought in the test period; already-bought items
  may be recommended (repeat purchase is most of retail);
- variant "B": relevant = test items the customer had never bought before; already-bought items are
  removed from the recommendations (discovery);
- hyper-parameters and hybrid weights are chosen on a validation split inside the training period
  (`val_start` .. `test_start`), never on the test period.
"""
from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field
from functools import partial
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
from scipy import sparse

from recommender.data import Interactions, validate_order_lines
from recommender.content import ProductLike
from recommender.models import (ALS, ContentKNN, GlobalPopularity, Hybrid, ItemKNN, Model, RecentPopularity,
                                RepeatPurchase, blend, normalise_rows)

VARIANTS = ("A", "B")
K = 10


@dataclass
class Split:
    """A train matrix plus, for each evaluated user, the relevant items and what to exclude."""
    variant: str
    train: Interactions
    user_rows: np.ndarray            # rows of train.strength for the evaluated users
    relevant: sparse.csr_matrix      # evaluated users × train items: 1 where relevant
    n_relevant: np.ndarray           # relevant count per user, including items unknown to train
    exclude: sparse.csr_matrix | None  # evaluated users × items to remove from the list (variant B)

    @property
    def n_users(self) -> int:
        return len(self.user_rows)


def make_split(lines: pd.DataFrame, test_start: str | pd.Timestamp, test_end: str | pd.Timestamp | None,
               variant: str, train_start: str | pd.Timestamp | None = None) -> Split:
    """Cut `lines` at `test_start` (exclusive end of training) and build the variant's relevance."""
    validate_order_lines(lines)
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, not {variant!r}")
    test_start = pd.Timestamp(test_start)
    train_lines = lines[lines["ordered_at"] < test_start]
    if train_start is not None:
        train_lines = train_lines[train_lines["ordered_at"] >= pd.Timestamp(train_start)]
    test_lines = lines[lines["ordered_at"] >= test_start]
    if test_end is not None:
        test_lines = test_lines[test_lines["ordered_at"] < pd.Timestamp(test_end) + pd.Timedelta(days=1)]
    train = Interactions.from_lines(train_lines, as_of=test_start)
    test_pairs = test_lines[["customer_id", "sku"]].drop_duplicates()
    test_pairs = test_pairs[test_pairs["customer_id"].isin(train.user_index)]
    if variant == "B":
        seen = train_lines[["customer_id", "sku"]].drop_duplicates()
        merged = test_pairs.merge(seen, how="left", indicator=True)
        test_pairs = merged[merged["_merge"] == "left_only"][["customer_id", "sku"]]
    n_rel = test_pairs.groupby("customer_id").size()
    users = np.array(sorted(n_rel.index))
    if len(users) == 0:
        raise ValueError("no customer bought in both periods; cannot evaluate")
    user_rows = np.array([train.user_index[u] for u in users])
    local = {u: i for i, u in enumerate(users)}
    known = test_pairs[test_pairs["sku"].isin(train.item_index)]
    rows = known["customer_id"].map(local).to_numpy()
    cols = known["sku"].map(train.item_index).to_numpy()
    relevant = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=(len(users), len(train.items)))
    exclude = (train.strength[user_rows] > 0).astype(np.float32).tocsr() if variant == "B" else None
    return Split(variant, train, user_rows, relevant, n_rel.loc[users].to_numpy(), exclude)


def top_k(scores: np.ndarray, k: int = K, exclude: sparse.csr_matrix | None = None) -> np.ndarray:
    """Indices of the k best items per row, best first; excluded items never appear."""
    scores = np.array(scores, dtype=np.float32, copy=True)
    if exclude is not None:
        r, c = exclude.nonzero()
        scores[r, c] = -np.inf
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    order = np.argsort(-np.take_along_axis(scores, part, axis=1), axis=1, kind="stable")
    return np.take_along_axis(part, order, axis=1)


def ranking_metrics(top: np.ndarray, relevant: sparse.csr_matrix, n_relevant: np.ndarray, n_items: int,
                    k: int = K) -> dict[str, float]:
    """Recall@k (hits ÷ min(k, relevant)), NDCG@k, MAP@k, hit rate, catalogue coverage.

    `n_relevant` counts relevant items the model could not know (absent from training), so they
    lower recall instead of silently disappearing.
    """
    top = top[:, :k]
    hits = np.asarray(relevant[np.arange(top.shape[0])[:, None], top].todense(), dtype=np.float32)
    denom = np.minimum(k, n_relevant).astype(np.float32)
    discounts = 1.0 / np.log2(np.arange(2, k + 2))
    dcg = hits @ discounts[: hits.shape[1]]
    idcg = np.array([discounts[: int(d)].sum() for d in denom])
    precision_at = np.cumsum(hits, axis=1) / np.arange(1, hits.shape[1] + 1)
    ap = (precision_at * hits).sum(axis=1) / denom
    n_hits = hits.sum(axis=1)
    return {
        "recall10": float(np.mean(n_hits / denom)),
        "ndcg10": float(np.mean(dcg / idcg)),
        "map10": float(np.mean(ap)),
        "hitrate10": float(np.mean(n_hits > 0)),
        "coverage10": float(len(np.unique(top)) / n_items),
    }


def score_split(model: Model, split: Split, batch: int = 2048) -> np.ndarray:
    return np.vstack([model.score(split.user_rows[i:i + batch]) for i in range(0, split.n_users, batch)])


def evaluate_scores(scores: np.ndarray, split: Split, k: int = K) -> dict[str, float]:
    top = top_k(scores, k, split.exclude)
    return ranking_metrics(top, split.relevant, split.n_relevant, len(split.train.items), k)


@dataclass
class ModelResult:
    model: str
    variant: str
    params: dict
    metrics: dict[str, float]
    train_seconds: float


def fit_and_evaluate(model: Model, split: Split, params: dict | None = None) -> tuple[ModelResult, np.ndarray]:
    t0 = time.perf_counter()
    model.fit(split.train)
    seconds = time.perf_counter() - t0
    scores = score_split(model, split)
    return ModelResult(model.name, split.variant, params or {}, evaluate_scores(scores, split), seconds), scores


# --- tuning grids (small on purpose: 2 shared cores) -------------------------------------------
Grid = dict[str, tuple[Callable[..., Model], dict[str, list]]]
GRIDS: Grid = {
    "pop_global": (GlobalPopularity, {}),
    "pop_recent": (RecentPopularity, {"window_days": [7, 14, 30, 60]}),
    "repeat": (RepeatPurchase, {"half_life_days": [15, 30, 60, 120, 1e6]}),
    "itemknn": (ItemKNN, {"neighbours": [50, 200], "shrink": [0.0, 10.0, 50.0]}),
    "als": (ALS, {"factors": [32, 64, 128], "regularization": [0.01, 0.1], "alpha": [2.0, 10.0]}),
}
CONTENT_GRID = {"neighbours": [20, 100]}
HYBRID_WEIGHT_GRID = {"repeat": [0.0, 0.5, 1.0, 2.0], "itemknn": [0.0, 0.25, 0.5, 1.0],
                      "als": [0.0, 0.25, 0.5, 1.0], "pop_recent": [0.0, 0.1, 0.3], "content": [0.0, 0.25, 0.5]}
TUNE_METRIC = "ndcg10"


def model_grids(products: Mapping[str, ProductLike] | None = None) -> Grid:
    """The models of one run; the content-based model joins when item records are given."""
    grids = dict(GRIDS)
    if products:
        grids["content"] = (partial(ContentKNN, products), CONTENT_GRID)
    return grids


def _grid(params: dict[str, list]) -> Iterable[dict]:
    keys = list(params)
    for values in itertools.product(*(params[k] for k in keys)):
        yield dict(zip(keys, values))


@dataclass
class Tuned:
    params: dict[str, dict] = field(default_factory=dict)        # model -> best params
    hybrid_weights: dict[str, float] = field(default_factory=dict)
    validation: dict[str, dict[str, float]] = field(default_factory=dict)  # model -> metrics at best params


def hybrid_components(grids: Grid) -> tuple[str, ...]:
    return tuple(k for k in HYBRID_WEIGHT_GRID if k in grids)


def tune(split: Split, grids: Grid = GRIDS, progress: Callable[[str], None] = lambda _: None) -> Tuned:
    """Pick each model's parameters and the hybrid weights by NDCG@10 on a validation split."""
    tuned = Tuned()
    best_scores: dict[str, np.ndarray] = {}
    for name, (factory, grid) in grids.items():
        best = None
        for params in _grid(grid):
            result, scores = fit_and_evaluate(factory(**params), split, params)
            if best is None or result.metrics[TUNE_METRIC] > best[0].metrics[TUNE_METRIC]:
                best = (result, scores)
        tuned.params[name] = best[0].params
        tuned.validation[name] = best[0].metrics
        best_scores[name] = best[1]
        progress(f"{split.variant} {name}: {best[0].params} {TUNE_METRIC}={best[0].metrics[TUNE_METRIC]:.4f}")
    components = hybrid_components(grids)
    normalised = {k: normalise_rows(best_scores[k]) for k in components}
    weight_grid = {k: HYBRID_WEIGHT_GRID[k] for k in components}
    best = None
    for weights in _grid(weight_grid):
        if not any(weights.values()):
            continue
        metrics = evaluate_scores(blend(normalised, weights, normalised=True), split)
        if best is None or metrics[TUNE_METRIC] > best[1][TUNE_METRIC]:
            best = (weights, metrics)
    tuned.hybrid_weights, tuned.validation["hybrid"] = best
    progress(f"{split.variant} hybrid: {best[0]} {TUNE_METRIC}={best[1][TUNE_METRIC]:.4f}")
    return tuned


def build_models(tuned: Tuned, grids: Grid = GRIDS) -> list[Model]:
    models = [factory(**tuned.params.get(name, {})) for name, (factory, _) in grids.items()]
    components = {name: grids[name][0](**tuned.params.get(name, {})) for name in hybrid_components(grids)}
    models.append(Hybrid(components, dict(tuned.hybrid_weights)))
    return models


@dataclass
class ProtocolConfig:
    val_start: str = "2011-08-01"
    test_start: str = "2011-10-01"
    test_end: str | None = "2011-12-09"


@dataclass
class ProtocolResult:
    config: ProtocolConfig
    results: list[ModelResult]
    tuned: dict[str, Tuned]
    split_stats: dict[str, dict[str, int]]


def run_protocol(lines: pd.DataFrame, config: ProtocolConfig = ProtocolConfig(),
                 progress: Callable[[str], None] = lambda _: None,
                 products: Mapping[str, ProductLike] | None = None) -> ProtocolResult:
    """Tune on validation, then fit every model on the full training period and score the test period.
    `products` (sku -> catalogue record) adds the content-based model."""
    grids = model_grids(products)
    results: list[ModelResult] = []
    tuned_by_variant: dict[str, Tuned] = {}
    stats: dict[str, dict[str, int]] = {}
    for variant in VARIANTS:
        val = make_split(lines[lines["ordered_at"] < pd.Timestamp(config.test_start)], config.val_start,
                         None, variant)
        tuned = tune(val, grids, progress)
        tuned_by_variant[variant] = tuned
        test = make_split(lines, config.test_start, config.test_end, variant)
        stats[variant] = {"validation_users": val.n_users, "test_users": test.n_users,
                          "train_customers": len(test.train.users), "train_items": len(test.train.items),
                          "test_relevant_pairs": int(test.n_relevant.sum())}
        for model in build_models(tuned, grids):
            params = tuned.params.get(model.name, {}) if model.name != "hybrid" else tuned.hybrid_weights
            result, _ = fit_and_evaluate(model, test, params)
            results.append(result)
            progress(f"{variant} {model.name}: recall10={result.metrics['recall10']:.4f} "
                     f"ndcg10={result.metrics['ndcg10']:.4f} ({result.train_seconds:.2f}s)")
    return ProtocolResult(config, results, tuned_by_variant, stats)
