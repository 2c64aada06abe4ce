"""The console's store work from the page, not only by chat: today's pick-up orders to prepare (mark one
ready, which tells the shopper in their conversation) and the transfer suggestions of the store (confirm
one, which moves the stock). The order service decides who may do what (associates: their own store),
records the change and audits it; the console adds the shopper's notice and its own audit line."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

import httpx
from starlette.requests import Request
from starlette.responses import Response

from order_service.schemas import OrderOut, TransferIn, TransferSuggestion
from staff_console.responses import error, json_body, ok

if TYPE_CHECKING:
    from staff_console.app import Console
    from staff_console.sessions import StaffSession

logger = logging.getLogger(__name__)

PICKUPS_LIMIT = 50
READY = {
    "en": "Good news: your order #{id} is ready for pick-up at {store}. Bring your order number.",
    "zh": "好消息：您的订单 #{id} 已在{store}备好，可以来取货了，请带上订单号。",
}
# order-service statuses the page shows as they are; anything else is "the service could not answer"
PASSED_ON = {401: "signed_out", 403: "forbidden", 404: "not_found", 409: "conflict", 422: "invalid"}


class StoreDesk:
    def __init__(self, console: Console) -> None:
        self.console = console

    async def _call(
        self, request: Request, method: str, path: str, **kw: Any
    ) -> tuple[StaffSession, httpx.Response] | Response:
        """(session, the order service's 2xx answer to the staff member's request), or the refusal."""
        session, refused = self.console.signed_in(request)
        if refused or session is None:
            return refused or self.console.signed_out(request)
        try:
            answer = await self.console.orders_call(session, method, path, **kw)
        except httpx.HTTPError as exc:
            logger.error("order service unreachable: %s", exc)
            return error(503, "service_unavailable")
        if answer.status_code == 401:
            self.console.end_session(request)
            return self.console.signed_out(request)
        if answer.status_code >= 300:
            code = PASSED_ON.get(answer.status_code)
            if code is None:
                return error(503, "service_unavailable")
            try:
                detail = answer.json().get("detail")
            except ValueError:
                detail = None
            return error(answer.status_code, code, detail=detail if isinstance(detail, str) else None)
        return session, answer

    async def pickups(self, request: Request) -> Response:
        """Pick-up orders confirmed and not yet ready (an associate's store; a manager's every store)."""
        found = await self._call(
            request, "GET", "/staff/orders", params={"status": "confirmed", "limit": PICKUPS_LIMIT}
        )
        if isinstance(found, Response):
            return found
        orders = [OrderOut.model_validate(o) for o in found[1].json()["orders"]]
        return ok(
            {
                "orders": [
                    {
                        "id": o.id,
                        "customer_id": o.customer_id,
                        "location_id": o.location_id,
                        "created_at": o.created_at.isoformat(),
                        "lines": [
                            {"sku": li.sku, "name": li.name, "quantity": li.quantity} for li in o.lines
                        ],
                    }
                    for o in orders
                    if o.fulfilment == "pickup"
                ]
            }
        )

    async def ready(self, request: Request) -> Response:
        """Marks the order ready for pick-up and tells the shopper in the conversation the order was
        placed in (its language); `shopper_told` says whether that conversation took the notice."""
        order_id = request.path_params["order_id"]
        found = await self._call(
            request, "POST", f"/staff/orders/{order_id}/status", json={"status": "ready_for_pickup"}
        )
        if isinstance(found, Response):
            return found
        session, answer = found
        order = OrderOut.model_validate(answer.json())
        told = False
        if order.conversation_id:
            try:
                store = await self.console.store(order.location_id, session.token)
                name = store.name if store else str(order.location_id)
                texts = {lang: t.format(id=order.id, store=name) for lang, t in READY.items()}
                told = bool(
                    (await self.console.inbox.say(self.console.http, order.conversation_id, {"text": texts}))[
                        "sent"
                    ]
                )
            except (httpx.HTTPError, ValueError, KeyError) as exc:
                logger.error("could not tell the shopper of order %s: %s", order.id, exc)
        return ok({"id": order.id, "status": order.status, "shopper_told": told})

    async def suggestions(self, request: Request) -> Response:
        """The transfer suggestions of a store: the associate's own, or the one a manager names
        (`?store_id=`)."""
        session, refused = self.console.signed_in(request)
        if refused or session is None:
            return refused or self.console.signed_out(request)
        store_id = session.staff.get("store_id") or request.query_params.get("store_id")
        if not str(store_id or "").isdigit():
            return ok({"store_id": None, "suggestions": []})
        found = await self._call(request, "GET", f"/staff/stores/{store_id}/transfer-suggestions")
        if isinstance(found, Response):
            return found
        rows = [TransferSuggestion.model_validate(r).model_dump() for r in found[1].json()]
        return ok({"store_id": int(str(store_id)), "suggestions": rows})

    async def confirm_transfer(self, request: Request) -> Response:
        """Confirms a suggested transfer: the order service moves the stock (and audits the transfer);
        the console audits the confirmation."""
        body = await json_body(request)
        try:
            transfer = TransferIn.model_validate({**(body or {}), "note": "confirmed in the staff console"})
        except ValueError:
            return error(400, "invalid")
        found = await self._call(request, "POST", "/staff/transfers", json=transfer.model_dump())
        if isinstance(found, Response):
            return found
        session, answer = found
        moved = answer.json()
        ref = moved[0].get("transfer_ref") if moved else None
        await self.console.audit(
            session, "transfer_confirm", f"transfer:{ref}", transfer.model_dump(exclude={"note"})
        )
        return ok({"transfer_ref": ref, "movements": moved}, status=201)
