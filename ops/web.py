"""Serves the chat page (bot/web) and tells it where the Rasa server is."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from daogou.config import ROOT, get_settings
from staff_console.app import routes as staff_console_routes

WEB_DIR = ROOT / "bot" / "web"


def create_app() -> Starlette:
    s = get_settings()
    config = {"rasaUrl": f"http://{s.host}:{s.rasa_port}", "languages": s.language_list}

    async def config_js(_request) -> Response:
        return Response(f"window.DAOGOU_CONFIG = {json.dumps(config)};\n", media_type="text/javascript")

    async def health(_request) -> Response:
        return PlainTextResponse("ok")

    return Starlette(
        routes=[
            Route("/config.js", config_js),
            Route("/health", health),
            *staff_console_routes(s),  # /staff: docs/staff-console.md
            Mount("/", StaticFiles(directory=WEB_DIR, html=True)),
        ]
    )


def main() -> None:
    import uvicorn

    s = get_settings()
    # the staff console's event streams never end by themselves: on Ctrl-C they are closed after 2 s
    uvicorn.run(create_app(), host=s.host, port=s.web_port, log_level="warning", timeout_graceful_shutdown=2)


if __name__ == "__main__":
    main()
