"""What shoppers (through the action server) and staff ask about stores and stock."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from order_service.api.deps import DirectoryDep, PrincipalDep, SessionDep
from order_service.api.views import stock_out, store_out, store_stock_out
from order_service.schemas import (MAX_ID, SKU_PATTERN, ErrorOut, LocatedOut, NearestStockOut, StockOut, StoreOut)
from order_service.services import stock
from order_service.services.errors import Invalid
from order_service.services.geo import Located

router = APIRouter(tags=["stores and stock"], responses={401: {"model": ErrorOut}, 404: {"model": ErrorOut}})

SkuPath = Annotated[str, Path(pattern=SKU_PATTERN, description="Product SKU, e.g. PC-C2787BF402.")]
StoreIdPath = Annotated[int, Path(ge=1, le=MAX_ID)]


@router.get("/stores", response_model=list[StoreOut])
def find_stores(directory: DirectoryDep, _: PrincipalDep,
                q: Annotated[str, Query(min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*\S[^\x00-\x1f\x7f]*$",
                                        description="Store name, city or ZIP.")],
                limit: Annotated[int, Query(ge=1, le=50)] = 5) -> list[StoreOut]:
    """Stores matching a name, city or ZIP: exact matches first, then prefixes, then substrings."""
    return [store_out(loc) for loc in directory.find_stores(q, limit)]


@router.get("/stores/{store_id}", response_model=StoreOut)
def get_store(store_id: StoreIdPath, directory: DirectoryDep, _: PrincipalDep) -> StoreOut:
    return store_out(directory.store(store_id))


@router.get("/stores/{store_id}/stock/{sku}", response_model=StockOut)
def stock_at(store_id: StoreIdPath, sku: SkuPath, request: Request, session: SessionDep, directory: DirectoryDep,
             principal: PrincipalDep) -> StockOut:
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
        sku: SkuPath, request: Request, session: SessionDep, directory: DirectoryDep, principal: PrincipalDep,
        zip: Annotated[str | None, Query(max_length=10, description="US ZIP code (5 digits or ZIP+4).")] = None,
        lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
        lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
        limit: Annotated[int, Query(ge=1, le=50)] = 3,
        max_km: Annotated[float | None, Query(gt=0, le=20000)] = None) -> NearestStockOut:
    """The nearest stores that have the item available, from coordinates or a ZIP code."""
    origin = locate(directory, zip, lat, lon)
    stock.require_product(session, sku)
    threshold = request.app.state.settings.low_stock_threshold
    found = stock.nearest_with_stock(session, directory, sku, origin.lat, origin.lon, limit=limit, max_km=max_km)
    return NearestStockOut(origin=LocatedOut(lat=origin.lat, lon=origin.lon, method=origin.method,
                                             matched_zip=origin.matched_zip),
                           stores=[store_stock_out(km, view, principal, threshold) for km, view in found])
