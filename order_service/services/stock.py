"""Stock levels, the ledger, reservations and the questions shoppers and staff ask about stock.

Every change of on-hand stock goes through `move`, which updates the level with a conditional UPDATE
and appends the ledger row in the same transaction; reservations go through `reserve`/`release`.
The conditions are evaluated by the database under its row lock, so two buyers can never both take
the last unit, whatever the isolation level.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import and_, bindparam, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from order_service.models import WAREHOUSE_ID, Location, Product, StockLevel, StockMovement
from order_service.services.errors import Invalid, NotFound, OutOfStock
from order_service.services.geo import StoreGeo, StorePoint


def utcnow() -> datetime:
    return datetime.now(UTC)


def level_of(available: int, threshold: int) -> str:
    if available <= 0:
        return "out"
    return "low" if available <= threshold else "in_stock"


def _upsert_empty(session: Session, location_id: int, sku: str) -> None:
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        insert(StockLevel)
        .values(location_id=location_id, sku=sku, on_hand=0, reserved=0)
        .on_conflict_do_nothing(index_elements=["location_id", "sku"])
    )


def available_at(session: Session, location_id: int, sku: str) -> int:
    row = session.execute(
        select(StockLevel.on_hand - StockLevel.reserved).where(
            StockLevel.location_id == location_id, StockLevel.sku == sku
        )
    ).scalar()
    return int(row or 0)


def move(
    session: Session,
    *,
    location_id: int,
    sku: str,
    quantity: int,
    kind: str,
    release_reserved: int = 0,
    order_id: int | None = None,
    staff_id: int | None = None,
    transfer_ref: str | None = None,
    note: str = "",
    at: datetime | None = None,
) -> None:
    """Change on-hand by `quantity` (and reserved by −`release_reserved`) and record it in the ledger.

    Refuses (OutOfStock) a change that would leave fewer units on hand than are reserved by others.
    """
    if quantity == 0:
        raise Invalid("a stock movement needs a non-zero quantity")
    stmt = (
        update(StockLevel)
        .where(
            StockLevel.location_id == location_id,
            StockLevel.sku == sku,
            StockLevel.reserved >= release_reserved,
            StockLevel.on_hand + quantity >= StockLevel.reserved - release_reserved,
        )
        .values(on_hand=StockLevel.on_hand + quantity, reserved=StockLevel.reserved - release_reserved)
        .execution_options(synchronize_session=False)
    )
    if session.execute(stmt).rowcount != 1:
        if quantity > 0 and release_reserved == 0:
            _upsert_empty(session, location_id, sku)
            session.execute(stmt)
        else:
            raise OutOfStock(sku, location_id, -quantity, available_at(session, location_id, sku))
    session.add(
        StockMovement(
            created_at=at or utcnow(),
            location_id=location_id,
            sku=sku,
            quantity=quantity,
            kind=kind,
            order_id=order_id,
            staff_id=staff_id,
            transfer_ref=transfer_ref,
            note=note,
        )
    )


_levels = StockLevel.__table__
# Built once: on the order path, building and cache-keying a statement per call cost more CPU than
# running it. A plain (Core) UPDATE: no ORM bookkeeping for a row the session does not hold.
_RESERVE = (
    update(_levels)
    .where(
        _levels.c.location_id == bindparam("at_location"),
        _levels.c.sku == bindparam("of_sku"),
        _levels.c.on_hand - _levels.c.reserved >= bindparam("units"),
    )
    .values(reserved=_levels.c.reserved + bindparam("units"))
)


def reserve(session: Session, location_id: int, sku: str, quantity: int) -> None:
    """Hold `quantity` units for a pending order, or raise OutOfStock; never oversells: the
    condition is evaluated by the database on the row it has locked."""
    result = session.connection().execute(
        _RESERVE, {"at_location": location_id, "of_sku": sku, "units": quantity}
    )
    if result.rowcount != 1:
        raise OutOfStock(sku, location_id, quantity, available_at(session, location_id, sku))


def release(session: Session, location_id: int, sku: str, quantity: int) -> None:
    result = session.execute(
        update(StockLevel)
        .where(StockLevel.location_id == location_id, StockLevel.sku == sku, StockLevel.reserved >= quantity)
        .values(reserved=StockLevel.reserved - quantity)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:
        raise RuntimeError(f"reservation of {quantity} × {sku} at {location_id} is not held")


# --- reading ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class StockView:
    sku: str
    location: Location
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class Directory:
    """Locations read once per process (they change only with `daogou db load-demo`)."""

    def __init__(self, session: Session):
        self.locations: dict[int, Location] = {loc.id: loc for loc in session.scalars(select(Location))}
        for loc in self.locations.values():
            session.expunge(loc)
        self.geo = StoreGeo(
            [
                StorePoint(loc.id, loc.lat, loc.lon, loc.zip)
                for loc in self.locations.values()
                if loc.kind == "store" and loc.lat is not None and loc.lon is not None
            ]
        )

    def get(self, location_id: int) -> Location:
        loc = self.locations.get(location_id)
        if loc is None:
            raise NotFound(f"no location with id {location_id}")
        return loc

    def store(self, store_id: int) -> Location:
        loc = self.get(store_id)
        if loc.kind != "store":
            raise NotFound(f"no store with id {store_id}")
        return loc

    def find_stores(self, query: str, limit: int) -> list[Location]:
        """Stores whose ZIP, name or city matches; exact matches first, then prefixes, then substrings."""
        q = query.strip().lower()
        scored: list[tuple[int, int, Location]] = []
        for loc in self.locations.values():
            if loc.kind != "store":
                continue
            fields = (loc.zip.lower(), loc.name.lower(), loc.city.lower(), f"{loc.city}, {loc.state}".lower())
            if q in fields:
                score = 0
            elif any(f.startswith(q) for f in fields):
                score = 1
            elif any(q in f for f in fields):
                score = 2
            else:
                continue
            scored.append((score, loc.id, loc))
        scored.sort(key=lambda t: (t[0], t[1]))
        return [loc for _, _, loc in scored[:limit]]


def require_product(session: Session, sku: str) -> Product:
    product = session.get(Product, sku)
    if product is None:
        raise NotFound(f"unknown SKU {sku}")
    return product


def stock_views(
    session: Session, directory: Directory, sku: str, location_ids: list[int] | None = None
) -> list[StockView]:
    """Stock rows of one SKU (at the given locations, or wherever it is carried)."""
    stmt = select(StockLevel.location_id, StockLevel.on_hand, StockLevel.reserved).where(
        StockLevel.sku == sku
    )
    if location_ids is not None:
        stmt = stmt.where(StockLevel.location_id.in_(location_ids))
    return [
        StockView(sku, directory.locations[lid], on_hand, reserved)
        for lid, on_hand, reserved in session.execute(stmt)
        if lid in directory.locations
    ]


def stock_view(session: Session, directory: Directory, sku: str, location_id: int) -> StockView:
    """Stock of a known SKU at one location (zero where it is not carried); NotFound for an unknown
    SKU. One query for both: this is the stock lookup shoppers and staff ask most."""
    location = directory.get(location_id)
    row = session.execute(
        select(Product.sku, StockLevel.on_hand, StockLevel.reserved)
        .outerjoin(StockLevel, and_(StockLevel.sku == Product.sku, StockLevel.location_id == location_id))
        .where(Product.sku == sku)
    ).first()
    if row is None:
        raise NotFound(f"unknown SKU {sku}")
    return StockView(sku, location, row.on_hand or 0, row.reserved or 0)


def nearest_with_stock(
    session: Session,
    directory: Directory,
    sku: str,
    lat: float,
    lon: float,
    *,
    limit: int,
    min_available: int = 1,
    max_km: float | None = None,
) -> list[tuple[float, StockView]]:
    in_stock = {
        v.location.id: v
        for v in stock_views(session, directory, sku)
        if v.location.kind == "store" and v.available >= min_available
    }
    out: list[tuple[float, StockView]] = []
    for km, store_id in directory.geo.by_distance(lat, lon, set(in_stock)):
        if max_km is not None and km > max_km:
            break
        out.append((km, in_stock[store_id]))
        if len(out) >= limit:
            break
    return out


def unavailable_everywhere(session: Session) -> list[str]:
    """SKUs of the catalogue with no unit available at any location (none carried, or all sold or
    reserved): what recommendations must never offer. One grouped query, so a caller can take the
    whole set at once instead of asking per product."""
    available = (
        select(StockLevel.sku)
        .group_by(StockLevel.sku)
        .having(func.max(StockLevel.on_hand - StockLevel.reserved) > 0)
    )
    return list(
        session.scalars(select(Product.sku).where(Product.sku.not_in(available)).order_by(Product.sku))
    )


def low_stock(session: Session, location_id: int, threshold: int, limit: int) -> list[tuple[StockLevel, str]]:
    avail = StockLevel.on_hand - StockLevel.reserved
    stmt = (
        select(StockLevel, Product.name)
        .join(Product, Product.sku == StockLevel.sku)
        .where(StockLevel.location_id == location_id, avail <= threshold)
        .order_by(avail, StockLevel.sku)
        .limit(limit)
    )
    return [(row, name) for row, name in session.execute(stmt)]


def movements(
    session: Session, *, location_id: int | None, sku: str | None, limit: int
) -> list[StockMovement]:
    stmt = select(StockMovement).order_by(StockMovement.id.desc()).limit(limit)
    if location_id is not None:
        stmt = stmt.where(StockMovement.location_id == location_id)
    if sku is not None:
        stmt = stmt.where(StockMovement.sku == sku)
    return list(session.scalars(stmt))


def audit(session: Session, location_id: int | None = None) -> tuple[int, list[dict], list[dict]]:
    """Rebuild on-hand from the ledger and reserved from active reservations; report any difference."""
    from order_service.models import Reservation

    ledger = select(
        StockMovement.location_id, StockMovement.sku, func.sum(StockMovement.quantity).label("qty")
    ).group_by(StockMovement.location_id, StockMovement.sku)
    held = (
        select(Reservation.location_id, Reservation.sku, func.sum(Reservation.quantity).label("qty"))
        .where(Reservation.status == "active")
        .group_by(Reservation.location_id, Reservation.sku)
    )
    if location_id is not None:
        ledger = ledger.where(StockMovement.location_id == location_id)
        held = held.where(Reservation.location_id == location_id)
    ledger_sq, held_sq = ledger.subquery(), held.subquery()
    stmt = (
        select(
            StockLevel.location_id,
            StockLevel.sku,
            StockLevel.on_hand,
            StockLevel.reserved,
            func.coalesce(ledger_sq.c.qty, 0),
            func.coalesce(held_sq.c.qty, 0),
        )
        .outerjoin(
            ledger_sq,
            and_(ledger_sq.c.location_id == StockLevel.location_id, ledger_sq.c.sku == StockLevel.sku),
        )
        .outerjoin(
            held_sq, and_(held_sq.c.location_id == StockLevel.location_id, held_sq.c.sku == StockLevel.sku)
        )
    )
    if location_id is not None:
        stmt = stmt.where(StockLevel.location_id == location_id)
    checked, on_hand_bad, reserved_bad = 0, [], []
    for lid, sku, on_hand, reserved, ledger_qty, held_qty in session.execute(stmt):
        checked += 1
        if on_hand != ledger_qty:
            on_hand_bad.append(
                {"location_id": lid, "sku": sku, "on_hand": on_hand, "ledger": int(ledger_qty)}
            )
        if reserved != held_qty:
            reserved_bad.append(
                {"location_id": lid, "sku": sku, "reserved": reserved, "reservations": int(held_qty)}
            )
    return checked, on_hand_bad, reserved_bad


def transfer(
    session: Session,
    *,
    sku: str,
    from_id: int,
    to_id: int,
    quantity: int,
    staff_id: int | None,
    note: str = "",
) -> str:
    """Move stock between two locations: both ledger rows in one transaction, with a shared reference."""
    if from_id == to_id:
        raise Invalid("a transfer needs two different locations")
    ref = f"T{utcnow().strftime('%Y%m%d%H%M%S%f')}-{from_id}-{to_id}"
    move(
        session,
        location_id=from_id,
        sku=sku,
        quantity=-quantity,
        kind="transfer_out",
        staff_id=staff_id,
        transfer_ref=ref,
        note=note,
    )
    move(
        session,
        location_id=to_id,
        sku=sku,
        quantity=quantity,
        kind="transfer_in",
        staff_id=staff_id,
        transfer_ref=ref,
        note=note,
    )
    return ref


__all__ = [
    "WAREHOUSE_ID",
    "Directory",
    "StockView",
    "audit",
    "level_of",
    "move",
    "reserve",
    "release",
    "nearest_with_stock",
    "low_stock",
    "stock_view",
    "stock_views",
    "transfer",
    "utcnow",
]


@dataclass(frozen=True)
class Suggestion:
    sku: str
    name: str
    to_location_id: int
    from_location: Location
    quantity: int
    distance_km: float
    donor_available_after: int


def transfer_suggestions(
    session: Session,
    directory: Directory,
    store_id: int,
    threshold: int,
    *,
    target: int,
    radius_km: float,
    limit: int,
) -> list[Suggestion]:
    """For each low item at a store, a store within `radius_km` that can spare units while keeping
    `target` itself (the nearest that covers the whole need, else the one with most to spare);
    suggests topping the low store up to `target`."""
    store = directory.store(store_id)
    low = low_stock(session, store_id, threshold, 500)
    if not low or store.lat is None:
        return []
    nearby = [
        (km, sid)
        for km, sid in directory.geo.by_distance(store.lat, store.lon)
        if sid != store_id and km <= radius_km
    ][:50]
    if not nearby:
        return []
    distance = {sid: km for km, sid in nearby}
    avail = StockLevel.on_hand - StockLevel.reserved
    donors: dict[str, list[tuple[float, int, int]]] = {}
    rows = session.execute(
        select(StockLevel.sku, StockLevel.location_id, avail).where(
            StockLevel.sku.in_([row.sku for row, _ in low]),
            StockLevel.location_id.in_(list(distance)),
            avail > target,
        )
    )
    for sku, lid, available in rows:
        donors.setdefault(sku, []).append((distance[lid], lid, available))
    out = []
    for row, name in low:
        candidates = sorted(donors.get(row.sku, []))
        need = target - (row.on_hand - row.reserved)
        if not candidates or need <= 0:
            continue
        # the nearest store that can cover the whole need, else the one that can spare the most
        km, lid, available = next(
            (c for c in candidates if c[2] - target >= need), max(candidates, key=lambda c: (c[2], -c[0]))
        )
        qty = min(need, available - target)
        out.append(
            Suggestion(row.sku, name, store_id, directory.locations[lid], qty, round(km, 2), available - qty)
        )
        if len(out) >= limit:
            break
    return out
