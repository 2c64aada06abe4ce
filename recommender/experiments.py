"""Recommendation experiments: each customer is in one variant, always the same one.

The variant is a hash of the experiment name and the customer id (a conversation id when the channel
names no customer), so it needs no storage, is the same in every process and on every channel that
names the same customer, and a new experiment name reshuffles everyone. The variant is stored with
each impression (actions/events.py); the report compares click-through and conversion per variant
(order_service/effectiveness.py).
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any

EXPERIMENT = "rec-context-weight-2026-12"
# variant -> ShopConfig fields it changes; "A" is the shop's blend as trained (control).
# "B" leans twice as hard on what the shopper looked at and has in the cart in this conversation.
VARIANTS: dict[str, dict[str, float]] = {
    "A": {},
    "B": {"weight_context": 3.0, "weight_context_content": 1.0},
}
SHARES = {"A": 50, "B": 50}  # percent of customers


def variant_of(key: str, experiment: str = EXPERIMENT) -> str:
    """The variant of a customer (or conversation) id: stable, uniform over the first 8 hash bytes."""
    bucket = int.from_bytes(hashlib.sha256(f"{experiment}|{key}".encode()).digest()[:8], "big") % 100
    for name, share in SHARES.items():
        if bucket < share:
            return name
        bucket -= share
    raise AssertionError("SHARES must add up to 100")


def with_variant(recommender: Any, variant: str) -> Any:
    """The shop recommender (recommender.shop.ShopRecommender) with the variant's blend weights;
    the trained model's arrays are shared, only the small config differs."""
    overrides = VARIANTS.get(variant) or {}
    if not overrides:
        return recommender
    model = recommender.model
    changed = dataclasses.replace(model, config=dataclasses.replace(model.config, **overrides))
    return type(recommender)(changed, recommender.in_stock, recommender.compatible_with_cart)
