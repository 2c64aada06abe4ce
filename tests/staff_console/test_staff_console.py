"""Staff console pieces without a stack: replies drawn as tables, session lifetime, sign-in throttle.
The console against the live stack, in Chromium and over HTTP: tests/browser/test_staff_console.py."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import yaml

from daogou.config import ROOT
from staff_console.app import Sessions, Throttle
from staff_console.render import reply_blocks, text_blocks
from staff_console.sessions import MemoryStore, SqlStore

RESPONSES = yaml.safe_load((ROOT / "bot" / "domain" / "staff.yml").read_text(encoding="utf-8"))["responses"]
# (name, SKU, available, on hand) in the shape actions/staff.py lists low stock
LOW = [("Corsair RM850x: 2021", "PC-0000000001", 1, 3), ("Logitech G305", "PC-0000000002", 0, 2)]


def templates(name: str) -> list[str]:
    """The English and the Chinese text of a domain response."""
    return [variant["text"] for variant in RESPONSES[name]]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_low_stock_reply_is_a_table_in_both_languages():
    lines = "\n".join(f"• {name} ({sku}): {avail} / {on_hand}" for name, sku, avail, on_hand in LOW)
    for template in templates("utter_staff_low_stock"):
        header = template.split("\n")[0]
        blocks = text_blocks(template.replace("{lines}", lines))
        assert [b["kind"] for b in blocks] == ["text", "table"]
        assert blocks[0]["text"] == header
        table = blocks[1]
        assert table["rows"] == [[f"{n} ({s})", str(a), str(h)] for n, s, a, h in LOW]
        assert table["columns"] is not None and len(table["columns"]) == 3
        assert table["columns"][0] == "" and all(table["columns"][1:])
        assert all(name in header for name in table["columns"][1:])


def test_reorder_reply_keeps_the_note_after_the_table():
    lines = "\n".join(f"• {n} ({s}): {a} · 2 · 7 (9 / 90 d)" for n, s, a, _ in LOW)
    for template in templates("utter_staff_reorder"):
        header, _, note = template.split("\n")
        blocks = text_blocks(template.replace("{lines}", lines))
        assert [b["kind"] for b in blocks] == ["text", "table", "text"]
        assert (blocks[0]["text"], blocks[2]["text"]) == (header, note)
        assert [len(r) for r in blocks[1]["rows"]] == [4, 4]
        assert len(blocks[1]["columns"]) == 4


def test_rows_that_do_not_split_stay_a_list_and_nothing_is_lost():
    text = "Header:\n• one thing\n• another thing\nclosing words"
    blocks = text_blocks(text)
    assert blocks == [
        {"kind": "text", "text": "Header:"},
        {"kind": "list", "items": ["one thing", "another thing"]},
        {"kind": "text", "text": "closing words"},
    ]


def test_custom_table_payload_buttons_and_unsafe_images():
    table = {"caption": "c", "columns": ["a", "b"], "rows": [[1, "x"], "not a row"]}
    blocks = reply_blocks(
        [
            {"custom": {"table": table}},
            {"text": "pick", "buttons": [{"title": "Yes", "payload": "/affirm"}, {"title": "no payload"}]},
            {"image": "javascript:alert(1)"},
            "not a message",
        ]
    )
    assert blocks == [
        {"kind": "table", "caption": "c", "columns": ["a", "b"], "rows": [["1", "x"]]},
        {"kind": "text", "text": "pick"},
        {"kind": "buttons", "buttons": [{"title": "Yes", "payload": "/affirm"}]},
    ]


@pytest.fixture
def database_store(tmp_path):
    """The order service's database as the session store: a fresh SQLite file at the newest schema."""
    from order_service.core.db import make_engine
    from order_service.core.migrate import upgrade

    url = f"sqlite:///{tmp_path / 'orders.db'}"
    upgrade(url)
    engine = make_engine(url, pool_size=2)
    yield SqlStore(engine)
    engine.dispose()


