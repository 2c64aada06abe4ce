"""Staff endpoints (staff token required). Associates are scoped to their store; managers and admins
see and act everywhere."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from sqlalchemy import select

from order_service.api.deps import DirectoryDep, Principal, SessionDep, StaffDep
from order_service.api.views import stock_detail
from order_service.models import StockMovement
from order_service.schemas import (
    MAX_ID,
    SKU_PATTERN,
    AuditOut,
    ErrorOut,
    LowStockItem,
    MovementOut,
    OrderListOut,
    OrderOut,
    OrderStatus,
    ReplenishmentOut,
    StaffActionIn,
    StaffActionName,
    StaffActionOut,
    StaffMe,
    StatusChangeIn,
    StockChangeIn,
    StockDetailOut,
    TransferIn,
    TransferSuggestion,
)
from order_service.services import audit as staff_audit
from order_service.services import orders, stock
from order_service.services.errors import Forbidden
from order_service.services.replenishment import ReplenishmentParams, daily_sales, plan
from order_service.services.stock import level_of, utcnow

router = APIRouter(
    prefix="/staff",
    tags=["staff"],
    responses={401: {"model": ErrorOut}, 403: {"model": ErrorOut}, 404: {"model": ErrorOut}},
)

SkuPath = Annotated[str, Path(pattern=SKU_PATTERN)]
StoreIdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
LocationQuery = Annotated[int, Query(ge=0, le=MAX_ID, description="0 is the online warehouse.")]


def _scope(staff: StaffMe, location_id: int) -> None:
    """Associates act only on their own store."""
    if staff.role == "associate" and staff.store_id != location_id:
        raise Forbidden(f"associates act only on their own store ({staff.store_id})")


def _threshold(request: Request) -> int:
    return request.app.state.settings.low_stock_threshold


@router.get("/stock/{sku}", response_model=list[StockDetailOut])
def stock_everywhere(
    sku: SkuPath,
    request: Request,
    session: SessionDep,
    directory: DirectoryDep,
    staff: StaffDep,
    near_store_id: Annotated[
        int | None, Query(ge=1, le=MAX_ID, description="Sort by distance from this store.")
    ] = None,
    radius_km: Annotated[float | None, Query(gt=0, le=20000)] = None,
    in_stock_only: bool = False,
    limit: Annotated[int, Query(ge=1, le=2000)] = 50,
) -> list[StockDetailOut]:
    """Stock of a SKU at every location that carries it, or at the stores nearest a given store."""
    stock.require_product(session, sku)
    principal, threshold = Principal("staff", staff=staff), _threshold(request)
    views = [v for v in stock.stock_views(session, directory, sku) if not in_stock_only or v.available > 0]
    if near_store_id is None:
        views.sort(key=lambda v: (v.location.kind != "warehouse", -v.available, v.location.id))
        return [stock_detail(v, principal, threshold) for v in views[:limit]]
    origin = directory.store(near_store_id)
    by_id = {v.location.id: v for v in views}
    out = []
    for km, sid in directory.geo.by_distance(origin.lat, origin.lon, set(by_id)):
        if radius_km is not None and km > radius_km or len(out) >= limit:
            break
        out.append(stock_detail(by_id[sid], principal, threshold, km))
    return out


@router.get("/stores/{store_id}/low-stock", response_model=list[LowStockItem])
def low_stock(
    store_id: StoreIdPath,
    request: Request,
    session: SessionDep,
    directory: DirectoryDep,
    staff: StaffDep,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[LowStockItem]:
    """Items of the store at or below the low-stock threshold, emptiest first."""
    directory.store(store_id)
    _scope(staff, store_id)
    threshold = _threshold(request)
    return [
        LowStockItem(
            sku=row.sku,
            name=name,
            on_hand=row.on_hand,
            reserved=row.reserved,
            available=row.on_hand - row.reserved,
            level=level_of(row.on_hand - row.reserved, threshold),
        )
        for row, name in stock.low_stock(session, store_id, threshold, limit)
    ]


@router.get("/stores/{store_id}/transfer-suggestions", response_model=list[TransferSuggestion])
def transfer_suggestions(
    store_id: StoreIdPath,
    request: Request,
    session: SessionDep,
    directory: DirectoryDep,
    staff: StaffDep,
    radius_km: Annotated[float, Query(gt=0, le=1000)] = 80,
    target: Annotated[int | None, Query(ge=1, le=10000, description="Units to top up to.")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[TransferSuggestion]:
    """Where to get low items from: the nearest store that can spare them."""
    _scope(staff, store_id)
    threshold = _threshold(request)
    found = stock.transfer_suggestions(
        session,
        directory,
        store_id,
        threshold,
        target=target or 2 * threshold + 1,
        radius_km=radius_km,
        limit=limit,
    )
    return [
        TransferSuggestion(
            sku=s.sku,
            name=s.name,
            to_location_id=s.to_location_id,
            from_location_id=s.from_location.id,
            from_name=s.from_location.name,
            quantity=s.quantity,
            distance_km=s.distance_km,
            donor_available_after=s.donor_available_after,
        )
        for s in found
    ]


@router.post(
    "/transfers", response_model=list[MovementOut], status_code=201, responses={409: {"model": ErrorOut}}
)
def create_transfer(
    body: TransferIn, session: SessionDep, directory: DirectoryDep, staff: StaffDep
) -> list[MovementOut]:
    """Move units between two locations (both ledger rows in one transaction)."""
    directory.get(body.from_location_id), directory.get(body.to_location_id)
    if staff.role == "associate" and staff.store_id not in (body.from_location_id, body.to_location_id):
        raise Forbidden("associates only transfer stock into or out of their own store")
    stock.require_product(session, body.sku)
    ref = stock.transfer(
        session,
        sku=body.sku,
        from_id=body.from_location_id,
        to_id=body.to_location_id,
        quantity=body.quantity,
        staff_id=staff.staff_id,
        note=body.note,
    )
    staff_audit.record(
        session,
        staff,
        "transfer",
        f"transfer:{ref}",
        {
            "sku": body.sku,
            "from": body.from_location_id,
            "to": body.to_location_id,
            "quantity": body.quantity,
        },
    )
    session.commit()
    rows = session.scalars(
        select(StockMovement).where(StockMovement.transfer_ref == ref).order_by(StockMovement.id)
    )
    return [MovementOut.model_validate(m) for m in rows]


@router.post(
    "/stock/changes", response_model=MovementOut, status_code=201, responses={409: {"model": ErrorOut}}
)
def change_stock(
    body: StockChangeIn, session: SessionDep, directory: DirectoryDep, staff: StaffDep
) -> MovementOut:
    """Record a receipt or a count adjustment at a location."""
    directory.get(body.location_id)
    _scope(staff, body.location_id)
    stock.require_product(session, body.sku)
    stock.move(
        session,
        location_id=body.location_id,
        sku=body.sku,
        quantity=body.quantity,
        kind=body.kind,
        staff_id=staff.staff_id,
        note=body.note,
    )
    session.flush()
    movement = stock.movements(session, location_id=body.location_id, sku=body.sku, limit=1)[0]
    session.commit()
    return MovementOut.model_validate(movement)


@router.get("/movements", response_model=list[MovementOut])
def list_movements(
    session: SessionDep,
    directory: DirectoryDep,
    staff: StaffDep,
    location_id: LocationQuery,
    sku: Annotated[str | None, Query(pattern=SKU_PATTERN)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[MovementOut]:
    """The ledger of a location (optionally one SKU), newest first."""
    directory.get(location_id)
    _scope(staff, location_id)
    return [
        MovementOut.model_validate(m)
        for m in stock.movements(session, location_id=location_id, sku=sku, limit=limit)
    ]


@router.get("/audit", response_model=AuditOut)
def audit(
    session: SessionDep, directory: DirectoryDep, staff: StaffDep, location_id: LocationQuery
) -> AuditOut:
    """Rebuild a location's levels from the ledger and reservations and list any difference."""
    directory.get(location_id)
    _scope(staff, location_id)
    checked, on_hand_bad, reserved_bad = stock.audit(session, location_id)
    return AuditOut(
        rows_checked=checked,
        mismatches=on_hand_bad,
        reserved_mismatches=reserved_bad,
        ok=not on_hand_bad and not reserved_bad,
    )


