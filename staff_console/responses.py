"""The console API's JSON answers and request bodies (shared by its route modules)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse


def ok(body: Any, status: int = 200) -> JSONResponse:
    """An answer that no cache keeps."""
    return JSONResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


def error(status: int, code: str, **extra: Any) -> JSONResponse:
    """An error the page shows in the reader's language: `code` is a key of its message table."""
    return ok({"error": code, **extra}, status)


async def json_body(request: Request) -> dict[str, Any] | None:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        return None
    try:
        body = await request.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
