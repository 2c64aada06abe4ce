"""ORM rows → response bodies, and who may see exact quantities (one rule for every endpoint)."""

from __future__ import annotations

from order_service.api.deps import Principal
from order_service.models import Location
from order_service.schemas import StockDetailOut, StockOut, StoreOut, StoreStockOut
from order_service.services.stock import StockView, level_of


def sees_exact(principal: Principal, location_id: int) -> bool:
    """Managers and admins see exact stock everywhere; an associate at their own store only; shoppers never."""
    staff = principal.staff
    return staff is not None and (staff.role in ("manager", "admin") or staff.store_id == location_id)


def store_out(loc: Location, distance_km: float | None = None) -> StoreOut:
    return StoreOut(
        id=loc.id,
        type=loc.store_type,
        name=loc.name,
        address=loc.address,
        city=loc.city,
        state=loc.state,
        zip=loc.zip,
        lat=loc.lat,
        lon=loc.lon,
        hours_text=loc.hours_text,
        hours=loc.hours or {},
        services=list(loc.services or []),
        pickup=loc.pickup,
        distance_km=None if distance_km is None else round(distance_km, 2),
    )


def stock_out(view: StockView, principal: Principal, threshold: int) -> StockOut:
    exact = sees_exact(principal, view.location.id)
    return StockOut(
        sku=view.sku,
        location_id=view.location.id,
        location_name=view.location.name,
        level=level_of(view.available, threshold),
        pickup_available=view.location.pickup and view.available > 0,
        available=view.available if exact else None,
        on_hand=view.on_hand if exact else None,
        reserved=view.reserved if exact else None,
    )


def store_stock_out(km: float, view: StockView, principal: Principal, threshold: int) -> StoreStockOut:
    return StoreStockOut(
        store=store_out(view.location, km),
        level=level_of(view.available, threshold),
        pickup_available=view.location.pickup and view.available > 0,
        distance_km=round(km, 2),
        available=view.available if sees_exact(principal, view.location.id) else None,
    )


def stock_detail(
    view: StockView, principal: Principal, threshold: int, km: float | None = None
) -> StockDetailOut:
    exact = sees_exact(principal, view.location.id)
    return StockDetailOut(
        sku=view.sku,
        location_id=view.location.id,
        location_name=view.location.name,
        kind=view.location.kind,
        level=level_of(view.available, threshold),
        on_hand=view.on_hand if exact else None,
        reserved=view.reserved if exact else None,
        available=view.available if exact else None,
        distance_km=None if km is None else round(km, 2),
    )