@router.get("/replenishment/{sku}", response_model=ReplenishmentOut)
def replenishment(
    sku: SkuPath,
    session: SessionDep,
    directory: DirectoryDep,
    staff: StaffDep,
    location_id: LocationQuery,
    history_days: Annotated[int, Query(ge=7, le=730)] = 90,
    alpha: Annotated[float, Query(gt=0, le=1)] = 0.3,
    lead_time_days: Annotated[float, Query(gt=0, le=365)] = 7,
    service_z: Annotated[float, Query(ge=0, le=5)] = 1.65,
    order_cost: Annotated[float, Query(ge=0, le=1e6)] = 50,
    holding_rate: Annotated[float, Query(gt=0, le=10)] = 0.25,
) -> ReplenishmentOut:
    """Reorder point and economic order quantity of a SKU at a location, from its sales history."""
    directory.get(location_id)
    _scope(staff, location_id)
    product = stock.require_product(session, sku)
    params = ReplenishmentParams(history_days, alpha, lead_time_days, service_z, order_cost, holding_rate)
    today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
    series = daily_sales(session, location_id, sku, today - timedelta(days=history_days - 1), history_days)
    result = plan(series, float(product.price), params)
    available = stock.stock_view(session, directory, sku, location_id).available
    return ReplenishmentOut(
        sku=sku,
        location_id=location_id,
        available=available,
        should_reorder=available <= result.reorder_point and result.daily_forecast > 0,
        **result.__dict__,
    )


