"""The live stack the conversation suite talks to: benchmarks.chat.Stack (the Procfile's order service,
action server and Rasa on free ports, a copy of the order database, a fresh tracker store), so the
suite never touches a running `make run`, and what the runner needs to know about it."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from benchmarks.chat import Stack
from daogou.config import ROOT, get_settings
from order_service.core.migrate import upgrade


@dataclass
class LiveStack:
    """URLs of the running processes and the path of its private order database."""

    rasa_url: str
    orders_url: str
    database: Path
    workdir: Path
    service_token: str
    startup_s: float = 0.0
    rasa_api_token: str = ""  # Rasa's HTTP API (domain, trackers): this stack's token


def _consistent_copy(source: Path, target: Path) -> None:
    """Copy the demo database with SQLite's backup API: the demo database runs in WAL mode, and a plain
    file copy misses whatever the write-ahead log has not yet checkpointed."""
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    dst = sqlite3.connect(target)
    try:
        src.backup(dst)
    finally:
        dst.close()
        src.close()


def train_model() -> None:
    """`daogou prepare`: what `make run` does first (migrate, load the demo shop into an empty
    database, FAQ index, recommender, Rasa model; each step a no-op when up to date), so the suite
    also runs on a clean clone whose state directory holds no demo shop yet. With
    CONVERSATIONS_SKIP_TRAIN set, nothing is prepared (the newest model in models/ is used)."""
    if os.environ.get("CONVERSATIONS_SKIP_TRAIN", "") not in ("", "0", "false"):
        return
    code = subprocess.call([str(ROOT / ".venv" / "bin" / "daogou"), "prepare"], cwd=ROOT)
    if code != 0:
        raise RuntimeError("`daogou prepare` failed")


@contextmanager
def live_stack(train: bool = True, keep_logs: bool | None = None) -> Iterator[LiveStack]:
    """Start the stack, yield it, stop every process it started (also on errors). The process logs are
    removed afterwards unless keep_logs (default: CONVERSATIONS_KEEP_LOGS set) or start-up failed."""
    if keep_logs is None:
        keep_logs = os.environ.get("CONVERSATIONS_KEEP_LOGS", "") not in ("", "0", "false")
    if train:
        train_model()
    workdir = Path(tempfile.mkdtemp(prefix="daogou-conversations-"))
    try:
        stack = Stack(workdir)  # copies the database (plain copy) and picks the free ports
    except SystemExit as exc:  # benchmarks.chat reports with SystemExit, which would end a pytest session
        raise RuntimeError(str(exc)) from exc
    _consistent_copy(get_settings().state_dir / "daogou.db", workdir / "daogou.db")
    # a state directory prepared before the newest migration (CONVERSATIONS_SKIP_TRAIN) still serves
    upgrade(f"sqlite:///{workdir / 'daogou.db'}")
    started = time.perf_counter()
    failed = False
    try:
        try:
            stack.start()
        except BaseException as exc:
            failed = True  # keep the logs of a stack that did not come up
            if isinstance(exc, SystemExit):
                raise RuntimeError(str(exc)) from exc
            raise
        yield LiveStack(
            rasa_url=stack.url("RASA_PORT", ""),
            orders_url=stack.url("ORDERS_PORT", ""),
            database=workdir / "daogou.db",
            workdir=workdir,
            service_token=stack.env.get("SERVICE_TOKEN") or get_settings().service_token,
            startup_s=round(time.perf_counter() - started, 1),
            rasa_api_token=stack.rasa_api["token"],
        )
    finally:
        stack.stop()
        if failed:
            print(f"conversation stack logs kept in {workdir}", flush=True)
        elif keep_logs:
            print(f"conversation stack logs kept in {workdir}", flush=True)
        else:
            shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    """Hold a stack up for repeated runs while writing conversations: writes its description to the
    JSON file named by the first argument; the runner uses it when CONVERSATIONS_STACK_JSON names that
    file. Stop it with SIGTERM or Ctrl-C."""
    import json
    import signal
    import sys
    from dataclasses import asdict

    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/conversations-stack.json")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with live_stack() as stack:
        out.write_text(json.dumps({k: str(v) for k, v in asdict(stack).items()}), encoding="utf-8")
        print(f"stack up in {stack.startup_s} s: {out}", flush=True)
        try:
            while True:
                time.sleep(3600)
        finally:
            out.unlink(missing_ok=True)


if __name__ == "__main__":
    main()
