"""The two order-service calls the channels need: who is this shopper, and is this staff token valid.

Channels run inside the Rasa process (sanic + aiohttp), so this is a small aiohttp client rather than
the application's httpx client. A shopper's customer id changes only when they link or unlink two
channels (order_service/services/links.py), so it is cached for ``customer_ttl_s`` (a few seconds: an
unlink must not leave a channel acting for the other account); a staff token is re-checked after
``staff_ttl_s`` so that a revoked token stops working quickly.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from typing import Any

import aiohttp

logger = logging.getLogger(__name__)


class OrderServiceError(Exception):
    """The order service could not be reached or answered with an unexpected status."""


class _TTLCache:
    def __init__(self, size: int, ttl_s: float) -> None:
        self.size, self.ttl_s = size, ttl_s
        self._items: OrderedDict[Any, tuple[float, Any]] = OrderedDict()

    def get(self, key: Any) -> Any:
        item = self._items.get(key)
        if item is None or item[0] < time.monotonic():
            self._items.pop(key, None)
            return None
        self._items.move_to_end(key)
        return item[1]

    def put(self, key: Any, value: Any) -> None:
        self._items[key] = (time.monotonic() + self.ttl_s, value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)


class OrderServiceClient:
    def __init__(
        self,
        base_url: str,
        service_token: str = "",
        timeout_s: float = 3.0,
        staff_ttl_s: float = 30.0,
        customer_ttl_s: float = 5.0,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.service_token = service_token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._customers = _TTLCache(10_000, customer_ttl_s)
        self._staff = _TTLCache(1_000, staff_ttl_s)

    async def _request(self, method: str, path: str, token: str | None, **kwargs: Any) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session:
                async with session.request(method, self.base_url + path, headers=headers, **kwargs) as resp:
                    body = await resp.json(content_type=None) if resp.status < 500 else None
                    return resp.status, body
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            raise OrderServiceError(f"{method} {path}: {exc!r}") from exc

    async def resolve_customer(self, channel: str, external_id: str) -> int | None:
        """The customer id for a channel identity (web session, WeChat openid), created on first contact.
        None when the order service is down: the conversation goes on without a customer."""
        key = (channel, external_id)
        cached = self._customers.get(key)
        if cached is not None:
            return cached
        try:
            status, body = await self._request(
                "POST",
                "/customers/resolve",
                self.service_token,
                json={"channel": channel, "external_id": external_id},
            )
        except OrderServiceError as exc:
            logger.warning("customer lookup failed: %s", exc)
            return None
        if (
            status not in (200, 201) or not isinstance(body, dict) or "customer_id" not in body
        ):  # 201: created
            logger.warning("customer lookup answered %s: %r", status, body)
            return None
        self._customers.put(key, body["customer_id"])
        return body["customer_id"]

    async def staff_member(self, token: str) -> dict[str, Any] | None:
        """The staff member a token belongs to ({staff_id, username, role, store_id}), None if the order
        service refuses the token. Raises OrderServiceError when it cannot tell (down, 5xx)."""
        if not token:
            return None
        cached = self._staff.get(token)
        if cached is not None:
            return cached
        status, body = await self._request("GET", "/auth/staff/me", token)
        if status in (401, 403):
            return None
        if status != 200 or not isinstance(body, dict) or "staff_id" not in body:
            raise OrderServiceError(f"/auth/staff/me answered {status}")
        self._staff.put(token, body)
        return body
