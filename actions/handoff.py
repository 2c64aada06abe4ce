"""Human hand-over: the transcript goes to the people who take over, and the bot pauses.

Where the transcript goes: a POST of JSON to settings.handoff_url when it is set (a help-desk webhook),
otherwise (or when that POST fails) a line in $STATE_DIR/handoff/handoff.jsonl. The bot then returns
Rasa's ConversationPaused event: Rasa stores the shopper's further messages without answering them.
The staff console resumes the bot through the Rasa server's internal handoff path
(bot/channels/handoff.py); the shopper can also start over with "/restart".

Outside opening hours the shopper is told when someone will answer: the hours are the stores' own (the
shop data, catalog.load_stores), in each store's time zone (from its coordinates, tzfpy): the store the
conversation picked for pick-up when there is one, otherwise the chain's staffed (BigBox) stores, of
which the first to open answers."""

from __future__ import annotations

import functools
import logging
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from datetime import time as clock_time
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import tzfpy
from rasa_sdk import Action, Tracker
from rasa_sdk.events import ConversationPaused
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import journal
from actions.common import identity, language
from catalog import load_stores
from catalog.bestbuy import DAYS
from catalog.models import Store
from daogou.config import get_settings

log = logging.getLogger(__name__)
JOURNAL = "handoff"
STAFFED = "BigBox"  # store types with associates on the floor (Express kiosks and Mobile counters not)


def utcnow() -> datetime:
    return datetime.now(UTC)


@functools.lru_cache(maxsize=1)
def stores_by_id() -> dict[int, Store]:
    return {s.id: s for s in load_stores()}


@functools.lru_cache(maxsize=4096)
def store_zone(lat: float, lon: float) -> ZoneInfo:
    return ZoneInfo(tzfpy.get_tz(lon, lat))


def opening(store: Store, now: datetime) -> datetime | None:
    """`now` when the store is open, else the next moment it opens (in its time zone), or None when its
    hours name no open day."""
    zone = store_zone(store.lat, store.lon)
    local = now.astimezone(zone)
    for ahead in range(8):
        day = (local + timedelta(days=ahead)).date()
        span = store.hours.get(DAYS[day.weekday()])
        if not span:
            continue
        opens = datetime.combine(day, clock_time.fromisoformat(span[0]), zone)
        closes = datetime.combine(day, clock_time.fromisoformat(span[1]), zone)
        if opens <= local < closes:
            return local
        if local < opens:
            return opens
    return None


def next_answer(stores: Iterable[Store], now: datetime) -> datetime | None:
    """None while one of `stores` is open; else the first moment one of them opens (its local time)."""
    found = [t for t in (opening(s, now) for s in stores) if t is not None]
    if not found or any(t == now for t in found):
        return None
    return min(found, key=lambda t: t.astimezone(UTC))


def answering_stores(tracker: Tracker) -> list[Store]:
    """The conversation's pick-up store when it has one, else the chain's staffed stores."""
    by_id = stores_by_id()
    picked = tracker.get_slot("pickup_store_id")
    if picked is not None and int(picked) in by_id:
        return [by_id[int(picked)]]
    return [s for s in by_id.values() if s.type == STAFFED]


def transcript(tracker: Tracker) -> list[dict[str, Any]]:
    """What the shopper and the bot said, oldest first."""
    lines = []
    for e in tracker.events:
        if e.get("event") in ("user", "bot") and e.get("text"):
            when = datetime.fromtimestamp(e["timestamp"], UTC).isoformat() if e.get("timestamp") else None
            lines.append(
                {"from": "shopper" if e["event"] == "user" else "bot", "text": e["text"], "at": when}
            )
    return lines


def handoff_record(tracker: Tracker) -> dict[str, Any]:
    who = identity(tracker)
    return {
        "sender_id": tracker.sender_id,
        "customer_id": who.get("customer_id"),
        "channel": tracker.get_latest_input_channel(),
        "language": language(tracker),
        "requested_at": datetime.now(UTC).isoformat(),
        "cart": tracker.get_slot("cart") or [],
        "order_id": tracker.get_slot("order_id"),
        "transcript": transcript(tracker),
    }


async def deliver(record: dict[str, Any]) -> str:
    """Hands the record over; returns where it went ("url" or the journal path)."""
    settings = get_settings()
    if settings.handoff_url:
        try:
            async with httpx.AsyncClient(timeout=settings.http_timeout_s) as http:
                response = await http.post(settings.handoff_url, json=record)
                response.raise_for_status()
            return "url"
        except httpx.HTTPError as exc:  # keep the transcript: a colleague can still pick it up from the file
            log.error(
                "hand-over POST to %s failed (%s); writing it to the journal", settings.handoff_url, exc
            )
    return str(await journal.append(JOURNAL, record))


class ActionHandoff(Action):
    def name(self) -> str:
        return "action_handoff"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        try:
            await deliver(handoff_record(tracker))
        except OSError:
            log.exception("hand-over could not be recorded")
            dispatcher.utter_message(response="utter_handoff_failed")
            return []
        dispatcher.utter_message(response="utter_handoff")
        when = next_answer(answering_stores(tracker), utcnow())
        if when is not None:
            dispatcher.utter_message(
                response="utter_handoff_after_hours", when=f"{when:%Y-%m-%d %H:%M} {when.tzname()}"
            )
        return [ConversationPaused()]
