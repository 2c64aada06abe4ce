"""A learned re-ranker over the other models' candidates (variant A: repeats allowed).

A hand-weighted blend gives every customer the same trade-off between their own items and new ones.
A customer with many orders and a narrow range rebuys; a new customer explores. The ranker learns
that trade-off from data. It takes the union of each component's top `candidates` items, describes
every (customer, item) pair by the components' scores and ranks, the customer's history with the
item, the item's popularity and repurchase rate, and the customer's activity crossed with "already
bought" (user-level features alone cannot order one customer's items). It fits a pairwise logistic
regression: within a customer, a bought item should outscore an item that was not bought.

Training data comes from the model's own training period: components are fitted on everything but
the last `label_days`, and the purchases of those days are the labels. The components are then
fitted again on the whole period, which is what `score` uses. The protocol therefore validates the
ranker like any other model: fitted on a fold's training data, scored on the fold's next months.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from recommender.data import Interactions
from recommender.models import Model, normalise_rows, repurchase_rate

NOT_CANDIDATE = np.float32(-1e9)


def dense_rows(matrix: sparse.csr_matrix, rows: np.ndarray) -> np.ndarray:
    """Dense copy of some CSR rows; one row (serving) skips scipy's fancy indexing."""
    if len(rows) == 1:
        out = np.zeros((1, matrix.shape[1]), np.float32)
        lo, hi = matrix.indptr[rows[0]], matrix.indptr[rows[0] + 1]
        out[0, matrix.indices[lo:hi]] = matrix.data[lo:hi]
        return out
    return matrix[rows].toarray().astype(np.float32)


def ranks_of(normalised: np.ndarray, u: np.ndarray, i: np.ndarray) -> np.ndarray:
    """For each pair (u, i), how many items of row u score strictly higher than item i. Rows are in
    [0, 1], so an offset of 2 per row turns one sorted flat array into every row's sorted scores."""
    n_items = normalised.shape[1]
    offset = 2.0 * np.arange(normalised.shape[0], dtype=np.float64)[:, None]
    keys = np.sort(normalised + offset, axis=1).ravel()
    return (u + 1) * n_items - np.searchsorted(keys, normalised[u, i] + offset[u, 0], side="right")


@dataclass
class PairFeatures:
    """What the ranker knows about items and customers, beside the component scores."""

    strength: sparse.csr_matrix
    days_since: sparse.csr_matrix
    repurchase: np.ndarray
    log_buyers: np.ndarray
    log_recent_30: np.ndarray
    log_recent_7: np.ndarray
    orders: np.ndarray

    @classmethod
    def of(cls, train: Interactions) -> PairFeatures:
        def buyers_within(days: float) -> np.ndarray:
            recent = train.days_since.copy()
            recent.data = (recent.data <= days + 1.0).astype(np.float32)
            return np.log1p(np.asarray(recent.sum(axis=0)).ravel())

        return cls(
            train.strength,
            train.days_since,
            repurchase_rate(train),
            np.log1p(np.asarray((train.strength > 0).sum(axis=0)).ravel()),
            buyers_within(30),
            buyers_within(7),
            train.orders_per_user(),
        )

    def matrix(
        self, rows: np.ndarray, normalised: list[np.ndarray], u: np.ndarray, i: np.ndarray
    ) -> np.ndarray:
        """One feature row per candidate pair (u indexes `rows`, i is the item column)."""
        strength = dense_rows(self.strength, rows)
        days = dense_rows(self.days_since, rows)
        st, ds = strength[u, i], days[u, i]
        own = (st > 0).astype(np.float32)
        log_days = np.log1p(np.where(ds > 0, ds, 400.0))
        # days since the customer's last order: the smallest stored "days since" of the row
        last_order = np.log1p(np.where(days > 0, days, np.inf).min(axis=1))[u]
        orders = self.orders[rows][u]
        log_orders = np.log1p(orders)
        n_items = np.log1p((strength > 0).sum(axis=1))[u]
        columns = [
            *(s[u, i] for s in normalised),
            *(np.log1p(ranks_of(s, u, i)) for s in normalised),
            own,
            np.log1p(st),
            log_days,
            self.repurchase[i],
            self.log_buyers[i],
            self.log_recent_30[i],
            self.log_recent_7[i],
            own * log_orders,
            own * n_items,
            own * last_order,
            own * st / np.maximum(orders, 1.0),
            own * log_days * log_orders,
        ]
        return np.column_stack(columns).astype(np.float32)