@router.get("/orders", response_model=OrderListOut)
def staff_orders(
    session: SessionDep,
    staff: StaffDep,
    location_id: Annotated[int | None, Query(ge=0, le=MAX_ID)] = None,
    status: OrderStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> OrderListOut:
    """Orders fulfilled at a location (an associate: their store's pick-up orders)."""
    if staff.role == "associate":
        if location_id is not None:
            _scope(staff, location_id)
        location_id = staff.store_id
    rows, total = orders.list_orders(
        session, location_id=location_id, status=status, limit=limit, offset=offset
    )
    return OrderListOut(orders=[OrderOut.model_validate(o) for o in rows], total=total)


@router.get("/orders/{order_id}", response_model=OrderOut)
def staff_get_order(
    order_id: Annotated[int, Path(ge=1, le=2**63 - 1)], session: SessionDep, staff: StaffDep
) -> OrderOut:
    return OrderOut.model_validate(orders.get_for_staff(session, staff, order_id))


@router.post("/orders/{order_id}/status", response_model=OrderOut, responses={409: {"model": ErrorOut}})
def staff_transition(
    order_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    body: StatusChangeIn,
    session: SessionDep,
    staff: StaffDep,
) -> OrderOut:
    """Move an order along: ready for pick-up, shipped, completed, returned (restocks) or cancelled."""
    order = orders.get_for_staff(session, staff, order_id)
    before = order.status
    changed = orders.transition(
        session, order, body.status, actor=f"staff:{staff.username}", staff_id=staff.staff_id
    )
    if before != changed.status:
        staff_audit.record(
            session, staff, "order_status", f"order:{order_id}", {"from": before, "to": changed.status}
        )
        session.commit()
    return OrderOut.model_validate(changed)


@router.post("/actions", response_model=StaffActionOut, status_code=201)
def report_action(body: StaffActionIn, session: SessionDep, staff: StaffDep) -> StaffActionOut:
    """Audit an action the staff console performed for this staff member (claiming, answering or handing
    back a conversation, confirming a suggested transfer); the order service's own actions (sign-in,
    order status, transfers) are recorded where they happen."""
    staff_audit.record(session, staff, body.action, body.object, dict(body.detail))
    session.commit()
    return StaffActionOut.model_validate(
        staff_audit.listing(session, store_id=None, staff_id=staff.staff_id, action=None, limit=1, offset=0)[
            0
        ]
    )


@router.get("/actions", response_model=list[StaffActionOut])
def list_actions(
    session: SessionDep,
    staff: StaffDep,
    store_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    staff_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    action: StaffActionName | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> list[StaffActionOut]:
    """The audit of staff actions, newest first. Managers and admins see every store; an associate sees
    only the actions of their own store (asking for another store is refused)."""
    if staff.role == "associate":
        if store_id is not None:
            _scope(staff, store_id)
        store_id = staff.store_id
    rows = staff_audit.listing(
        session, store_id=store_id, staff_id=staff_id, action=action, limit=limit, offset=offset
    )
    return [StaffActionOut.model_validate(r) for r in rows]
