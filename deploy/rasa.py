"""The Rasa server's command line, built from the settings: `python -m deploy.rasa [--model PATH]`.

The Procfile (`make run`) and deploy/stack.py start the Rasa server through this module, so the doors
are decided in one place (docs/deployment.md, "Doors"):

* Rasa's HTTP API (conversations, events, execute, model, domain, status) is off unless RASA_API_TOKEN
  is set; then it answers only requests that carry that token (`?token=`, Rasa's `--auth-token`).
  Only the channel routes (webhooks/*, socket.io) are meant for the public: deploy/nginx.conf.template
  routes nothing else.
* CORS allows the shop's own origins only (SHOP_ORIGINS, by default the chat page), never "*".

The server itself runs in the Rasa environment (`.venv-rasa/bin/python -m bot.server run …`); this
module, run by the application environment's Python, replaces itself with it (exec), so whoever started
it (honcho, deploy.stack) supervises the Rasa process directly.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from daogou.config import ROOT, Settings, get_settings

RASA_PYTHON = ROOT / ".venv-rasa" / "bin" / "python"
# The route every Rasa server answers once its model is loaded, with the API on or off: the REST
# channel's health check (Rasa binds the port only after the model has loaded).
READY_PATH = "/webhooks/rest/"


def rasa_arguments(settings: Settings, model: Path | str, port: int | None = None) -> list[str]:
    """`python -m bot.server` arguments for one Rasa server of these settings."""
    args = [
        "run",
        "--model",
        str(model),
        "--endpoints",
        "bot/endpoints.yml",
        "--credentials",
        "bot/credentials.yml",
        "--interface",
        settings.host,
        "--port",
        str(port or settings.rasa_port),
        "--cors",
        *settings.shop_origin_list,
    ]
    if settings.rasa_api_token:
        args += ["--enable-api", "--auth-token", settings.rasa_api_token]
    return args


def rasa_environment(env: dict[str, str]) -> dict[str, str]:
    return {**env, "RASA_TELEMETRY_ENABLED": "false", "TF_CPP_MIN_LOG_LEVEL": "2"}


def main() -> None:
    parser = argparse.ArgumentParser(description="Start one Rasa server as the settings say.")
    parser.add_argument("--model", default="models", help="model file or folder (default: models/)")
    parser.add_argument("--port", type=int, default=None, help="default: RASA_PORT")
    args = parser.parse_args()
    argv = [str(RASA_PYTHON), "-m", "bot.server", *rasa_arguments(get_settings(), args.model, args.port)]
    os.chdir(ROOT)
    os.execve(argv[0], argv, rasa_environment(dict(os.environ)))


if __name__ == "__main__":
    main()
