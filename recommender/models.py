"""Recommendation models over an Interactions matrix, all with the same two-step interface:
`fit(train)` then `score(user_rows)` -> dense users × items scores (higher is better).

One interface lets the evaluation run every model under the same protocol and lets the hybrid
blend any of them. Scores are not comparable across models; the hybrid normalises them per user.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
from scipy import sparse

from recommender.content import ProductLike
from recommender.data import Interactions


class Model(Protocol):
    name: str

    def fit(self, train: Interactions) -> Model: ...

    def score(self, user_rows: np.ndarray) -> np.ndarray: ...


def _buyers_per_item(matrix: sparse.csr_matrix) -> np.ndarray:
    return np.asarray((matrix > 0).sum(axis=0)).ravel().astype(np.float32)


def _tile(vector: np.ndarray, n: int) -> np.ndarray:
    return np.broadcast_to(vector, (n, vector.shape[0])).astype(np.float32, copy=True)


def row_product(left: sparse.csr_matrix, row: int, right: sparse.csr_matrix) -> np.ndarray:
    """Dense `left[row] @ right` for one CSR row with plain numpy: serving one customer this way
    avoids scipy's per-call overhead (index checks, new matrix objects), several times the arithmetic."""
    lo, hi = left.indptr[row], left.indptr[row + 1]
    idx, weights = left.indices[lo:hi], left.data[lo:hi]
    starts = right.indptr[idx]
    lens = right.indptr[idx + 1] - starts
    total = int(lens.sum())
    if total == 0:
        return np.zeros(right.shape[1], np.float32)
    positions = np.repeat(starts - np.cumsum(lens) + lens, lens) + np.arange(total)
    return np.bincount(
        right.indices[positions],
        weights=np.repeat(weights, lens) * right.data[positions],
        minlength=right.shape[1],
    ).astype(np.float32)


def product_scores(left: sparse.csr_matrix, user_rows: np.ndarray, right: sparse.csr_matrix) -> np.ndarray:
    """Dense `left[user_rows] @ right`; the single-row case (serving) takes the numpy path."""
    if len(user_rows) == 1:
        return row_product(left, int(user_rows[0]), right)[None, :]
    return np.asarray((left[user_rows] @ right).todense(), dtype=np.float32)


@dataclass
class GlobalPopularity:
    """Items bought by the most customers over the whole training period: the floor every model must beat."""

    name: str = "pop_global"
    popularity: np.ndarray = field(default=None, repr=False)

    def fit(self, train: Interactions) -> GlobalPopularity:
        self.popularity = _buyers_per_item(train.strength)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        return _tile(self.popularity, len(user_rows))


@dataclass
class RecentPopularity:
    """Items bought by the most customers in the last `window_days`: follows seasonality (retail has a lot)."""

    window_days: float = 30.0
    name: str = "pop_recent"
    popularity: np.ndarray = field(default=None, repr=False)

    def fit(self, train: Interactions) -> RecentPopularity:
        recent = train.days_since.copy()
        recent.data = (recent.data <= self.window_days + 1.0).astype(np.float32)
        # Global popularity breaks ties among items nobody bought in the window.
        glob = _buyers_per_item(train.strength)
        self.popularity = np.asarray(recent.sum(axis=0)).ravel().astype(np.float32) + 1e-3 * glob / max(
            glob.max(), 1.0
        )
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        return _tile(self.popularity, len(user_rows))


def recency_weighted(train: Interactions, half_life_days: float) -> sparse.csr_matrix:
    """Strength × exp-decay of the days since the last purchase: what a customer buys lately and often."""
    decay = train.days_since.copy()
    decay.data = np.exp(-math.log(2) * (decay.data - 1.0) / half_life_days).astype(np.float32)
    return train.strength.multiply(decay).tocsr().astype(np.float32)


def repurchase_rate(train: Interactions) -> np.ndarray:
    """Per item, the share of its buyers who bought it in more than one order (Laplace-smoothed):
    refills and staples are bought again, a one-off gift is not."""
    buyers = _buyers_per_item(train.strength)
    repeaters = np.asarray((train.strength > 1).sum(axis=0)).ravel().astype(np.float32)
    return (repeaters + 1.0) / (buyers + 2.0)


