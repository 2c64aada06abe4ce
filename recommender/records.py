"""The customer-analytics answers as typed records, without the code that computes them: the
recommender builds them (recommender.analytics, recommender.staff), the order service's staff API
sends them and its client reads them back (order_service.client). A light module (dataclasses only,
no pandas), so the client and its callers (the action server) import it without the analytics.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CustomerProfile:
    """What staff ask about one customer in chat."""

    customer_id: str
    segment: str
    segment_label_en: str
    segment_label_zh: str
    rfm: str
    recency_days: int
    orders: int
    total_spend: float


@dataclass(frozen=True)
class SegmentCount:
    segment: str
    label_en: str
    label_zh: str
    customers: int
    customer_share: float
    revenue_share: float
    suggested_action_en: str
    suggested_action_zh: str


@dataclass(frozen=True)
class Overview:
    customers: int
    orders: int
    revenue: float
    average_order_value: float
    repurchase_rate: float
    segments: tuple[SegmentCount, ...]


@dataclass(frozen=True)
class CustomerValue:
    customer_id: str
    p_alive: float
    expected_orders: float  # over the CLV horizon
    expected_order_value: float
    clv: float
