"""Offline evaluation protocol (time split, two relevance variants, validation-only tuning).

The protocol is fixed so numbers compare across runs and with published anchors:
- train on orders before `test_start`, test on orders from `test_start` to the end of the data;
- test users are customers with orders in both periods;
- variant "A": relevant = every item the customer bought in the test period; already-bought items
  may be recommended (repeat purchase is most of retail);
- variant "B": relevant = test items the customer had never bought before; already-bought items are
  removed from the recommendations (discovery);
- hyper-parameters and hybrid weights are chosen by the mean score over validation folds inside
  the training period (by default June–July and August–September 2011), never on the test period.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial

import numpy as np
import pandas as pd
from scipy import sparse

from recommender.content import ProductLike
from recommender.data import Interactions, validate_order_lines
from recommender.models import (
    ALS,
    ContentKNN,
    GlobalPopularity,
    Hybrid,
    ItemKNN,
    Model,
    RecentPopularity,
    RepeatPurchase,
    UserKNN,
    blend,
    normalise_rows,
)
from recommender.ranker import LearnedRanker

VARIANTS = ("A", "B")
K = 10


@dataclass
class Split:
    """A train matrix plus, for each evaluated user, the relevant items and what to exclude."""

    variant: str
    train: Interactions
    user_rows: np.ndarray  # rows of train.strength for the evaluated users
    relevant: sparse.csr_matrix  # evaluated users × train items: 1 where relevant
    n_relevant: np.ndarray  # relevant count per user, including items unknown to train
    exclude: sparse.csr_matrix | None  # evaluated users × items to remove from the list (variant B)

    @property
    def n_users(self) -> int:
        return len(self.user_rows)


def make_split(
    lines: pd.DataFrame,
    test_start: str | pd.Timestamp,
    test_end: str | pd.Timestamp | None,
    variant: str,
    train_start: str | pd.Timestamp | None = None,
) -> Split:
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
    relevant = sparse.csr_matrix(
        (np.ones(len(rows), np.float32), (rows, cols)), shape=(len(users), len(train.items))
    )
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


def ranking_metrics(
    top: np.ndarray, relevant: sparse.csr_matrix, n_relevant: np.ndarray, n_items: int, k: int = K
) -> dict[str, float]:
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


def score_rows(model: Model, rows: np.ndarray, batch: int = 2048) -> np.ndarray:
    return np.vstack([model.score(rows[i : i + batch]) for i in range(0, len(rows), batch)])


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


# --- tuning grids (small on purpose: 2 shared cores) -------------------------------------------
Grid = dict[str, tuple[Callable[..., Model], dict[str, list]]]
GRIDS: Grid = {
    "pop_global": (GlobalPopularity, {}),
    "pop_recent": (RecentPopularity, {"window_days": [7, 14, 30, 60]}),
    "repeat": (RepeatPurchase, {"half_life_days": [15, 30, 60, 120, 1e6], "item_prior": [0.0, 1.0, 2.0]}),
    "itemknn": (ItemKNN, {"neighbours": [50, 200], "shrink": [0.0, 10.0, 50.0]}),
    "userknn": (UserKNN, {"neighbours": [25, 50, 100], "half_life_days": [30, 120]}),
    "als": (ALS, {"factors": [32, 64, 128], "regularization": [0.01, 0.1], "alpha": [2.0, 10.0]}),
}
CONTENT_GRID = {"neighbours": [20, 100]}
# The hybrid blends these (when present); its weights are tuned by coordinate ascent over
# HYBRID_WEIGHT_VALUES, starting from equal weights, until a full round improves nothing.
HYBRID_COMPONENTS = ("repeat", "itemknn", "userknn", "als", "pop_recent", "content")
HYBRID_WEIGHT_VALUES = (0.0, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
HYBRID_MAX_ROUNDS = 4
# The learned ranker (variant A only: its features describe the customer's own items) re-ranks the
# candidates of these components, with their tuned parameters; item-kNN and content were left out
# because they lowered its validation NDCG@10 (0.4172 without them, 0.4158 with them).
RANKER_COMPONENTS = ("repeat", "userknn", "als", "pop_recent")
RANKER_VARIANTS = ("A",)
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
    params: dict[str, dict] = field(default_factory=dict)  # model -> best params
    hybrid_weights: dict[str, float] = field(default_factory=dict)
    validation: dict[str, dict[str, float]] = field(default_factory=dict)  # model -> metrics at best params

    @property
    def best_model(self) -> str:
        """The model with the best validation score: the one reported as "best" on test."""
        return max(self.validation, key=lambda m: self.validation[m][TUNE_METRIC])


def hybrid_components(grids: Grid) -> tuple[str, ...]:
    return tuple(k for k in HYBRID_COMPONENTS if k in grids)


class FitCache:
    """Fits each (model, params) once on one training matrix and scores it once for every evaluated
    user of every variant: A and B share the training period, so they share the fits."""

    def __init__(self, splits: Mapping[str, Split], grids: Grid) -> None:
        trains = {id(s.train) for s in splits.values()}
        if len(trains) != 1:
            raise ValueError("the variants of one cache must share one training matrix")
        self.splits, self.grids = dict(splits), grids
        self.train = next(iter(splits.values())).train
        self.rows = np.unique(np.concatenate([s.user_rows for s in splits.values()]))
        self._where = {v: np.searchsorted(self.rows, s.user_rows) for v, s in splits.items()}
        self._fitted: dict[tuple, tuple[Model, float, np.ndarray]] = {}

    def get(self, name: str, params: Mapping) -> tuple[Model, float, np.ndarray]:
        """(fitted model, fit seconds, scores for self.rows)."""
        key = (name, tuple(sorted(params.items())))
        if key not in self._fitted:
            model = self.grids[name][0](**params)
            t0 = time.perf_counter()
            model.fit(self.train)
            seconds = time.perf_counter() - t0
            self._fitted[key] = (model, seconds, score_rows(model, self.rows))
        return self._fitted[key]

    def scores(self, all_scores: np.ndarray, variant: str) -> np.ndarray:
        return all_scores[self._where[variant]]

    def forget(self, name: str, keep: Iterable[Mapping]) -> None:
        """Drop fits of `name` other than `keep` (memory: a grid's losers are not needed again)."""
        kept = {(name, tuple(sorted(p.items()))) for p in keep}
        for key in [k for k in self._fitted if k[0] == name and k not in kept]:
            del self._fitted[key]


def mean_metrics(per_fold: Iterable[dict[str, float]]) -> dict[str, float]:
    """Average each metric over validation folds."""
    per_fold = list(per_fold)
    return {k: float(np.mean([m[k] for m in per_fold])) for k in per_fold[0]}


def tune_weights(
    folds: list[tuple[Mapping[str, np.ndarray], Split]],
) -> tuple[dict[str, float], dict[str, float]]:
    """Coordinate ascent on the blend weights, scored by the mean over the validation folds (each a
    pair of per-user normalised component scores and its split): change one weight at a time to the
    value of HYBRID_WEIGHT_VALUES that scores best, keep any improvement, stop after a round without one."""
    names = list(folds[0][0])
    weights = {k: 0.5 for k in names}
    totals = [blend(normalised, weights, normalised=True) for normalised, _ in folds]
    best = mean_metrics(evaluate_scores(t, split) for t, (_, split) in zip(totals, folds))
    for _ in range(HYBRID_MAX_ROUNDS):
        improved = False
        for key in names:
            for value in HYBRID_WEIGHT_VALUES:
                trial = {**weights, key: value}
                if value == weights[key] or not any(trial.values()):
                    continue
                candidates = [
                    t + (value - weights[key]) * normalised[key] for t, (normalised, _) in zip(totals, folds)
                ]
                metrics = mean_metrics(evaluate_scores(c, split) for c, (_, split) in zip(candidates, folds))
                if metrics[TUNE_METRIC] > best[TUNE_METRIC] + 1e-6:
                    weights, totals, best, improved = trial, candidates, metrics, True
        if not improved:
            break
    return weights, best


def tune(caches: list[FitCache], progress: Callable[[str], None] = lambda _: None) -> dict[str, Tuned]:
    """Per variant, pick each model's parameters and the hybrid weights by NDCG@10 averaged over the
    validation folds (one cache per fold, all inside the training period)."""
    variants = list(caches[0].splits)
    grids = caches[0].grids
    tuned = {v: Tuned() for v in variants}
    best_scores: list[dict[str, dict[str, np.ndarray]]] = [{v: {} for v in variants} for _ in caches]
    for name, (_, grid) in grids.items():
        best: dict[str, tuple[dict, dict[str, float]]] = {}
        for params in _grid(grid):
            fold_scores = [cache.get(name, params)[2] for cache in caches]
            for v in variants:
                metrics = mean_metrics(
                    evaluate_scores(cache.scores(scores, v), cache.splits[v])
                    for cache, scores in zip(caches, fold_scores)
                )
                if v not in best or metrics[TUNE_METRIC] > best[v][1][TUNE_METRIC]:
                    best[v] = (params, metrics)
        for cache in caches:
            cache.forget(name, [p for p, _ in best.values()])
        for v, (params, metrics) in best.items():
            tuned[v].params[name], tuned[v].validation[name] = params, metrics
            if name in HYBRID_COMPONENTS:
                for cache, fold in zip(caches, best_scores):
                    fold[v][name] = normalise_rows(cache.scores(cache.get(name, params)[2], v))
            progress(f"{v} {name}: {params} {TUNE_METRIC}={metrics[TUNE_METRIC]:.4f}")
    for v in variants:
        weights, metrics = tune_weights(
            [(fold[v], cache.splits[v]) for fold, cache in zip(best_scores, caches)]
        )
        tuned[v].hybrid_weights, tuned[v].validation["hybrid"] = weights, metrics
        progress(f"{v} hybrid: {weights} {TUNE_METRIC}={metrics[TUNE_METRIC]:.4f}")
    for v in RANKER_VARIANTS:
        if v in tuned:
            metrics = mean_metrics(ranker_result(cache, v, tuned[v])[0] for cache in caches)
            tuned[v].validation["ranker"] = metrics
            progress(f"{v} ranker: {TUNE_METRIC}={metrics[TUNE_METRIC]:.4f}")
    return tuned


def build_ranker(tuned: Tuned, grids: Grid) -> LearnedRanker:
    """A fresh ranker over the components with their tuned parameters."""
    return LearnedRanker(
        {k: partial(grids[k][0], **tuned.params.get(k, {})) for k in RANKER_COMPONENTS if k in grids}
    )


def ranker_result(cache: FitCache, variant: str, tuned: Tuned) -> tuple[dict[str, float], float]:
    """Fit the ranker on the cache's training period and score the variant's users: (metrics, fit seconds)."""
    split = cache.splits[variant]
    ranker = build_ranker(tuned, cache.grids)
    t0 = time.perf_counter()
    ranker.fit(cache.train)
    seconds = time.perf_counter() - t0
    return evaluate_scores(score_rows(ranker, split.user_rows), split), seconds


def build_model(name: str, tuned: Tuned, grids: Grid) -> Model:
    """A fresh, unfitted model with the tuned parameters (the hybrid with its tuned weights)."""
    if name == "ranker":
        return build_ranker(tuned, grids)
    if name != "hybrid":
        return grids[name][0](**tuned.params.get(name, {}))
    components = {
        k: grids[k][0](**tuned.params.get(k, {}))
        for k in hybrid_components(grids)
        if tuned.hybrid_weights.get(k, 0.0)
    }
    return Hybrid(components, dict(tuned.hybrid_weights))


@dataclass
class ProtocolConfig:
    """Dates of the protocol. Validation folds: one per start in `earlier_val_starts` + `val_start`,
    each training on everything before its start and validating up to the next start (the last
    fold up to `test_start`), so every fold lies inside the training period."""

    val_start: str = "2011-08-01"
    test_start: str = "2011-10-01"
    test_end: str | None = "2011-12-09"
    earlier_val_starts: tuple[str, ...] = ("2011-06-01",)

    def validation_folds(self) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        starts = sorted(pd.Timestamp(s) for s in (*self.earlier_val_starts, self.val_start))
        ends = [*starts[1:], pd.Timestamp(self.test_start)]
        if len(set(starts)) != len(starts) or any(s >= e for s, e in zip(starts, ends)):
            raise ValueError(f"validation starts must be distinct and before test_start: {starts}")
        return list(zip(starts, ends))


@dataclass
class ProtocolResult:
    config: ProtocolConfig
    results: list[ModelResult]
    tuned: dict[str, Tuned]
    split_stats: dict[str, dict[str, int]]

    def best(self, variant: str) -> ModelResult:
        """The test result of the model that was best on validation (not the best on test)."""
        name = self.tuned[variant].best_model
        return next(r for r in self.results if r.variant == variant and r.model == name)


def make_splits(
    lines: pd.DataFrame, test_start: str | pd.Timestamp, test_end: str | pd.Timestamp | None
) -> dict[str, Split]:
    """Both variants of one cut, sharing one training matrix."""
    first = make_split(lines, test_start, test_end, VARIANTS[0])
    splits = {VARIANTS[0]: first}
    for variant in VARIANTS[1:]:
        split = make_split(lines, test_start, test_end, variant)
        if not (
            np.array_equal(split.train.users, first.train.users)
            and np.array_equal(split.train.items, first.train.items)
        ):
            raise AssertionError("variants of one cut must have the same training matrix")
        split.train = first.train
        splits[variant] = split
    return splits


def run_protocol(
    lines: pd.DataFrame,
    config: ProtocolConfig = ProtocolConfig(),
    progress: Callable[[str], None] = lambda _: None,
    products: Mapping[str, ProductLike] | None = None,
) -> ProtocolResult:
    """Tune on validation, then fit every model on the full training period and score the test period.
    `products` (sku -> catalogue record) adds the content-based model. Each (model, params) is fitted
    once per training period and serves both variants; the hybrid reuses its fitted components, and
    its training time is the sum of theirs."""
    grids = model_grids(products)
    folds = [
        FitCache(make_splits(lines[lines["ordered_at"] < end], start, None), grids)
        for start, end in config.validation_folds()
    ]
    tuned = tune(folds, progress)
    val_users = {v: [f.splits[v].n_users for f in folds] for v in VARIANTS}
    del folds  # their fits and scores are no longer needed
    test = FitCache(make_splits(lines, config.test_start, config.test_end), grids)
    results: list[ModelResult] = []
    for variant, split in test.splits.items():
        t = tuned[variant]
        normalised: dict[str, np.ndarray] = {}
        seconds: dict[str, float] = {}
        for name in grids:
            _, secs, all_scores = test.get(name, t.params[name])
            scores = test.scores(all_scores, variant)
            results.append(ModelResult(name, variant, t.params[name], evaluate_scores(scores, split), secs))
            seconds[name] = secs
            if t.hybrid_weights.get(name, 0.0):
                normalised[name] = normalise_rows(scores)
        hybrid = blend(normalised, t.hybrid_weights, normalised=True)
        results.append(
            ModelResult(
                "hybrid",
                variant,
                t.hybrid_weights,
                evaluate_scores(hybrid, split),
                sum(seconds[k] for k in normalised),
            )
        )
        if variant in RANKER_VARIANTS:
            metrics, secs = ranker_result(test, variant, t)
            params = {
                "components": list(RANKER_COMPONENTS),
                "candidates": LearnedRanker.candidates,
                "label_days": LearnedRanker.label_days,
            }
            results.append(ModelResult("ranker", variant, params, metrics, secs))
        for r in results[-len(grids) - 1 - (variant in RANKER_VARIANTS) :]:
            progress(
                f"{variant} {r.model}: recall10={r.metrics['recall10']:.4f} ndcg10={r.metrics['ndcg10']:.4f} "
                f"({r.train_seconds:.2f}s)"
            )
    stats = {
        v: {
            "validation_users": val_users[v],
            "test_users": s.n_users,
            "train_customers": len(s.train.users),
            "train_items": len(s.train.items),
            "test_relevant_pairs": int(s.n_relevant.sum()),
        }
        for v, s in test.splits.items()
    }
    return ProtocolResult(config, results, tuned, stats)