@pytest.fixture(params=["memory", "database"])
def store(request):
    return MemoryStore() if request.param == "memory" else request.getfixturevalue("database_store")


def test_session_ends_when_idle_and_when_its_token_expires(store):
    clock = Clock()
    sessions = Sessions(idle_s=60, clock=clock, store=store)
    sid, session = sessions.create("tok", {"username": "a"}, token_expires=clock.now + 150)

    def alive() -> bool:
        found = sessions.get(sid)
        return found is not None and (found.csrf, found.token) == (session.csrf, "tok")

    assert alive()
    clock.now += 59
    assert alive()  # each request restarts the idle time
    clock.now += 59
    assert alive()
    clock.now += 60
    assert sessions.get(sid) is None
    sid, _ = sessions.create("tok", {}, token_expires=clock.now + 30)
    clock.now += 31
    assert sessions.get(sid) is None  # busy, but the staff token has expired
    sid, _ = sessions.create("tok", {}, token_expires=clock.now + 300)
    sessions.drop(sid)
    assert sessions.get(sid) is None
    assert sessions.get("unknown") is None and sessions.get(None) is None


def test_database_sessions_survive_a_restart_and_are_shared_by_processes(database_store):
    """Two Sessions over one database are two web processes, or one before and after a restart: a session
    made by one is known to the other with its CSRF token, idle time counts across both, sign-out in one
    ends it in both; the cookie's session id itself is never stored."""
    clock = Clock()
    first = Sessions(idle_s=60, clock=clock, store=database_store)
    second = Sessions(idle_s=60, clock=clock, store=SqlStore(database_store.engine))
    sid, made = first.create("tok", {"username": "assoc-4", "store_id": 4}, token_expires=clock.now + 3600)
    clock.now += 50
    seen = second.get(sid)
    assert seen is not None and (seen.csrf, seen.staff, seen.token) == (made.csrf, made.staff, "tok")
    clock.now += 50  # 100 s after sign-in, 50 s after the other process saw a request
    assert first.get(sid, touch=False) is not None
    clock.now += 11
    assert first.get(sid) is None  # idle for 61 s
    sid, _ = first.create("tok", {}, token_expires=clock.now + 3600)
    second.drop(sid)
    assert first.get(sid) is None
    from sqlalchemy import select
    from sqlalchemy.orm import Session

    from order_service.models import ConsoleSession

    sid, _ = first.create("tok", {}, token_expires=clock.now + 3600)
    with Session(database_store.engine) as db:
        keys = list(db.scalars(select(ConsoleSession.digest)))
    assert sid not in keys and len(keys) == 1


def test_throttle_blocks_a_username_after_repeated_failures():
    clock = Clock()
    throttle = Throttle(limit=3, window_s=100, clock=clock)
    for _ in range(3):
        assert not throttle.blocked("Assoc-4")
        throttle.failed("assoc-4")
    assert throttle.blocked("ASSOC-4") and not throttle.blocked("assoc-5")
    clock.now += 101
    assert not throttle.blocked("assoc-4")
    throttle.failed("assoc-4")
    throttle.succeeded("assoc-4")
    assert not throttle.blocked("assoc-4")


