"""The action server: `python -m actions` (what `make run` starts).

rasa-sdk's own runner serves through Sanic's process manager, which starts a worker process that
imports the actions (and loads the embedding model and the product graph) a second time and insists
on choosing the multiprocessing start method itself. One process serving rasa-sdk's app is enough
here: actions are async and heavy work runs in threads. Scale out with more processes behind a
load balancer instead.

Only the Rasa servers may call it: every route but /health requires the credential Rasa presents
(`Authorization: Bearer $ACTION_SERVER_TOKEN`, bot/endpoints.yml), and it listens on INTERNAL_HOST.
A call without it (say, a hand-made tracker naming another customer) gets 401 and runs nothing.
"""

from __future__ import annotations

import hmac
import logging

from rasa_sdk.endpoint import create_app
from sanic import Sanic, response
from sanic.request import Request
from sanic.response import HTTPResponse

from daogou.config import get_settings, refuse_unsafe_production

OPEN_PATHS = frozenset({"/health"})


def require_credential(app: Sanic, token: str) -> None:
    """Refuse (401) every request but the health check that lacks `Authorization: Bearer <token>`."""
    if not token:
        raise SystemExit("ACTION_SERVER_TOKEN is empty: the action server would accept anyone's calls")
    expected = f"Bearer {token}".encode()

    @app.on_request
    async def check_credential(request: Request) -> HTTPResponse | None:
        if request.path in OPEN_PATHS:
            return None
        supplied = request.headers.get("authorization", "").encode()
        if hmac.compare_digest(supplied, expected):
            return None
        return response.json({"error": "not authenticated"}, status=401)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    refuse_unsafe_production("action server", settings)
    from actions.events import RecordingExecutor  # ActionExecutor that records what the assistant did

    executor = RecordingExecutor()
    executor.register_package("actions")  # imports the action modules; actions/__init__ warms up
    app = create_app(executor, cors_origins=None)
    require_credential(app, settings.action_server_token)
    app.run(
        host=settings.internal_host,
        port=settings.actions_port,
        single_process=True,
        access_log=False,
        motd=False,
    )


if __name__ == "__main__":
    main()
