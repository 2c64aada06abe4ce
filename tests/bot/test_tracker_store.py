"""The tracker store of bot/endpoints.yml (bot/tracker_store.py), in the Rasa environment."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.tracker_store import PooledSQLTrackerStore, pooled_engine_kwargs

ROOT = Path(__file__).resolve().parents[2]


def test_endpoints_name_this_tracker_store() -> None:
    endpoints = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text(encoding="utf-8"))
    store_type = endpoints["tracker_store"]["type"]
    assert store_type == f"{PooledSQLTrackerStore.__module__}.{PooledSQLTrackerStore.__name__}"


@pytest.mark.parametrize(
    "url, pooled",
    [
        ("sqlite:////tmp/daogou/conversations.db", True),
        ("sqlite://", False),  # in memory: one connection must hold the data
        ("sqlite:///:memory:", False),
        ("postgresql://user@127.0.0.1:5432/daogou", False),  # Rasa's own pool settings stay
    ],
)
def test_sqlite_tracker_store_connections_are_pooled(url: str, pooled: bool) -> None:
    from sqlalchemy.pool import QueuePool

    kwargs = pooled_engine_kwargs(url)
    assert (kwargs is not None and kwargs["poolclass"] is QueuePool) is pooled


def test_sqlite_tracker_store_keeps_and_reuses_a_connection(tmp_path) -> None:
    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import SlotSet, UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    store = PooledSQLTrackerStore(Domain.empty(), host=f"sqlite:///{tmp_path / 'conversations.db'}")
    import asyncio

    async def turns() -> DialogueStateTracker:
        for n in range(3):
            tracker = await store.get_or_create_tracker("shopper-1")
            tracker.update(UserUttered(f"hello {n}"))
            tracker.update(SlotSet("cart", [n]))
            await store.save(tracker)
        return await store.retrieve("shopper-1")

    tracker = asyncio.run(turns())
    assert [e.text for e in tracker.events if isinstance(e, UserUttered)] == ["hello 0", "hello 1", "hello 2"]
    assert store.engine.pool.checkedin() >= 1  # the connection went back to the pool, not closed
    with store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"


def test_rasa_builds_it_from_the_endpoint_config(tmp_path) -> None:
    """Rasa falls back to an in-memory store, with only a warning, when it cannot load the class."""
    from rasa.core.tracker_store import TrackerStore
    from rasa.shared.core.domain import Domain
    from rasa.utils.endpoints import EndpointConfig

    endpoints = yaml.safe_load((ROOT / "bot" / "endpoints.yml").read_text(encoding="utf-8"))
    config = EndpointConfig(
        url=f"sqlite:///{tmp_path / 'conversations.db'}", type=endpoints["tracker_store"]["type"]
    )
    store = TrackerStore.create(config, Domain.empty())
    assert isinstance(store, PooledSQLTrackerStore), type(store)


def _conversation_in_sessions(sessions: int, turns: int, start: float) -> list:
    """Events of `sessions` sessions of `turns` user messages each, one second apart, from `start`."""
    from rasa.shared.core.events import ActionExecuted, SessionStarted, UserUttered

    events, clock = [], start
    for s in range(sessions):
        for event in (ActionExecuted("action_session_start"), SessionStarted()):
            event.timestamp, clock = clock, clock + 1
            events.append(event)
        for t in range(turns):
            for event in (UserUttered(f"session {s} turn {t}"), ActionExecuted("action_listen")):
                event.timestamp, clock = clock, clock + 1
                events.append(event)
    return events


def _stored(store: PooledSQLTrackerStore, sender: str) -> list[tuple[str, float]]:
    with store.session_scope() as session:
        rows = (
            session.query(store.SQLEvent)
            .filter(store.SQLEvent.sender_id == sender)
            .order_by(store.SQLEvent.id)
        )
        return [(row.type_name, row.timestamp) for row in rows]


def test_event_cap_trims_earlier_sessions_and_never_the_current_one(tmp_path) -> None:
    import asyncio
    import time

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.events import UserUttered
    from rasa.shared.core.trackers import DialogueStateTracker

    cap = 10
    store = PooledSQLTrackerStore(Domain.empty(), host=f"sqlite:///{tmp_path / 'c.db'}", max_events=str(cap))
    events = _conversation_in_sessions(sessions=3, turns=4, start=time.time() - 1000)
    per_session = len(events) // 3

    async def scenario() -> DialogueStateTracker:
        await store.save(DialogueStateTracker.from_events("long", events))
        tracker = await store.retrieve("long")
        tracker.update(UserUttered("one more"))  # a later turn appends only what is new
        await store.save(tracker)
        return await store.retrieve("long")

    tracker = asyncio.run(scenario())
    stored = _stored(store, "long")
    # the current session as Rasa loads it: from its session_started event on (by timestamp)
    latest_session = events[-per_session + 1 :]
    assert len(stored) == max(cap, len(latest_session) + 1)  # earlier sessions trimmed to the cap
    assert stored[-len(latest_session) - 1 : -1] == [(e.type_name, e.timestamp) for e in latest_session]
    texts = [e.text for e in tracker.events if isinstance(e, UserUttered)]
    assert texts == [f"session 2 turn {t}" for t in range(4)] + ["one more"]  # nothing repeated or lost


def test_retention_deletes_conversations_silent_for_longer(tmp_path) -> None:
    import asyncio
    import time

    from rasa.shared.core.domain import Domain
    from rasa.shared.core.trackers import DialogueStateTracker

    days = 30
    store = PooledSQLTrackerStore(
        Domain.empty(), host=f"sqlite:///{tmp_path / 'c.db'}", retention_days=str(days)
    )
    old = _conversation_in_sessions(1, 2, start=time.time() - (days + 1) * 86400)
    recent = _conversation_in_sessions(1, 2, start=time.time() - (days - 1) * 86400)

    async def scenario() -> None:
        store._retention_checked = time.monotonic()  # as if checked just now: the first saves keep all
        await store.save(DialogueStateTracker.from_events("old", old))
        await store.save(DialogueStateTracker.from_events("recent", recent))
        assert _stored(store, "old") and _stored(store, "recent")
        store._retention_checked = 0.0  # an hour later, another conversation's turn
        await store.save(DialogueStateTracker.from_events("another", recent))

    asyncio.run(scenario())
    assert _stored(store, "old") == []
    assert len(_stored(store, "recent")) == len(recent)
