"""The action server: `python -m actions` (what `make run` starts).

rasa-sdk's own runner serves through Sanic's process manager, which starts a worker process that
imports the actions (and loads the embedding model and the product graph) a second time and insists
on choosing the multiprocessing start method itself. One process serving rasa-sdk's app is enough
here: actions are async and heavy work runs in threads. Scale out with more processes behind a
load balancer instead.
"""

from __future__ import annotations

import logging

from rasa_sdk.endpoint import create_app

from daogou.config import get_settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    settings = get_settings()
    from actions.events import RecordingExecutor  # ActionExecutor that records what the assistant did

    executor = RecordingExecutor()
    executor.register_package("actions")  # imports the action modules; actions/__init__ warms up
    app = create_app(executor, cors_origins=None)
    app.run(host=settings.host, port=settings.actions_port, single_process=True, access_log=False, motd=False)


if __name__ == "__main__":
    main()
