"""Reorder point and economic order quantity from the ledger's sales history.

Daily demand is forecast with simple exponential smoothing (level_t = α·x_t + (1−α)·level_{t−1});
its spread is the standard deviation of the one-step-ahead forecast errors. Then
    safety stock   = z · σ_daily · √lead_time
    reorder point  = forecast · lead_time + safety stock
    EOQ            = √(2 · annual demand · order cost / (holding rate · unit price))
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from order_service.models import StockMovement


@dataclass(frozen=True)
class ReplenishmentParams:
    history_days: int = 90
    alpha: float = 0.3
    lead_time_days: float = 7.0
    service_z: float = 1.65  # ≈95 % cycle service level
    order_cost: float = 50.0  # per purchase order, USD
    holding_rate: float = 0.25  # per unit per year, as a share of the price


def ses(series: list[float], alpha: float) -> tuple[float, float]:
    """(final smoothed level, std of one-step-ahead errors) of a daily series."""
    if not series:
        return 0.0, 0.0
    level, errors = series[0], []
    for x in series[1:]:
        errors.append(x - level)
        level = alpha * x + (1 - alpha) * level
    if len(errors) < 2:
        return level, 0.0
    mean = sum(errors) / len(errors)
    return level, math.sqrt(sum((e - mean) ** 2 for e in errors) / (len(errors) - 1))


def eoq(annual_demand: float, order_cost: float, unit_holding_cost: float) -> int:
    if annual_demand <= 0 or unit_holding_cost <= 0:
        return 0
    return max(1, round(math.sqrt(2 * annual_demand * order_cost / unit_holding_cost)))


def daily_sales(session: Session, location_id: int, sku: str, since: datetime, days: int) -> list[float]:
    """Units sold per day for `days` days from `since` (zero-filled)."""
    series = [0.0] * days
    rows = session.execute(
        select(StockMovement.created_at, StockMovement.quantity).where(
            StockMovement.location_id == location_id,
            StockMovement.sku == sku,
            StockMovement.kind == "sale",
            StockMovement.created_at >= since,
        )
    )
    for at, qty in rows:
        day = (at - since) // timedelta(days=1)
        if 0 <= day < days:
            series[day] += -qty
    return series


@dataclass(frozen=True)
class Replenishment:
    history_days: int
    units_sold: int
    daily_forecast: float
    daily_std: float
    annual_demand: float
    eoq: int
    safety_stock: int
    reorder_point: int


def plan(series: list[float], price: float, params: ReplenishmentParams) -> Replenishment:
    forecast, std = ses(series, params.alpha)
    annual = forecast * 365
    safety = params.service_z * std * math.sqrt(params.lead_time_days)
    return Replenishment(
        history_days=len(series),
        units_sold=int(sum(series)),
        daily_forecast=round(forecast, 3),
        daily_std=round(std, 3),
        annual_demand=round(annual, 1),
        eoq=eoq(annual, params.order_cost, params.holding_rate * price),
        safety_stock=math.ceil(round(safety, 6)),  # no unit for floating-point dust
        reorder_point=math.ceil(round(forecast * params.lead_time_days + safety, 6)),
    )
