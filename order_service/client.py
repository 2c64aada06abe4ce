"""Async typed client of the order service, used by the action server.

Light on purpose (httpx + pydantic, no SQLAlchemy). Every call has a timeout; calls that are safe to
repeat (GETs, order creation with its Idempotency-Key, status changes, which are no-ops when already
applied) are retried with exponential backoff on connection errors, timeouts and 502/503/504.
The client authenticates with the service credential and names the customer it acts for in
`X-Customer-Id`; staff calls carry the staff member's own token instead.
"""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, TypeVar

import httpx
from pydantic import BaseModel, TypeAdapter

from order_service.schemas import (
    CustomerOut,
    EventBatchIn,
    EventBatchOut,
    EventIn,
    LinkCodeOut,
    LinkOut,
    LowStockItem,
    NearestStockOut,
    OrderCreate,
    OrderLineIn,
    OrderListOut,
    OrderOut,
    ReplenishmentOut,
    ResolveOut,
    StaffMe,
    StockDetailOut,
    StockOut,
    StoreOut,
    StoreStockOut,
    TokenOut,
    TransferSuggestion,
    UnlinkOut,
)
from recommender.records import CustomerProfile, CustomerValue, Overview

T = TypeVar("T")
RETRY_STATUS = {502, 503, 504}


class OrderServiceError(Exception):
    """The service answered with an error (4xx/5xx) or could not be reached (status_code None)."""

    def __init__(self, status_code: int | None, detail: Any):
        super().__init__(f"order service {'unreachable' if status_code is None else status_code}: {detail}")
        self.status_code, self.detail = status_code, detail

    @property
    def not_found(self) -> bool:
        return self.status_code == 404

    @property
    def conflict(self) -> bool:
        """Out of stock, or the order is in a status that refuses the change."""
        return self.status_code == 409


