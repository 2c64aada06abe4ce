"""The staff console's web app, mounted at /staff by ops/web.py (docs/staff-console.md).

The browser signs in with a staff username and password, which this server exchanges for the order
service's staff token (``POST /auth/staff/token``). The token stays here, in a server-side session; the
browser holds only a random session id in an HttpOnly, SameSite=Strict cookie. Chat messages go to the
Rasa server's staff channel (``POST /webhooks/staff/webhook``) with that token, so the staff channel and
the order service check it on every message, exactly as for any other staff client.

A session ends at sign-out, after ``STAFF_SESSION_IDLE_S`` without a request, when the staff token
expires, or when the staff channel refuses the token (a disabled account). State-changing requests
must come from this origin (``Origin`` equal to ``Host``; ``Sec-Fetch-Site: same-origin`` when the
browser sends it), carry JSON, and, once signed in, echo the session's CSRF token in ``X-CSRF-Token``.
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from daogou.config import Settings, get_settings
from order_service.schemas import StoreOut, TokenOut
from staff_console.handoff import SENDER_ID, Handoff, Inbox
from staff_console.render import reply_blocks
from staff_console.responses import error, json_body
from staff_console.sessions import Sessions, SessionStore, StaffSession, session_store
from staff_console.store_desk import StoreDesk

logger = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
PREFIX = "/staff"  # where ops/web.py serves the console; the session cookie's path
COOKIE = "daogou_staff"
CSRF_HEADER = "x-csrf-token"
MAX_MESSAGE_CHARS = 2000
MAX_FIELD_CHARS = 200
CHAT_TIMEOUT_S = 60.0  # one answer may run several actions; the Rasa server bounds each
LANGUAGES = ("en", "zh")
KEEPALIVE_S = 15.0  # a comment line on an idle event stream
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' https: data:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def same_origin(request: Request) -> bool:
    """Whether the browser says this request comes from a page of this origin."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site != "same-origin":
        return False
    origin = request.headers.get("origin", "")
    return bool(origin) and urlsplit(origin).netloc == request.headers.get("host")


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.setdefault("headers", [])
                headers.extend((k.lower().encode(), v.encode()) for k, v in SECURITY_HEADERS.items())
            await send(message)

        await self.app(scope, receive, with_headers if scope["type"] == "http" else send)


@dataclass
class Throttle:
    """Failed sign-ins per username: after `limit` failures within `window_s`, further attempts for that
    username are refused until the oldest failure is `window_s` old (password guessing through the
    console costs the order service a PBKDF2 check each time)."""

    limit: int = 5
    window_s: float = 300.0
    clock: Callable[[], float] = time.time
    _failures: dict[str, list[float]] = field(default_factory=dict)

    MAX_NAMES = 10_000  # made-up usernames cannot fill the memory

    def _recent(self, username: str) -> list[float]:
        username, now = username.lower(), self.clock()
        recent = [t for t in self._failures.get(username, []) if now - t < self.window_s]
        if recent:
            self._failures[username] = recent
        else:
            self._failures.pop(username, None)
        return recent

    def blocked(self, username: str) -> bool:
        return len(self._recent(username)) >= self.limit

    def failed(self, username: str) -> None:
        if len(self._failures) >= self.MAX_NAMES:
            now = self.clock()
            self._failures = {k: v for k, v in self._failures.items() if now - v[-1] < self.window_s}
        self._failures[username.lower()] = [*self._recent(username), self.clock()]

    def succeeded(self, username: str) -> None:
        self._failures.pop(username.lower(), None)


