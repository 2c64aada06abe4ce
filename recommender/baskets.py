"""Frequently bought together: pair statistics from baskets (one basket = one order).

support(A,B) = share of orders containing both; confidence(A→B) = P(B | A);
lift(A→B) = confidence / P(B), above 1 when B is bought with A more often than on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy import sparse

from recommender.data import validate_order_lines


@dataclass(frozen=True)
class PairRule:
    antecedent: str
    consequent: str
    together: int  # orders containing both
    support: float
    confidence: float
    lift: float


@dataclass
class BasketStats:
    items: np.ndarray
    item_orders: np.ndarray  # orders containing each item
    co_orders: sparse.csr_matrix  # item × item orders containing both (diagonal removed)
    n_orders: int
    item_index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.item_index = {s: i for i, s in enumerate(self.items)}

    @classmethod
    def from_lines(cls, lines: pd.DataFrame) -> BasketStats:
        validate_order_lines(lines)
        pairs = lines[["order_id", "sku"]].drop_duplicates()
        if pairs.empty:
            raise ValueError("no baskets")
        items = np.array(sorted(pairs["sku"].unique()))
        orders = pairs["order_id"].astype("category")
        item_pos = pd.Series(np.arange(len(items)), index=items)
        basket = sparse.csr_matrix(
            (
                np.ones(len(pairs), np.float32),
                (orders.cat.codes.to_numpy(), item_pos.loc[pairs["sku"]].to_numpy()),
            ),
            shape=(len(orders.cat.categories), len(items)),
        )
        co = (basket.T @ basket).tocsr()
        co.setdiag(0)
        co.eliminate_zeros()
        return cls(items, np.asarray(basket.sum(axis=0)).ravel(), co, basket.shape[0])

    def rules_for(self, sku: str, min_together: int = 2, k: int | None = 10) -> list[PairRule]:
        """Rules sku → other, strongest lift first among pairs seen in at least `min_together` orders
        (lift on one or two co-occurrences is noise)."""
        if sku not in self.item_index:
            return []
        i = self.item_index[sku]
        row = self.co_orders.getrow(i)
        rules = []
        for j, together in zip(row.indices, row.data):
            if together < min_together:
                continue
            confidence = together / self.item_orders[i]
            lift = confidence / (self.item_orders[j] / self.n_orders)
            rules.append(
                PairRule(
                    sku,
                    str(self.items[j]),
                    int(together),
                    float(together / self.n_orders),
                    float(confidence),
                    float(lift),
                )
            )
        rules.sort(key=lambda r: (-r.lift, -r.together, r.consequent))
        return rules if k is None else rules[:k]
