"""Typed answers to staff questions, ready for the order service's staff API and the chat actions:
"who are our at-risk customers?", "what segment is customer 12347 in?", "how are we doing?".

Build one `CustomerAnalytics` from the order lines (the service's database or any table) and reuse
it; RFM is computed once, CLV on first use.
"""

from __future__ import annotations

from functools import cached_property

import pandas as pd

from recommender import analytics as A
from recommender.records import CustomerProfile, CustomerValue, Overview, SegmentCount


class CustomerAnalytics:
    def __init__(
        self, lines: pd.DataFrame, as_of: pd.Timestamp | None = None, clv_config: A.CLVConfig = A.CLVConfig()
    ) -> None:
        self.lines = lines
        self.rfm = A.rfm(lines, as_of)
        self.as_of = as_of
        self.clv_config = clv_config

    def segment_of(self, customer_id: str) -> CustomerProfile:
        """Raises KeyError for a customer without orders."""
        return A.customer_profile(self.rfm, customer_id)

    def customers_in(self, segment: str, limit: int = 20) -> list[CustomerProfile]:
        """Customers of a segment, highest spend first; ValueError for an unknown segment key."""
        return [
            A.customer_profile(self.rfm, cid)
            for cid in A.customers_in_segment(self.rfm, segment, limit).index
        ]

    def overview(self) -> Overview:
        o = A.orders(self.lines)
        summary = A.segment_summary(self.rfm)
        segments = tuple(
            SegmentCount(
                k,
                A.SEGMENT_LABELS[k]["en"],
                A.SEGMENT_LABELS[k]["zh"],
                int(r.customers),
                round(float(r.customer_share), 4),
                round(float(r.revenue_share), 4),
                A.SEGMENT_ACTIONS[k]["en"],
                A.SEGMENT_ACTIONS[k]["zh"],
            )
            for k, r in summary.iterrows()
        )
        return Overview(
            int(o["customer_id"].nunique()),
            len(o),
            round(float(o["value"].sum()), 2),
            round(float(o["value"].mean()), 2),
            round(A.repurchase_rate(self.lines), 4),
            segments,
        )

    @cached_property
    def _clv(self) -> pd.DataFrame:
        return A.customer_lifetime_value(self.lines, self.clv_config, self.as_of)[0]

    def value_of(self, customer_id: str) -> CustomerValue:
        key = str(customer_id)
        if key not in self._clv.index:
            raise KeyError(f"customer {customer_id} has no orders")
        row = self._clv.loc[key]
        return CustomerValue(
            key,
            round(float(row["p_alive"]), 4),
            round(float(row["expected_orders"]), 3),
            round(float(row["expected_value"]), 2),
            round(float(row["clv"]), 2),
        )