@dataclass
class RepeatPurchase:
    """The customer's own history: items ranked by how often they were bought, decayed by the time
    since the last purchase (half-life in days), times the item's repurchase rate to the power
    `item_prior` (0 = ignore it), on a log scale. Global popularity (tiny weight) fills the rest of
    the list, so a customer with fewer than k past items still gets k recommendations."""

    half_life_days: float = 60.0
    item_prior: float = 0.0
    name: str = "repeat"
    _weighted: sparse.csr_matrix = field(default=None, repr=False)
    _pop: np.ndarray = field(default=None, repr=False)

    def fit(self, train: Interactions) -> RepeatPurchase:
        weighted = recency_weighted(train, self.half_life_days)
        if self.item_prior:
            weighted = weighted.multiply(repurchase_rate(train)[None, :] ** self.item_prior).tocsr()
        self._weighted = weighted.astype(np.float32)
        pop = _buyers_per_item(train.strength)
        self._pop = 1e-6 * pop / max(pop.max(), 1.0)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        if len(user_rows) == 1:
            row = self._pop[None, :].copy()
            lo, hi = self._weighted.indptr[user_rows[0]], self._weighted.indptr[user_rows[0] + 1]
            row[0, self._weighted.indices[lo:hi]] += self._weighted.data[lo:hi]
        else:
            row = self._weighted[user_rows].toarray() + self._pop
        # log: diminishing returns (the tenth order of an item counts less than the second), which
        # keeps one heavily bought item from flattening the rest after a blend's min–max scaling
        return np.log1p(10.0 * row)


@dataclass
class UserKNN:
    """User-to-user collaborative filtering on recency-weighted histories: a customer's score for an
    item sums what their `neighbours` most similar customers (cosine) bought lately. Neighbours are
    found at fit time, so scoring one customer is one small sparse product."""

    neighbours: int = 50
    half_life_days: float = 120.0
    name: str = "userknn"
    _profiles: sparse.csr_matrix = field(default=None, repr=False)
    _neighbours: sparse.csr_matrix = field(default=None, repr=False)

    def fit(self, train: Interactions, block: int = 512) -> UserKNN:
        weighted = recency_weighted(train, self.half_life_days)
        norms = np.sqrt(np.asarray(weighted.multiply(weighted).sum(axis=1)).ravel())
        profiles = (
            sparse.diags((1.0 / np.where(norms > 0, norms, 1.0)).astype(np.float32)) @ weighted
        ).tocsr()
        n = profiles.shape[0]
        k = min(self.neighbours, n - 1)
        rows, cols, vals = [], [], []
        transposed = profiles.T.tocsc()
        for start in range(0, n if k > 0 else 0, block):
            sims = (profiles[start : start + block] @ transposed).toarray()
            local = np.arange(sims.shape[0])
            sims[local, start + local] = 0.0  # not one's own neighbour
            top = np.argpartition(-sims, k - 1, axis=1)[:, :k]
            v = np.take_along_axis(sims, top, axis=1)
            keep = v > 0
            rows.append(np.repeat(start + local, k)[keep.ravel()])
            cols.append(top[keep])
            vals.append(v[keep])
        self._neighbours = sparse.csr_matrix(
            (
                np.concatenate(vals) if vals else np.zeros(0, np.float32),
                (
                    np.concatenate(rows) if rows else np.zeros(0, int),
                    np.concatenate(cols) if cols else np.zeros(0, int),
                ),
            ),
            shape=(n, n),
            dtype=np.float32,
        )
        self._profiles = profiles
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        # square root: damps a few very similar heavy buyers against many neighbours agreeing
        return np.sqrt(product_scores(self._neighbours, user_rows, self._profiles))


@dataclass
class ItemKNN:
    """Item-to-item collaborative filtering: cosine similarity between items' buyer vectors (with
    shrinkage against similarities from few co-buyers), top-`neighbours` per item kept; a user's
    score for an item sums its similarity to the items they bought, weighted by strength."""

    neighbours: int = 100
    shrink: float = 10.0
    name: str = "itemknn"
    similarity: sparse.csr_matrix = field(default=None, repr=False)
    _user_items: sparse.csr_matrix = field(default=None, repr=False)

    def fit(self, train: Interactions) -> ItemKNN:
        binary = (train.strength > 0).astype(np.float32).tocsc()
        self.similarity = item_cosine(binary, self.neighbours, self.shrink)
        self._user_items = train.strength.astype(np.float32)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        return product_scores(self._user_items, user_rows, self.similarity)


