"""Opening hours at a hand-over: outside the stores' hours (the shop data, each store's own time zone)
the shopper is told when someone will answer; inside them nothing is added."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from datetime import time as clock_time
from zoneinfo import ZoneInfo

import pytest
import tzfpy

from actions import handoff
from actions.handoff import ActionHandoff, next_answer
from catalog import load_stores
from catalog.bestbuy import DAYS
from tests.actions.action_harness import responses, run, tracker


def a_store_open_two_days_running():
    """A staffed store of the data open on two days running, and the second day (expected values come from its
    own hours and the time zone of its coordinates)."""
    for store in load_stores():
        days = [store.hours.get(d) for d in DAYS]
        for i, span in enumerate(days):
            if span and days[i - 1] and store.type == "BigBox":
                return store, i
    pytest.skip("no store in the data with hours on two consecutive days")


def local_moment(store, weekday: int, at: str) -> datetime:
    zone = ZoneInfo(tzfpy.get_tz(store.lon, store.lat))
    day = date(2026, 12, 7) + timedelta(days=weekday)  # 2026-12-07 is a Monday
    return datetime.combine(day, clock_time.fromisoformat(at), zone)


def test_one_stores_hours_in_its_own_time_zone():
    store, weekday = a_store_open_two_days_running()
    opens, closes = store.hours[DAYS[weekday]]
    before = local_moment(store, weekday, opens) - timedelta(hours=1)
    assert next_answer([store], before.astimezone(UTC)) == local_moment(store, weekday, opens)
    assert (
        next_answer([store], (local_moment(store, weekday, opens) + timedelta(minutes=1)).astimezone(UTC))
        is None
    )
    after_close = local_moment(store, weekday - 1, store.hours[DAYS[weekday - 1]][1]) + timedelta(minutes=30)
    if after_close.date() == local_moment(store, weekday - 1, "00:00").date():  # closes before midnight
        assert next_answer([store], after_close.astimezone(UTC)) == local_moment(store, weekday, opens)


async def test_after_hours_the_shopper_is_told_when_someone_answers(shop, monkeypatch):
    store, weekday = a_store_open_two_days_running()
    opens = store.hours[DAYS[weekday]][0]
    moment = local_moment(store, weekday, opens) - timedelta(hours=2)
    monkeypatch.setattr(handoff, "utcnow", lambda: moment.astimezone(UTC))
    slots = {"pickup_store_id": float(store.id)}
    messages, events = await run(
        ActionHandoff(), tracker("can a person help me", "request_human", slots=slots)
    )
    assert responses(messages) == ["utter_handoff", "utter_handoff_after_hours"]
    expected = local_moment(store, weekday, opens)
    assert messages[1]["when"] == f"{expected:%Y-%m-%d %H:%M} {expected.tzname()}"
    assert [e["event"] for e in events] == ["pause"]

    during = local_moment(store, weekday, opens) + timedelta(hours=1)
    monkeypatch.setattr(handoff, "utcnow", lambda: during.astimezone(UTC))
    messages, _ = await run(ActionHandoff(), tracker("can a person help me", "request_human", slots=slots))
    assert responses(messages) == ["utter_handoff"]