class Console:
    """The routes, the sessions and the two backends (order service, Rasa's staff channel)."""

    def __init__(
        self, settings: Settings, clock: Callable[[], float] = time.time, store: SessionStore | None = None
    ) -> None:
        self.settings = settings
        self.sessions = Sessions(
            settings.staff_session_idle_s, clock, store or session_store(settings.redis_url, settings.db_url)
        )
        self.clock = clock
        self.throttle = Throttle(clock=clock)
        self.rasa_webhook = f"http://{settings.host}:{settings.rasa_port}/webhooks/staff/webhook"
        self.orders_url = settings.orders_url.rstrip("/")
        self._http: httpx.AsyncClient | None = None
        self.inbox = Inbox(
            settings.state_dir / "handoff" / "handoff.jsonl",  # actions/journal.py: journal_path("handoff")
            settings.state_dir / "handoff" / "messages.jsonl",  # bot/channels/handoff.py: messages_path()
            f"http://{settings.host}:{settings.rasa_port}",
            settings.service_token,  # the Rasa server's internal handoff path (bot/channels/handoff.py)
        )

    @property
    def http(self) -> httpx.AsyncClient:
        """Created on first use (the app is built before an event loop runs); no proxy from the
        environment for service-to-service calls."""
        if self._http is None:
            self._http = httpx.AsyncClient(trust_env=False, timeout=self.settings.http_timeout_s)
        return self._http

    def session_of(self, request: Request) -> StaffSession | None:
        """The request's session. The page's own reading of the inbox and the event stream (GET
        /api/handoffs…, /api/events) does not count as activity: an unattended screen still signs out
        after the idle time."""
        path = request.url.path
        polling = request.method == "GET" and ("/api/handoffs" in path or path.endswith("/api/events"))
        return self.sessions.get(request.cookies.get(COOKIE), touch=not polling)

    def signed_in(self, request: Request) -> tuple[StaffSession | None, Response | None]:
        """The session of a signed-in request, or the refusal: a POST must also pass the origin and
        CSRF checks."""
        session = self.session_of(request)
        refused = self.guard(request, session) if request.method == "POST" else None
        if refused is None and session is None:
            refused = self.signed_out(request)
        return session, refused

    def signed_out(self, request: Request) -> JSONResponse:
        """401: `session_expired` when the browser still had a session cookie, else `signed_out`."""
        response = error(401, "session_expired" if request.cookies.get(COOKIE) else "signed_out")
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
        return response

    def session_json(self, session: StaffSession, status: int = 200) -> JSONResponse:
        return JSONResponse(
            {"staff": session.staff, "csrf": session.csrf, "idle_s": self.sessions.idle_s},
            status_code=status,
            headers={"Cache-Control": "no-store"},
        )

    def guard(self, request: Request, session: StaffSession | None) -> JSONResponse | None:
        """The refusal of a state-changing request from elsewhere, or None."""
        if not same_origin(request):
            return error(403, "cross_origin")
        if session is not None and not secrets.compare_digest(
            request.headers.get(CSRF_HEADER, ""), session.csrf
        ):
            return error(403, "csrf")
        return None

    # --- routes ------------------------------------------------------------------------------------
    async def current(self, request: Request) -> Response:
        session = self.session_of(request)
        return self.signed_out(request) if session is None else self.session_json(session)

    async def login(self, request: Request) -> Response:
        refused = self.guard(request, None)
        if refused:
            return refused
        body = await json_body(request)
        username = body.get("username") if body else None
        password = body.get("password") if body else None
        if not isinstance(username, str) or not isinstance(password, str) or not username or not password:
            return error(400, "credentials_required")
        username = username.strip()
        if len(username) > MAX_FIELD_CHARS or len(password) > MAX_FIELD_CHARS:
            return error(401, "bad_credentials")
        if self.throttle.blocked(username):
            return error(429, "too_many_attempts")
        try:
            answer = await self.http.post(
                f"{self.orders_url}/auth/staff/token",
                json={"username": username, "password": password},
            )
            if answer.status_code in (401, 422):
                self.throttle.failed(username)
                return error(401, "bad_credentials")
            answer.raise_for_status()
            issued = TokenOut.model_validate(answer.json())
            store = await self.store(issued.staff.store_id, issued.access_token)
        except (httpx.HTTPError, ValueError) as exc:
            logger.error("staff sign-in failed: %s", exc)
            return error(503, "service_unavailable")
        self.throttle.succeeded(username)
        staff = {**issued.staff.model_dump(), "store_name": store.name if store else None}
        expires = self.clock() + max(0.0, issued.expires_at.timestamp() - time.time())
        self.sessions.drop(request.cookies.get(COOKIE))
        session_id, session = self.sessions.create(issued.access_token, staff, expires)
        response = self.session_json(session)
        response.set_cookie(
            COOKIE,
            session_id,
            max_age=int(expires - self.clock()),
            path=PREFIX,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        return response

    def end_session(self, request: Request) -> None:
        self.sessions.drop(request.cookies.get(COOKIE))

    async def orders_call(self, session: StaffSession, method: str, path: str, **kw: Any) -> httpx.Response:
        """The order service, asked as the signed-in staff member (their token)."""
        headers = {"Authorization": f"Bearer {session.token}"}
        return await self.http.request(method, f"{self.orders_url}{path}", headers=headers, **kw)

    async def audit(
        self, session: StaffSession, action: str, obj: str, detail: dict[str, Any] | None = None
    ) -> None:
        """Records a console action in the order service's audit (POST /staff/actions) as the staff
        member; a failure is logged (the action itself already happened)."""
        try:
            answer = await self.orders_call(
                session,
                "POST",
                "/staff/actions",
                json={"action": action, "object": obj, "detail": detail or {}},
            )
            answer.raise_for_status()
        except httpx.HTTPError as exc:
            logger.error("audit of %s on %s failed: %s", action, obj, exc)

    async def store(self, store_id: int | None, token: str) -> StoreOut | None:
        if store_id is None:
            return None
        answer = await self.http.get(
            f"{self.orders_url}/stores/{store_id}", headers={"Authorization": f"Bearer {token}"}
        )
        answer.raise_for_status()
        return StoreOut.model_validate(answer.json())

    async def logout(self, request: Request) -> Response:
        session = self.session_of(request)
        refused = self.guard(request, session)
        if refused:
            return refused
        self.sessions.drop(request.cookies.get(COOKIE))
        response = JSONResponse({"signed_out": True}, headers={"Cache-Control": "no-store"})
        response.delete_cookie(COOKIE, path=PREFIX, httponly=True, samesite="strict")
        return response

    async def chat(self, request: Request) -> Response:
        session, refused = self.signed_in(request)
        if refused or session is None:
            return refused or self.signed_out(request)
        body = await json_body(request)
        text = body.get("message") if body else None
        if not isinstance(text, str) or not text.strip():
            return error(400, "message_required")
        language = body.get("language") if body.get("language") in LANGUAGES else LANGUAGES[0]
        try:
            answer = await self.http.post(
                self.rasa_webhook,
                timeout=CHAT_TIMEOUT_S,
                json={"message": text[:MAX_MESSAGE_CHARS], "metadata": {"language": language}},
                headers={"Authorization": f"Bearer {session.token}"},
            )
        except httpx.HTTPError as exc:
            logger.error("staff channel unreachable: %s", exc)
            return error(503, "assistant_unavailable")
        if answer.status_code == 401:  # the token expired or the account was disabled
            self.sessions.drop(request.cookies.get(COOKIE))
            return self.signed_out(request)
        if answer.status_code != 200:
            logger.error("staff channel answered %s: %s", answer.status_code, answer.text[:500])
            return error(503, "assistant_unavailable")
        messages = answer.json()
        return JSONResponse(
            {"blocks": reply_blocks(messages if isinstance(messages, list) else [])},
            headers={"Cache-Control": "no-store"},
        )


def handoff_route(
    mine: bool,
) -> Callable[[Callable[..., Awaitable[Response]]], Callable[..., Awaitable[Response]]]:
    """A HandoffDesk route for the handoff the path names: signed in (and for a POST, same origin with
    the CSRF token), an open handoff, and when `mine`, claimed by this staff member."""

    def wrap(method: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
        @functools.wraps(method)
        async def route(self: HandoffDesk, request: Request) -> Response:
            found = await self._handoff(request)
            if isinstance(found, Response):
                return found
            refused = self._mine(*found) if mine else None
            return refused or await method(self, request, *found)

        return route

    return wrap


class HandoffDesk:
    """The inbox's routes (staff_console/handoff.py): list, one handoff with its live transcript, claim,
    reply, hand back. Every signed-in staff member sees every handoff."""

    def __init__(self, console: Console) -> None:
        self.console, self.inbox = console, console.inbox

    async def _handoff(self, request: Request) -> tuple[StaffSession, Handoff] | Response:
        """(session, the open handoff the path names), or the refusal."""
        session, refused = self.console.signed_in(request)
        if refused or session is None:
            return refused or self.console.signed_out(request)
        sender_id = request.path_params.get("sender_id", "")
        handoff = self.inbox.get(sender_id) if SENDER_ID.match(sender_id) else None
        return error(404, "no_handoff") if handoff is None else (session, handoff)

    def _mine(self, session: StaffSession, handoff: Handoff) -> Response | None:
        return error(409, "not_yours") if handoff.claimed_by != session.staff["username"] else None

    async def list(self, request: Request) -> Response:
        session, refused = self.console.signed_in(request)
        if refused or session is None:
            return refused or self.console.signed_out(request)
        now, me = time.time(), session.staff["username"]
        return JSONResponse(
            {
                "can_act": True,
                "handoffs": [h.summary(me, now) for h in self.inbox.open_handoffs(now)],
            },
            headers={"Cache-Control": "no-store"},
        )

    @handoff_route(mine=False)
    async def show(self, request: Request, session: StaffSession, handoff: Handoff) -> Response:
        return JSONResponse(
            {
                **handoff.summary(session.staff["username"], time.time()),
                "transcript": await self.inbox.transcript(self.console.http, handoff),
            },
            headers={"Cache-Control": "no-store"},
        )

    @handoff_route(mine=False)
    async def claim(self, request: Request, session: StaffSession, handoff: Handoff) -> Response:
        username, first = session.staff["username"], handoff.claimed_by is None
        try:
            if not await self.inbox.claim(self.console.http, handoff, username, session.staff["role"]):
                return JSONResponse({"error": "claimed", "claimed_by": handoff.claimed_by}, status_code=409)
        except httpx.HTTPError as exc:
            logger.error("the Rasa server's handoff path failed: %s", exc)
            return error(503, "assistant_unavailable")
        if first:
            await self.console.audit(session, "handoff_claim", f"conversation:{handoff.sender_id}")
        return JSONResponse(handoff.summary(username, time.time()))

    @handoff_route(mine=True)
    async def reply(self, request: Request, session: StaffSession, handoff: Handoff) -> Response:
        body = await json_body(request)
        text = body.get("message") if body else None
        if not isinstance(text, str) or not text.strip():
            return error(400, "message_required")
        staff = session.staff
        return await self._act(
            session,
            handoff,
            "handoff_reply",
            self.inbox.reply(self.console.http, handoff, staff["username"], staff["role"], text),
        )

    @handoff_route(mine=True)
    async def hand_back(self, request: Request, session: StaffSession, handoff: Handoff) -> Response:
        return await self._act(
            session, handoff, "handoff_hand_back", self.inbox.hand_back(self.console.http, handoff)
        )

    async def _act(
        self, session: StaffSession, handoff: Handoff, audited: str, action: Awaitable[Any]
    ) -> Response:
        try:
            await action
        except httpx.HTTPError as exc:
            logger.error("the Rasa server's handoff path failed: %s", exc)
            return error(503, "assistant_unavailable")
        await self.console.audit(session, audited, f"conversation:{handoff.sender_id}")
        return JSONResponse({"ok": True}, headers={"Cache-Control": "no-store"})

    async def events(self, request: Request) -> Response:
        """Server-sent events: `inbox` (a hand-over arrived: read the list again) and `message` (a shopper
        wrote to a claimed conversation), pushed as they happen; a comment line every 15 s keeps proxies
        from closing the stream. The stream ends when the session does."""
        session, refused = self.console.signed_in(request)
        if refused or session is None:
            return refused or self.console.signed_out(request)
        cookie = request.cookies.get(COOKIE)
        check_s = min(
            KEEPALIVE_S, max(1.0, self.console.sessions.idle_s / 3)
        )  # and whether the session lives

        async def stream() -> AsyncIterator[str]:
            yield "retry: 2000\n\n"
            changes = self.inbox.changes()
            pending = asyncio.ensure_future(anext(changes))
            try:
                while True:
                    done, _ = await asyncio.wait({pending}, timeout=check_s)
                    if (
                        await request.is_disconnected()
                        or self.console.sessions.get(cookie, touch=False) is None
                    ):
                        return
                    if not done:
                        yield ": keep-alive\n\n"
                        continue
                    change = pending.result()
                    pending = asyncio.ensure_future(anext(changes))
                    yield f"event: {change['kind']}\ndata: {json.dumps(change, ensure_ascii=False)}\n\n"
            finally:
                pending.cancel()
                await changes.aclose()

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
        )


def create_app(settings: Settings | None = None, *, clock: Callable[[], float] = time.time) -> ASGIApp:
    console = Console(settings or get_settings(), clock)
    desk, shop = HandoffDesk(console), StoreDesk(console)
    app = Starlette(
        routes=[
            Route("/api/session", console.current, methods=["GET"]),
            Route("/api/login", console.login, methods=["POST"]),
            Route("/api/logout", console.logout, methods=["POST"]),
            Route("/api/chat", console.chat, methods=["POST"]),
            Route("/api/handoffs", desk.list, methods=["GET"]),
            Route("/api/handoffs/{sender_id}", desk.show, methods=["GET"]),
            Route("/api/handoffs/{sender_id}/claim", desk.claim, methods=["POST"]),
            Route("/api/handoffs/{sender_id}/reply", desk.reply, methods=["POST"]),
            Route("/api/handoffs/{sender_id}/hand-back", desk.hand_back, methods=["POST"]),
            Route("/api/events", desk.events, methods=["GET"]),
            Route("/api/pickups", shop.pickups, methods=["GET"]),
            Route("/api/pickups/{order_id:int}/ready", shop.ready, methods=["POST"]),
            Route("/api/transfers", shop.suggestions, methods=["GET"]),
            Route("/api/transfers", shop.confirm_transfer, methods=["POST"]),
            Mount("/", StaticFiles(directory=STATIC, html=True)),
        ]
    )
    app.state.console = console
    return SecurityHeaders(app)


def routes(settings: Settings | None = None) -> list[BaseRoute]:
    """What a web server adds to serve the console at /staff."""

    async def to_page(_request: Request) -> Response:
        return RedirectResponse(PREFIX + "/")

    return [Route(PREFIX, to_page), Mount(PREFIX, create_app(settings))]
