"""The bot's staff replies as blocks the console page draws: text, tables, buttons, images.

A reply may carry a table itself, as a custom payload ``{"table": {"caption": str, "columns": [str],
"rows": [[str]]}}``; the staff actions (actions/staff.py) send text today, a header line followed by
bullet lines such as ``• RM850x (PC-1): 2 / 5`` or ``• #12 · 2026-12-03 10:00 · 1 × X · $99.00``. Those
bullet runs become tables: cells are split at `` · `` and `` ← ``, at the last ``: `` of the first
cell, and ``a / b`` pairs of numbers; the column names come from the header line's parenthesis
("(available / on hand):") when it names as many columns as the rows have values. Nothing is
dropped: a run whose rows do not split stays a list, and every other line stays text.
"""

from __future__ import annotations

import re
from typing import Any

BULLET = "• "
PAIR = re.compile(r"^(-?\d+) / (-?\d+)$")
HEADER_PARENS = re.compile(r"[(（]([^()（）]+)[)）]\s*[:：]?\s*$")


def split_cells(item: str) -> list[str]:
    """One bullet line as table cells."""
    parts = [p.strip() for p in re.split(r" · | ← ", item)]
    label, sep, rest = parts[0].rpartition(": ")
    if sep and label:
        parts[0:1] = [label, rest]
    cells: list[str] = []
    for part in parts:
        pair = PAIR.match(part)
        cells.extend(pair.groups() if pair else [part])
    return cells


def column_names(header: str, values: int) -> list[str] | None:
    """The names in the header line's trailing parenthesis, for `values` columns after the first one
    (which names the row), or None when they do not fit."""
    found = HEADER_PARENS.search(header)
    if not found:
        return None
    inner = found.group(1)
    for pattern in (r" · ", r" / ", r" · | / "):
        names = [n.strip() for n in re.split(pattern, inner)]
        if len(names) == values:
            return ["", *names]
        if len(names) == values + 1:
            return names
    return None


def bullets_block(header: str, items: list[str]) -> dict[str, Any]:
    rows = [split_cells(i) for i in items]
    width = max(len(r) for r in rows)
    if width < 2:
        return {"kind": "list", "items": items}
    rows = [r + [""] * (width - len(r)) for r in rows]
    return {"kind": "table", "columns": column_names(header, width - 1), "rows": rows}


def text_blocks(text: str) -> list[dict[str, Any]]:
    """Paragraph text, and each run of bullet lines as a table (or a list), in order."""
    blocks: list[dict[str, Any]] = []
    para: list[str] = []
    items: list[str] = []
    header = ""

    def flush_para() -> None:
        if any(line.strip() for line in para):
            blocks.append({"kind": "text", "text": "\n".join(para).strip("\n")})
        para.clear()

    for line in text.split("\n"):
        stripped = line.strip()
        if stripped.startswith(BULLET):
            if not items:
                header = para[-1] if para else ""
                flush_para()
            items.append(stripped[len(BULLET) :].strip())
            continue
        if items:
            blocks.append(bullets_block(header, items))
            items = []
        para.append(line)
    if items:
        blocks.append(bullets_block(header, items))
    flush_para()
    return blocks


def custom_table(payload: Any) -> dict[str, Any] | None:
    """A table sent as a custom payload, with every cell as text, or None when it is not one."""
    table = payload.get("table") if isinstance(payload, dict) else None
    if not isinstance(table, dict) or not isinstance(table.get("rows"), list):
        return None
    rows = [[str(c) for c in row] for row in table["rows"] if isinstance(row, list)]
    columns = table.get("columns")
    return {
        "kind": "table",
        "caption": str(table.get("caption") or ""),
        "columns": [str(c) for c in columns] if isinstance(columns, list) else None,
        "rows": rows,
    }


def message_blocks(message: dict[str, Any]) -> list[dict[str, Any]]:
    """One bot message (as Rasa's REST-style channels return it) as blocks."""
    blocks: list[dict[str, Any]] = []
    if isinstance(message.get("text"), str):
        blocks.extend(text_blocks(message["text"]))
    custom = message.get("custom")
    table = custom_table(custom)
    if table is not None:
        blocks.append(table)
    elif isinstance(custom, dict) and isinstance(custom.get("text"), str):
        blocks.extend(text_blocks(custom["text"]))
    if isinstance(message.get("image"), str) and message["image"].startswith(("https://", "http://")):
        blocks.append({"kind": "image", "src": message["image"]})
    buttons = [
        {"title": str(b.get("title", "")), "payload": str(b.get("payload", ""))}
        for b in message.get("buttons") or []
        if isinstance(b, dict) and b.get("payload")
    ]
    if buttons:
        blocks.append({"kind": "buttons", "buttons": buttons})
    return blocks


def reply_blocks(messages: list[Any]) -> list[dict[str, Any]]:
    return [b for m in messages if isinstance(m, dict) for b in message_blocks(m)]