class OrderServiceClient:
    def __init__(
        self,
        base_url: str | None = None,
        token: str | None = None,
        *,
        timeout_s: float | None = None,
        retries: int | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ):
        from daogou.config import get_settings

        settings = get_settings()
        self.base_url = (base_url or settings.orders_url).rstrip("/")
        self.token = token if token is not None else settings.service_token
        self.retries = settings.http_retries if retries is None else retries
        # trust_env=False: service-to-service traffic must not be sent through a proxy from the environment
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            transport=transport,
            trust_env=False,
            timeout=settings.http_timeout_s if timeout_s is None else timeout_s,
        )

    async def __aenter__(self) -> OrderServiceClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    # --- transport -----------------------------------------------------------------------------------
    def _headers(self, customer_id: str | None, staff_token: str | None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {staff_token or self.token}"}
        if customer_id is not None and staff_token is None:
            headers["X-Customer-Id"] = customer_id
        return headers

    async def _call(
        self,
        method: str,
        path: str,
        *,
        retry: bool,
        customer_id: str | None = None,
        staff_token: str | None = None,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        headers: Mapping[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = {**self._headers(customer_id, staff_token), **(headers or {})}
        params = {k: v for k, v in (params or {}).items() if v is not None}
        attempts = 1 + (self.retries if retry else 0)
        for attempt in range(attempts):
            try:
                response = await self._http.request(
                    method, path, params=params, json=json, headers=all_headers
                )
            except httpx.TransportError as exc:
                if attempt + 1 >= attempts:
                    raise OrderServiceError(None, f"{type(exc).__name__}: {exc}") from exc
            else:
                if response.status_code not in RETRY_STATUS or attempt + 1 >= attempts:
                    if response.status_code >= 400:
                        try:
                            detail = response.json().get("detail")
                        except ValueError:
                            detail = response.text
                        raise OrderServiceError(response.status_code, detail)
                    return response
            await asyncio.sleep(min(2.0, 0.1 * 2**attempt) * (0.5 + random.random()))
        raise AssertionError("unreachable")

    async def _get(self, path: str, model: type[T] | Any, **kw: Any) -> T:
        response = await self._call("GET", path, retry=True, **kw)
        return TypeAdapter(model).validate_python(response.json())

    async def _post(
        self, path: str, model: type[T] | Any, *, body: BaseModel | dict | None = None, retry: bool, **kw: Any
    ) -> T:
        payload = body.model_dump(mode="json", exclude_none=True) if isinstance(body, BaseModel) else body
        response = await self._call("POST", path, retry=retry, json=payload, **kw)
        return TypeAdapter(model).validate_python(response.json())

    # --- health, stores, stock ---------------------------------------------------------------------
    async def health(self) -> bool:
        """True when the service answers and its database works; never raises."""
        try:
            response = await self._http.get("/health")
        except httpx.HTTPError:
            return False
        return response.status_code == 200 and response.json().get("status") == "ok"

    async def find_stores(self, query: str, limit: int = 5) -> list[StoreOut]:
        """Stores matching a name, city or ZIP code."""
        return await self._get("/stores", list[StoreOut], params={"q": query, "limit": limit})

    async def get_store(self, store_id: int) -> StoreOut:
        return await self._get(f"/stores/{store_id}", StoreOut)

    async def stock_at(
        self, sku: str, store_id: int, *, customer_id: str | None = None, staff_token: str | None = None
    ) -> StockOut:
        """Shoppers get a level (in_stock / low / out) and pick-up availability; the store's staff the exact figures."""
        return await self._get(
            f"/stores/{store_id}/stock/{sku}", StockOut, customer_id=customer_id, staff_token=staff_token
        )

    async def nearest_stores_with_stock(
        self,
        sku: str,
        *,
        zip: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        limit: int = 3,
    ) -> list[StoreStockOut]:
        return (await self.nearest_with_origin(sku, zip=zip, lat=lat, lon=lon, limit=limit)).stores

    async def nearest_with_origin(
        self,
        sku: str,
        *,
        zip: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        limit: int = 3,
    ) -> NearestStockOut:
        """Like `nearest_stores_with_stock`, also saying how the ZIP was placed (exact or approximate)."""
        return await self._get(
            f"/stock/{sku}/nearest",
            NearestStockOut,
            params={"zip": zip, "lat": lat, "lon": lon, "limit": limit},
        )

    async def unavailable_skus(self) -> list[str]:
        """SKUs available nowhere (recommendations leave them out)."""
        return await self._get("/stock/unavailable", list[str])

    async def suggest_stores(self, query: str, limit: int = 3) -> list[StoreOut]:
        """Stores whose names are closest to a name that matched nothing (fuzzy), best first."""
        return await self._get("/stores/suggest", list[StoreOut], params={"q": query, "limit": limit})

    async def nearest_pickup_stores(
        self,
        lines: Iterable[tuple[str, int]],
        *,
        store_id: int | None = None,
        zip: str | None = None,
        lat: float | None = None,
        lon: float | None = None,
        limit: int = 3,
    ) -> list[StoreOut]:
        """The nearest stores that can hand out every (sku, quantity) line for pick-up, with distance_km,
        measured from a store, coordinates or a ZIP."""
        pairs = list(lines)
        return await self._get(
            "/pickup/nearest",
            list[StoreOut],
            params={
                "sku": [s for s, _ in pairs],
                "qty": [q for _, q in pairs],
                "store_id": store_id,
                "zip": zip,
                "lat": lat,
                "lon": lon,
                "limit": limit,
            },
        )

    # --- customers and orders ------------------------------------------------------------------------
    async def resolve_customer(self, channel: str, external_id: str, display_name: str = "") -> str:
        """The customer id behind a channel identity ("web" session id or "wechat" openid)."""
        out = await self._post(
            "/customers/resolve",
            ResolveOut,
            retry=True,
            body={"channel": channel, "external_id": external_id, "display_name": display_name},
        )
        return out.customer_id

    async def get_customer(self, customer_id: str) -> CustomerOut:
        return await self._get("/customers/me", CustomerOut, customer_id=customer_id)

    # --- one customer across channels (order_service/services/links.py) -------------------------------
    async def link_code(self, customer_id: str) -> LinkCodeOut:
        """A one-time code that links another channel into this customer's account."""
        return await self._post("/customers/me/link-code", LinkCodeOut, retry=False, customer_id=customer_id)

    async def link(self, customer_id: str, code: str) -> LinkOut:
        """Enter a code from the other channel (not retried: a wrong code counts as an attempt)."""
        return await self._post(
            "/customers/me/link", LinkOut, body={"code": code}, retry=False, customer_id=customer_id
        )

    async def unlink(self, customer_id: str) -> UnlinkOut:
        response = await self._call("DELETE", "/customers/me/link", retry=True, customer_id=customer_id)
        return UnlinkOut.model_validate(response.json())

    async def create_order(
        self,
        customer_id: str,
        lines: Iterable[tuple[str, int] | OrderLineIn],
        *,
        fulfilment: str,
        store_id: int | None = None,
        delivery_address: str | None = None,
        idempotency_key: str | None = None,
        conversation_id: str | None = None,
    ) -> OrderOut:
        """Place an order (pending, stock held). Retried safely: every attempt carries the same
        Idempotency-Key; pass your own key to make a retry across calls safe too. `conversation_id`
        names the assistant conversation the order comes from (revenue attribution)."""
        body = OrderCreate(
            lines=[
                line if isinstance(line, OrderLineIn) else OrderLineIn(sku=line[0], quantity=line[1])
                for line in lines
            ],
            fulfilment=fulfilment,
            store_id=store_id,
            delivery_address=delivery_address,
            conversation_id=conversation_id,
        )
        key = idempotency_key or uuid.uuid4().hex
        return await self._post(
            "/orders",
            OrderOut,
            body=body,
            retry=True,
            customer_id=customer_id,
            headers={"Idempotency-Key": key},
        )

    async def get_order(self, customer_id: str, order_id: int) -> OrderOut:
        return await self._get(f"/orders/{order_id}", OrderOut, customer_id=customer_id)

    async def list_orders(
        self, customer_id: str, *, status: str | None = None, limit: int = 20, offset: int = 0
    ) -> list[OrderOut]:
        out = await self._get(
            "/orders",
            OrderListOut,
            customer_id=customer_id,
            params={"status": status, "limit": limit, "offset": offset},
        )
        return out.orders

    async def confirm_order(self, customer_id: str, order_id: int) -> OrderOut:
        return await self._post(f"/orders/{order_id}/confirm", OrderOut, retry=True, customer_id=customer_id)

    async def cancel_order(self, customer_id: str, order_id: int) -> OrderOut:
        return await self._post(f"/orders/{order_id}/cancel", OrderOut, retry=True, customer_id=customer_id)

    async def request_return(self, customer_id: str, order_id: int) -> OrderOut:
        return await self._post(f"/orders/{order_id}/return", OrderOut, retry=True, customer_id=customer_id)

    # --- assistant events (order_service/api/routers/events.py) ---------------------------------------
    async def append_events(self, events: Iterable[EventIn | dict[str, Any]]) -> int:
        """Append a batch of assistant events (service credential only); returns how many were stored.
        Not retried: a batch that timed out may have been stored, and the caller decides."""
        body = EventBatchIn(events=[e if isinstance(e, EventIn) else EventIn(**e) for e in events])
        return (await self._post("/events", EventBatchOut, body=body, retry=False)).accepted

    async def assistant_report(
        self, staff_token: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> dict[str, Any]:
        """The assistant's effectiveness report (managers and admins; order_service.effectiveness)."""
        params = {k: v.isoformat() for k, v in (("since", since), ("until", until)) if v is not None}
        return await self._get(
            "/staff/analytics/assistant", dict[str, Any], staff_token=staff_token, params=params
        )

    # --- staff -------------------------------------------------------------------------------------------
    async def staff_login(self, username: str, password: str) -> TokenOut:
        return await self._post(
            "/auth/staff/token", TokenOut, retry=False, body={"username": username, "password": password}
        )

    async def staff_me(self, staff_token: str) -> StaffMe:
        return await self._get("/auth/staff/me", StaffMe, staff_token=staff_token)

    async def staff_stock(
        self,
        sku: str,
        staff_token: str,
        *,
        near_store_id: int | None = None,
        radius_km: float | None = None,
        in_stock_only: bool = False,
        limit: int = 10,
    ) -> list[StockDetailOut]:
        """Stock of a SKU everywhere, or at the stores nearest `near_store_id`, nearest first."""
        return await self._get(
            f"/staff/stock/{sku}",
            list[StockDetailOut],
            staff_token=staff_token,
            params={
                "near_store_id": near_store_id,
                "radius_km": radius_km,
                "in_stock_only": in_stock_only,
                "limit": limit,
            },
        )

    async def low_stock(self, store_id: int, staff_token: str, *, limit: int = 20) -> list[LowStockItem]:
        return await self._get(
            f"/staff/stores/{store_id}/low-stock",
            list[LowStockItem],
            staff_token=staff_token,
            params={"limit": limit},
        )

    async def transfer_suggestions(
        self, store_id: int, staff_token: str, *, radius_km: float = 80, limit: int = 20
    ) -> list[TransferSuggestion]:
        return await self._get(
            f"/staff/stores/{store_id}/transfer-suggestions",
            list[TransferSuggestion],
            staff_token=staff_token,
            params={"radius_km": radius_km, "limit": limit},
        )

    async def replenishment(self, sku: str, location_id: int, staff_token: str) -> ReplenishmentOut:
        return await self._get(
            f"/staff/replenishment/{sku}",
            ReplenishmentOut,
            staff_token=staff_token,
            params={"location_id": location_id},
        )

    async def staff_orders(
        self,
        staff_token: str,
        *,
        location_id: int | None = None,
        status: str | None = None,
        limit: int = 20,
        offset: int = 0,
    ) -> OrderListOut:
        """Orders fulfilled at a location, newest first (an associate always gets their own store's)."""
        return await self._get(
            "/staff/orders",
            OrderListOut,
            staff_token=staff_token,
            params={"location_id": location_id, "status": status, "limit": limit, "offset": offset},
        )

    async def set_order_status(self, order_id: int, status: str, staff_token: str) -> OrderOut:
        return await self._post(
            f"/staff/orders/{order_id}/status",
            OrderOut,
            retry=True,
            staff_token=staff_token,
            body={"status": status},
        )

    # --- customer analytics (staff; order_service/api/routers/analytics.py) --------------------------
    # Answers are the recommender's typed records (recommender.records: dataclasses, no analytics code).
    async def analytics_overview(self, staff_token: str) -> Overview:
        """Customers, orders, revenue, AOV, repurchase rate, segments."""
        return await self._get("/staff/analytics/overview", Overview, staff_token=staff_token)

    async def customer_analytics(
        self, customer_id: str, staff_token: str
    ) -> tuple[CustomerProfile, CustomerValue | None]:
        """(the profile, the value or None while the history is too small for the CLV models) of one
        customer."""
        data = (
            await self._call(
                "GET", f"/staff/analytics/customers/{customer_id}", retry=True, staff_token=staff_token
            )
        ).json()
        return (
            TypeAdapter(CustomerProfile).validate_python(data["profile"]),
            TypeAdapter(CustomerValue | None).validate_python(data["value"]),
        )

    async def segment_customers(
        self, segment: str, staff_token: str, *, limit: int = 10
    ) -> tuple[int, list[CustomerProfile]]:
        """(how many customers of the segment the caller may see, the top `limit` by spend)."""
        data = (
            await self._call(
                "GET",
                f"/staff/analytics/segments/{segment}",
                retry=True,
                staff_token=staff_token,
                params={"limit": limit},
            )
        ).json()
        return int(data["total"]), TypeAdapter(list[CustomerProfile]).validate_python(data["customers"])
