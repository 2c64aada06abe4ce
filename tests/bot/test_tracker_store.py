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