def within_user_pairs(
    u: np.ndarray, label: np.ndarray, per_user: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """Up to `per_user` random (bought, not bought) pairs of candidates per customer."""
    rng = np.random.default_rng(seed)
    order = np.argsort(u, kind="stable")
    starts = np.flatnonzero(np.r_[True, u[order][1:] != u[order][:-1]])
    better, worse = [], []
    for lo, hi in zip(starts, np.r_[starts[1:], len(order)]):
        group = order[lo:hi]
        pos, neg = group[label[group]], group[~label[group]]
        if len(pos) and len(neg):
            n = min(per_user, len(pos) * len(neg))
            better.append(rng.choice(pos, n))
            worse.append(rng.choice(neg, n))
    if not better:
        raise ValueError("no customer bought in the label window: nothing to learn a ranking from")
    return np.concatenate(better), np.concatenate(worse)


def pairwise_logistic(diff: np.ndarray, l2: float, iterations: int = 30) -> np.ndarray:
    """Weights w minimising sum(log(1 + exp(-diff @ w))) + l2 / 2 * |w|^2 by Newton's method: with a
    few dozen features each step is one small linear solve, well under a second for 10^5 pairs."""
    from threadpoolctl import threadpool_limits

    diff = diff.astype(np.float64)
    w = np.zeros(diff.shape[1])
    with threadpool_limits(
        1, "blas"
    ):  # these tall, thin products only lose to thread start-up on 2 shared cores
        for _ in range(iterations):
            p = 1.0 / (1.0 + np.exp(diff @ w))  # chance that the pair is ordered wrongly
            gradient = l2 * w - diff.T @ p
            hessian = (diff * (p * (1.0 - p))[:, None]).T @ diff + l2 * np.eye(len(w))
            step = np.linalg.solve(hessian, gradient)
            w -= step
            if np.abs(step).max() < 1e-6:
                break
    return w


@dataclass
class LearnedRanker:
    """Pairwise logistic regression over the union of the components' top candidates (module doc)."""

    components: Mapping[str, Callable[[], Model]] = field(default_factory=dict, repr=False)
    candidates: int = 20
    label_days: float = 61.0
    pairs_per_user: int = 200
    l2: float = 1.0
    seed: int = 7
    name: str = "ranker"
    weights: np.ndarray = field(default=None, repr=False)
    _models: dict[str, Model] = field(default=None, repr=False)
    _features: PairFeatures = field(default=None, repr=False)

    def _fit_components(self, train: Interactions) -> None:
        self._models = {k: make().fit(train) for k, make in self.components.items()}
        self._features = PairFeatures.of(train)

    def _candidates(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(features, u, i) of every candidate pair of `rows`."""
        normalised = [normalise_rows(m.score(rows)) for m in self._models.values()]
        k = min(self.candidates, normalised[0].shape[1])
        chosen = np.zeros(normalised[0].shape, bool)
        for s in normalised:
            np.put_along_axis(chosen, np.argpartition(-s, k - 1, axis=1)[:, :k], True, axis=1)
        u, i = np.nonzero(chosen)
        return self._features.matrix(rows, normalised, u, i), u, i

    def fit(self, train: Interactions) -> LearnedRanker:
        if not self.components:
            raise ValueError("a ranker needs components")
        earlier, label = train.before(self.label_days)
        self._fit_components(earlier)
        rows = np.flatnonzero((np.diff(label.indptr) > 0) & (np.diff(earlier.strength.indptr) > 0))
        x, u, i = self._candidates(rows)
        bought = np.asarray(label[rows[u], i]).ravel() > 0
        better, worse = within_user_pairs(u, bought, self.pairs_per_user, self.seed)
        scale = x.std(axis=0)
        scale[scale == 0] = 1.0
        self.weights = (pairwise_logistic((x[better] - x[worse]) / scale, self.l2) / scale).astype(np.float32)
        self._fit_components(train)
        return self

    def score(self, user_rows: np.ndarray) -> np.ndarray:
        x, u, i = self._candidates(np.asarray(user_rows))
        out = np.full((len(user_rows), self._features.strength.shape[1]), NOT_CANDIDATE, np.float32)
        out[u, i] = x @ self.weights
        return out
