"""Two store questions the checkout asks when the shopper's first answer does not work out:
which stores near a point can hand out a whole cart for pick-up, and which store names are close to a
name that matched nothing (a typo, a half-remembered mall name)."""

from __future__ import annotations

import difflib
import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from order_service.models import Location, StockLevel
from order_service.services.stock import Directory

try:  # faster and better on partial names; difflib keeps the service working without it
    from rapidfuzz import fuzz, process
except ImportError:  # pragma: no cover - exercised only where rapidfuzz is missing
    fuzz = process = None

MIN_SCORE = 60.0


def nearest_pickup(
    session: Session,
    directory: Directory,
    lines: list[tuple[str, int]],
    lat: float,
    lon: float,
    *,
    limit: int,
    exclude: set[int] | None = None,
) -> list[tuple[float, Location]]:
    """Stores that hand out pick-up orders and have every line available in its quantity, nearest
    first: one query per SKU over the stock rows, so a cart of a few items stays cheap."""
    wanted: dict[str, int] = {}
    for sku, qty in lines:
        wanted[sku] = wanted.get(sku, 0) + qty
    candidates: set[int] | None = None
    for sku, qty in wanted.items():
        rows = session.execute(
            select(StockLevel.location_id).where(
                StockLevel.sku == sku, StockLevel.on_hand - StockLevel.reserved >= qty
            )
        )
        able = {
            lid
            for (lid,) in rows
            if lid in directory.locations
            and directory.locations[lid].kind == "store"
            and directory.locations[lid].pickup
        }
        candidates = able if candidates is None else candidates & able
        if not candidates:
            return []
    ids = (candidates or set()) - (exclude or set())
    return [(km, directory.locations[sid]) for km, sid in directory.geo.by_distance(lat, lon, ids)[:limit]]


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]+", " ", text.lower()).strip()


def suggest_stores(directory: Directory, query: str, limit: int) -> list[Location]:
    """Stores whose name (or "name city") is closest to `query`, best first, one per distinct
    name-and-city, only those similar enough to be worth offering."""
    stores = sorted(
        (loc for loc in directory.locations.values() if loc.kind == "store"), key=lambda loc: loc.id
    )
    keys = [_key(f"{loc.name} {loc.city}") for loc in stores]
    names = [_key(loc.name) for loc in stores]
    q = _key(query)
    if not q or not stores:
        return []
    if process is not None:
        by_name = process.extract(q, names, scorer=fuzz.WRatio, limit=limit * 8, score_cutoff=MIN_SCORE)
        by_both = process.extract(
            q, keys, scorer=fuzz.token_set_ratio, limit=limit * 8, score_cutoff=MIN_SCORE
        )
        scored = [(score, i) for _, score, i in by_name] + [(score, i) for _, score, i in by_both]
    else:
        scored = []
        for i, (name, key) in enumerate(zip(names, keys)):
            score = 100 * max(
                difflib.SequenceMatcher(None, q, name).ratio(), difflib.SequenceMatcher(None, q, key).ratio()
            )
            if score >= MIN_SCORE:
                scored.append((score, i))
    best: dict[int, float] = {}
    for score, i in scored:
        best[i] = max(best.get(i, 0.0), score)
    out, seen = [], set()
    for i in sorted(best, key=lambda i: (-best[i], stores[i].id)):
        label = (stores[i].name, stores[i].city, stores[i].state)
        if label in seen:
            continue
        seen.add(label)
        out.append(stores[i])
        if len(out) >= limit:
            break
    return out