def test_inbox_reads_the_journal_as_it_grows_and_claims_once(tmp_path):
    from datetime import UTC, datetime

    from staff_console.handoff import MAX_AGE_S, Inbox

    journal = tmp_path / "handoff.jsonl"
    now = datetime.now(UTC)

    def record(sender: str, age_s: float = 0) -> str:
        at = datetime.fromtimestamp(now.timestamp() - age_s, UTC).isoformat()
        return json.dumps(
            {"sender_id": sender, "requested_at": at, "transcript": [{"from": "shopper", "text": sender}]}
        )

    inbox = Inbox(journal, tmp_path / "messages.jsonl", "http://rasa.invalid", service_token="svc")
    assert inbox.open_handoffs(now.timestamp()) == []  # no journal yet
    journal.write_text(
        record("web-a")
        + "\n"
        + record("old", MAX_AGE_S + 1)
        + "\n"
        + "not json\n"
        + '{"sender_id": "bad id/.."}\n'
    )
    with journal.open("a") as f:
        f.write(record("web-b")[:20])  # a line still being written
    assert [h.sender_id for h in inbox.open_handoffs(now.timestamp())] == ["web-a"]
    with journal.open("a") as f:
        f.write(record("web-b")[20:] + "\n")
    handoffs = inbox.open_handoffs(now.timestamp())
    assert [h.sender_id for h in handoffs] == ["web-a", "web-b"]
    a = inbox.get("web-a")
    sent = []

    def rasa(request: httpx.Request) -> httpx.Response:
        sent.append((request.url.path, request.headers["authorization"], json.loads(request.content)))
        return httpx.Response(200, json={"sent": True, "channel": "socketio", "paused": True})

    async def claims() -> list[bool]:
        async with httpx.AsyncClient(transport=httpx.MockTransport(rasa)) as http:
            return [
                await inbox.claim(http, a, "assoc-4", "associate"),
                await inbox.claim(http, a, "assoc-4", "associate"),
                await inbox.claim(http, a, "manager", "manager"),
            ]

    assert asyncio.run(claims()) == [True, True, False] and a.claimed_by == "assoc-4"
    # one "has joined" line, sent once, in both languages with the name and role, as the associate
    [(path, auth, body)] = sent
    assert path == "/webhooks/handoff/conversations/web-a" and auth == "Bearer svc"
    assert body["agent"] == "assoc-4" and body["joined"] is True
    assert "assoc-4" in body["text"]["en"] and "store associate" in body["text"]["en"]
    assert "assoc-4" in body["text"]["zh"] and "店员" in body["text"]["zh"]
    a.closed = True  # handed back
    assert inbox.get("web-a") is None
    with journal.open("a") as f:
        f.write(record("web-a") + "\n")  # handed over again: a new, unclaimed handoff
    again = inbox.get("web-a")
    assert again is not None and again.claimed_by is None


def test_inbox_pushes_new_handoffs_and_shopper_messages_as_they_are_written(tmp_path):
    """The event stream's source: a hand-over appended to the journal and a shopper's message appended by
    the Rasa server arrive as changes without anyone polling (inotify)."""
    from staff_console.handoff import Inbox

    journal, messages = tmp_path / "handoff.jsonl", tmp_path / "messages.jsonl"
    journal.write_text(json.dumps({"sender_id": "old", "requested_at": "2026-01-01T00:00:00+00:00"}) + "\n")
    inbox = Inbox(journal, messages, "http://rasa.invalid", service_token="svc")

    async def watch() -> list[dict]:
        stop, seen = asyncio.Event(), []

        async def write_later() -> None:
            await asyncio.sleep(0.5)
            with journal.open("a") as f:
                f.write(
                    json.dumps({"sender_id": "web-new", "requested_at": "2026-01-01T00:00:01+00:00"}) + "\n"
                )
            await asyncio.sleep(0.5)
            with messages.open("a") as f:
                f.write(
                    json.dumps({"sender_id": "web-new", "agent": "assoc-4", "text": "still there?"}) + "\n"
                )

        writer = asyncio.create_task(write_later())
        async with asyncio.timeout(20):
            async for change in inbox.changes(stop):
                seen.append(change)
                if change["kind"] == "message":
                    stop.set()
                    break
        await writer
        return seen

    seen = asyncio.run(watch())
    assert seen[0] == {"kind": "inbox"}  # the journal line written before the watch is not news
    assert seen[-1]["kind"] == "message" and (seen[-1]["id"], seen[-1]["text"]) == ("web-new", "still there?")
    assert inbox.get("web-new") is not None
