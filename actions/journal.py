"""Append-only JSON Lines files under settings.state_dir, for records that have no service of their
own yet (hand-over transcripts, ratings). Written in a thread so the event loop never blocks."""

from __future__ import annotations

import asyncio
import json
import threading
from pathlib import Path
from typing import Any

from daogou.config import get_settings

_lock = threading.Lock()


def journal_path(name: str) -> Path:
    """$STATE_DIR/<name>/<name>.jsonl"""
    return get_settings().state_dir / name / f"{name}.jsonl"


def _append(path: Path, record: dict[str, Any]) -> None:
    line = json.dumps(record, ensure_ascii=False, default=str) + "\n"
    with _lock:  # one writer at a time per process, so lines never interleave
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as f:
            f.write(line)


async def append(name: str, record: dict[str, Any]) -> Path:
    path = journal_path(name)
    await asyncio.to_thread(_append, path, record)
    return path