def item_cosine(user_item: sparse.spmatrix, neighbours: int, shrink: float = 0.0) -> sparse.csr_matrix:
    """Item × item cosine similarity of the columns of `user_item`, diagonal removed, only the top
    `neighbours` entries of each row kept (rows: source item, columns: similar item)."""
    m = sparse.csc_matrix(user_item, dtype=np.float32)
    sim = (m.T @ m).toarray()
    norms = np.sqrt(np.diag(sim)).astype(np.float32)
    denom = np.outer(norms, norms)
    denom += shrink + 1e-9
    sim /= denom  # in place: two items × items arrays instead of four
    del denom
    np.fill_diagonal(sim, 0.0)
    n = sim.shape[0]
    k = min(neighbours, n - 1) if n > 1 else 0
    if k <= 0:
        return sparse.csr_matrix((n, n), dtype=np.float32)
    top = np.argpartition(-sim, k - 1, axis=1)[:, :k]
    rows = np.repeat(np.arange(n), k)
    vals = sim[rows, top.ravel()]
    keep = vals > 0
    return sparse.csr_matrix((vals[keep], (rows[keep], top.ravel()[keep])), shape=(n, n))


@dataclass
class ALS:
    """Matrix factorisation for implicit feedback (Hu, Koren & Volinsky 2008) via the `implicit`
    library: confidence 1 + alpha × strength, `factors` latent dimensions."""

    factors: int = 64
    regularization: float = 0.05
    alpha: float = 10.0
    iterations: int = 15
    seed: int = 7
    name: str = "als"
    user_factors: np.ndarray = field(default=None, repr=False)
    item_factors: np.ndarray = field(default=None, repr=False)

    def fit(self, train: Interactions) -> ALS:
        from implicit.cpu.als import AlternatingLeastSquares
        from threadpoolctl import threadpool_limits

        with threadpool_limits(1, "blas"):  # implicit's own threads; BLAS threads only contend with them
            model = AlternatingLeastSquares(
                factors=self.factors,
                regularization=self.regularization,
                alpha=self.alpha,
                iterations=self.iterations,
                random_state=self.seed,
                num_threads=1,
                calculate_training_loss=False,
            )
            model.fit(train.strength.astype(np.float32).tocsr(), show_progress=False)
        self.user_factors = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors = np.asarray(model.item_factors, dtype=np.float32)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        users = self.user_factors[user_rows]
        if len(users) <= 64:
            # One customer (serving): einsum stays on this thread; a BLAS call would wake its thread
            # pool, which costs tens of milliseconds on a loaded machine for a 1 × items product.
            return np.einsum("uf,if->ui", users, self.item_factors)
        return users @ self.item_factors.T


def normalise_rows(scores: np.ndarray) -> np.ndarray:
    """Scale each user's scores to [0, 1] by min–max, so components of a blend are comparable."""
    lo = scores.min(axis=1, keepdims=True)
    span = scores.max(axis=1, keepdims=True) - lo
    return (scores - lo) / np.where(span > 0, span, 1.0)


@dataclass
class Hybrid:
    """Weighted blend of per-user normalised component scores. Weights are tuned on validation
    (never on test); a component with weight 0 is not fitted."""

    components: dict[str, Model]
    weights: dict[str, float]
    name: str = "hybrid"

    def fit(self, train: Interactions) -> Hybrid:
        for key, model in self.components.items():
            if self.weights.get(key, 0.0):
                model.fit(train)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        return blend(
            {k: m.score(user_rows) for k, m in self.components.items() if self.weights.get(k, 0.0)},
            self.weights,
        )


def blend(
    component_scores: dict[str, np.ndarray], weights: dict[str, float], normalised: bool = False
) -> np.ndarray:
    """Weighted sum of per-user normalised scores (`normalised=True`: the inputs already are)."""
    total = None
    for key, scores in component_scores.items():
        w = weights.get(key, 0.0)
        if not w:
            continue
        part = w * (scores if normalised else normalise_rows(scores))
        total = part if total is None else total + part
    if total is None:
        raise ValueError("a hybrid needs at least one component with a non-zero weight")
    return total.astype(np.float32)


@dataclass
class ContentKNN:
    """Content-based item-to-item: catalogue-attribute similarity (recommender.content) between the
    items a user bought and every other item; needs no co-purchases, so it covers new items."""

    products: Mapping[str, ProductLike] = field(default_factory=dict, repr=False)
    neighbours: int = 50
    name: str = "content"
    similarity: sparse.csr_matrix = field(default=None, repr=False)
    _user_items: sparse.csr_matrix = field(default=None, repr=False)

    def fit(self, train: Interactions) -> ContentKNN:
        from recommender.content import ContentIndex

        missing = [s for s in train.items if s not in self.products]
        if missing:
            raise ValueError(f"{len(missing)} items have no catalogue record, e.g. {missing[:3]}")
        index = ContentIndex.build([self.products[s] for s in train.items])
        self.similarity = item_cosine(index.matrix.T, self.neighbours)
        self._user_items = train.strength.astype(np.float32)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        return product_scores(self._user_items, user_rows, self.similarity)
