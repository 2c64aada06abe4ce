"""What shoppers (through the action server) and staff ask about stores and stock."""

from __future__ import annotations

import builtins
import re
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from order_service.api.deps import DirectoryDep, PrincipalDep, SessionDep
from order_service.api.views import stock_out, store_out, store_stock_out
from order_service.schemas import (
    MAX_ID,
    SKU_PATTERN,
    ErrorOut,
    LocatedOut,
    NearestStockOut,
    StockOut,
    StoreOut,
)
from order_service.services import stock, store_search
from order_service.services.errors import Invalid
from order_service.services.geo import Located

router = APIRouter(tags=["stores and stock"], responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}})

SkuPath = Annotated[str, Path(pattern=SKU_PATTERN, description="Product SKU, e.g. PC-C2787BF402.")]
StoreIdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/stores", response_model=list[StoreOut])
def find_stores(
    directory: DirectoryDep,
    _: PrincipalDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=100,
            pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$",
            description="Store name, city or ZIP.",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=50)] = 5,
) -> list[StoreOut]:
    """Stores matching a name, city or ZIP: exact matches first, then prefixes, then substrings."""
    return [store_out(loc) for loc in directory.find_stores(q, limit)]


@router.get("/stores/suggest", response_model=list[StoreOut])
def suggest_stores(
    directory: DirectoryDep,
    _: PrincipalDep,
    q: Annotated[str, Query(min_length=1, max_length=100, description="A store name that matched nothing.")],
    limit: Annotated[int, Query(ge=1, le=20)] = 5,
) -> list[StoreOut]:
    """Stores with the names closest to `q` (fuzzy), one per name and city: what to offer a shopper
    whose store name found nothing."""
    return [store_out(loc) for loc in store_search.suggest_stores(directory, q, limit)]


@router.get("/stores/{store_id}", response_model=StoreOut)
def get_store(store_id: StoreIdPath, directory: DirectoryDep, _: PrincipalDep) -> StoreOut:
    return store_out(directory.store(store_id))


@router.get("/stores/{store_id}/stock/{sku}", response_model=StockOut)
def stock_at(
    store_id: StoreIdPath,
    sku: SkuPath,
    request: Request,
    session: SessionDep,
    directory: DirectoryDep,
    principal: PrincipalDep,
) -> StockOut:
    """Stock of a SKU at a store: a level and pick-up availability for shoppers, exact figures for the
    store's own staff and for managers."""
    directory.store(store_id)
    view = stock.stock_view(session, directory, sku, store_id)
    return stock_out(view, principal, request.app.state.settings.low_stock_threshold)


def locate(directory, zip: str | None, lat: float | None, lon: float | None) -> Located:
    if lat is not None and lon is not None:
        return Located(lat, lon, "coordinates")
    if (lat is None) != (lon is None):
        raise Invalid("give both lat and lon, or a zip")
    if zip is None:
        raise Invalid("give a zip or lat and lon")
    located = directory.geo.locate_zip(zip)
    if located is None:
        raise Invalid(f"not a US ZIP code: {zip!r}")
    return located


@router.get("/stock/{sku}/nearest", response_model=NearestStockOut, responses={422: {"model": ErrorOut}})
def nearest_stores_with_stock(
    sku: SkuPath,
    request: Request,
    session: SessionDep,
    directory: DirectoryDep,
    principal: PrincipalDep,
    zip: Annotated[str | None, Query(max_length=10, description="US ZIP code (5 digits or ZIP+4).")] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    limit: Annotated[int, Query(ge=1, le=50)] = 3,
    max_km: Annotated[float | None, Query(gt=0, le=20000)] = None,
) -> NearestStockOut:
    """The nearest stores that have the item available, from coordinates or a ZIP code."""
    origin = locate(directory, zip, lat, lon)
    stock.require_product(session, sku)
    threshold = request.app.state.settings.low_stock_threshold
    found = stock.nearest_with_stock(
        session, directory, sku, origin.lat, origin.lon, limit=limit, max_km=max_km
    )
    return NearestStockOut(
        origin=LocatedOut(
            lat=origin.lat, lon=origin.lon, method=origin.method, matched_zip=origin.matched_zip
        ),
        stores=[store_stock_out(km, view, principal, threshold) for km, view in found],
    )


@router.get("/stock/unavailable", response_model=list[str])
def unavailable_everywhere(session: SessionDep, _: PrincipalDep) -> list[str]:
    """SKUs that no store or warehouse has available: the recommender's stock filter takes this set
    once per request rather than asking about each candidate."""
    return stock.unavailable_everywhere(session)


@router.get("/pickup/nearest", response_model=list[StoreOut], responses={422: {"model": ErrorOut}})
def nearest_pickup_stores(
    session: SessionDep,
    directory: DirectoryDep,
    _: PrincipalDep,
    sku: Annotated[list[str], Query(min_length=1, max_length=50, description="SKUs of the cart, repeated.")],
    qty: Annotated[
        list[int] | None,
        Query(max_length=50, description="Quantity of each SKU, in the same order (default 1 each)."),
    ] = None,
    store_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Measure from this store.")] = None,
    zip: Annotated[str | None, Query(max_length=10)] = None,
    lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
    lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
    limit: Annotated[int, Query(ge=1, le=20)] = 3,
) -> list[StoreOut]:
    """The nearest stores that can hand out the whole cart for pick-up (pick-up desk and every line
    available in its quantity), measured from a store, coordinates or a ZIP code."""
    quantities = qty if qty is not None else [1] * len(sku)
    if len(quantities) != len(sku):
        raise Invalid("give one qty per sku, or none")
    if any(not re.fullmatch(SKU_PATTERN, s) for s in sku) or any(not 1 <= q <= 100_000 for q in quantities):
        raise Invalid("each sku must be a SKU and each qty between 1 and 100000")
    for s in set(sku):
        stock.require_product(session, s)
    if store_id is not None:
        origin = directory.store(store_id)
        if origin.lat is None or origin.lon is None:
            raise Invalid(f"store {store_id} has no coordinates")
        lat, lon = origin.lat, origin.lon
    else:
        located = locate(directory, zip, lat, lon)
        lat, lon = located.lat, located.lon
    lines = list(builtins.zip(sku, quantities))  # the name `zip` is the ZIP-code parameter here
    found = store_search.nearest_pickup(session, directory, lines, lat, lon, limit=limit)
    return [store_out(loc, km) for km, loc in found]
