"""The assistant's event record, written without slowing a turn (issue 18).

What happened is read off each action call by `RecordingExecutor` (the action server's executor,
actions/__main__.py), so the actions themselves need no hooks for it:

| event | when |
|---|---|
| impression | a product card was shown (one event per card; `model` = the action that chose it, `variant` = the shopper's recommendation variant for recommendation lists) |
| click | the shopper tapped a button that names a product shown on a card (model and variant of that card) |
| add_to_cart | the cart slot gained units of a SKU (model and variant of the card that showed it, if any) |
| checkout_started | the checkout form was started (its first validation in the turn of the `checkout` intent) |
| faq_answered / faq_unsure | the FAQ action answered / said it was not sure |
| fallback | an action answered "sorry, I didn't get that" (`utter_default`) |
| handoff | the conversation was handed to a colleague (paused) |
| rating | the shopper gave a 1-5 rating (`value`) |

`order_placed` needs the order itself: `order_placed(tracker, order)` is called by the checkout.

`record()` only appends to an in-memory queue (microseconds); a background thread sends the queue
to the order service in batches (`OrderServiceClient.append_events`). When the service is down the
batch waits and is retried, up to `MAX_BUFFER` events; beyond that the oldest are dropped (logged):
analytics must never cost a shopper a turn.
"""

from __future__ import annotations

import asyncio
import atexit
import collections
import logging
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import ActionExecutor

from actions.common import entity_values, identity, language
from actions.ratings import rating_entity
from recommender.experiments import variant_of

log = logging.getLogger(__name__)
BATCH = 500
FLUSH_INTERVAL_S = 0.5
MAX_BUFFER = 50_000
RECOMMENDATION_KIND = "recommendations"
FALLBACK_RESPONSES = {"utter_default"}
FAQ_ACTION = "action_answer_faq"
FAQ_UNSURE_RESPONSES = {"utter_faq_not_sure"}
FAQ_NO_ANSWER_RESPONSES = {"utter_faq_ask_question", *FAQ_UNSURE_RESPONSES}
CHECKOUT_VALIDATION, CHECKOUT_INTENT = "validate_checkout_form", "checkout"
Event = dict[str, Any]


# --- the writer ------------------------------------------------------------------------------------
class EventWriter:
    """A queue drained by one daemon thread; `send` gets batches of event dicts."""

    def __init__(
        self,
        send: Callable[[list[Event]], None] | None = None,  # default: client_sender(), made in the thread
        *,
        batch: int = BATCH,
        interval_s: float = FLUSH_INTERVAL_S,
        max_buffer: int = MAX_BUFFER,
    ):
        self._send = send
        self.batch, self.interval_s = batch, interval_s
        self._queue: collections.deque[Event] = collections.deque()
        self.max_buffer = max_buffer
        self._wake = threading.Event()
        self._idle = threading.Event()
        self._idle.set()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        self.sent = self.dropped = 0

    def put(self, event: Event) -> None:
        self._queue.append(event)  # deque.append is atomic: no lock on the turn's path
        self._idle.clear()
        if self._thread is None:
            self._start()
        if len(self._queue) >= self.batch:
            self._wake.set()

    def _start(self) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="assistant-events", daemon=True)
                self._thread.start()

    def flush(self, timeout_s: float = 10.0) -> bool:
        """Wait until everything queued so far was sent (or given up on); True when the queue is empty."""
        self._wake.set()
        return self._idle.wait(timeout_s) and not self._queue

    def _take(self) -> list[Event]:
        out = []
        while self._queue and len(out) < self.batch:
            out.append(self._queue.popleft())
        return out

    def _run(self) -> None:
        send = self._send or client_sender()
        backoff = self.interval_s
        while True:
            self._wake.wait(self.interval_s)
            self._wake.clear()
            while self._queue:
                batch = self._take()
                try:
                    send(batch)
                except Exception as exc:  # the service is down or refused: keep the batch, try later
                    self._queue.extendleft(reversed(batch))
                    excess = len(self._queue) - self.max_buffer
                    for _ in range(max(0, excess)):
                        self._queue.pop()
                        self.dropped += 1
                    log.warning("assistant events not sent (%s); %d waiting", exc, len(self._queue))
                    time.sleep(backoff)
                    backoff = min(30.0, backoff * 2)
                    break
                self.sent += len(batch)
                backoff = self.interval_s
            if not self._queue:
                self._idle.set()


def client_sender(client_factory: Callable[[], Any] | None = None) -> Callable[[list[Event]], None]:
    """Sends with the order service's typed client (made by `client_factory`, by default from the
    settings), on an event loop of the writer thread's own. Called in the writer thread."""
    from pydantic import ValidationError

    from order_service.client import OrderServiceClient, OrderServiceError
    from order_service.schemas import EventIn

    loop = asyncio.new_event_loop()
    client = (client_factory or (lambda: OrderServiceClient(retries=0)))()

    def send(batch: list[Event]) -> None:
        valid = []
        for event in batch:  # an event the service would refuse must not hold back the others
            try:
                valid.append(EventIn(**event))
            except ValidationError as exc:
                log.error("assistant event dropped, invalid: %s (%s)", event, exc)
        if not valid:
            return
        try:
            loop.run_until_complete(client.append_events(valid))
        except OrderServiceError as exc:
            if exc.status_code != 422:
                raise
            log.error("assistant events refused by the order service: %s", exc.detail)

    return send


WRITER = EventWriter()
atexit.register(WRITER.flush, 5.0)


# --- building events -------------------------------------------------------------------------------
def base(tracker: Tracker) -> Event:
    """Who, where and when: the part every event of this conversation shares."""
    return {
        "at": datetime.now(UTC).isoformat(),
        "conversation_id": tracker.sender_id,
        "customer_id": identity(tracker).get("customer_id"),
        "channel": tracker.get_latest_input_channel() or "rest",
        "language": language(tracker),
    }


def record(tracker: Tracker, type: str, **fields: Any) -> None:
    """Queue one event (never raises, never waits)."""
    try:
        WRITER.put({**base(tracker), "type": type, **fields})
    except Exception:
        log.exception("assistant event %s not recorded", type)


def order_placed(tracker: Tracker, order: Any) -> None:
    """The order the conversation just placed (an OrderOut), with its total for revenue."""
    record(
        tracker,
        "order_placed",
        value=str(order.total),
        payload={"order_id": order.id, "skus": [line.sku for line in order.lines]},
    )


def recommendation_variant(tracker: Tracker) -> str:
    """The shopper's arm of the recommendation experiment: by customer, else by conversation."""
    return variant_of(identity(tracker).get("customer_id") or tracker.sender_id)


def _cards(message: dict[str, Any]) -> tuple[list[dict[str, Any]], str]:
    custom = message.get("custom") or {}
    if not isinstance(custom, dict) or custom.get("type") != "product_cards":
        return [], ""
    return [c for c in custom.get("products") or [] if isinstance(c, dict) and c.get("sku")], str(
        custom.get("kind") or ""
    )


def impressions(tracker: Tracker, action: str, responses: Sequence[dict[str, Any]]) -> list[Event]:
    out = []
    model = action.removeprefix("action_")
    for message in responses:
        cards, kind = _cards(message)
        variant = recommendation_variant(tracker) if kind == RECOMMENDATION_KIND and cards else None
        for position, card in enumerate(cards, 1):
            out.append(
                {
                    "type": "impression",
                    "sku": str(card["sku"]),
                    "model": model,
                    "variant": variant,
                    "payload": {"position": position, "list": kind or "products"},
                }
            )
    return out


def shown_by(tracker: Tracker, sku: str) -> dict[str, Any]:
    """Model and variant of the latest impression of `sku` in the conversation (its card's bot turn
    is in the tracker: the `custom` payload of the bot event, the action before it names the model)."""
    events = tracker.events
    for i in range(len(events) - 1, -1, -1):
        e = events[i]
        if e.get("event") != "bot":
            continue
        cards, kind = _cards(e.get("data") or {})
        if any(str(c["sku"]) == sku for c in cards):
            action = next(
                (p.get("name") for p in reversed(events[:i]) if p.get("event") == "action"), "unknown"
            )
            variant = recommendation_variant(tracker) if kind == RECOMMENDATION_KIND else None
            return {"model": str(action).removeprefix("action_"), "variant": variant}
    return {}


def first_action_of_turn(tracker: Tracker) -> bool:
    """No action has run since the shopper's latest message (a turn's clicks are counted once)."""
    for e in reversed(tracker.events):
        if e.get("event") == "user":
            return True
        if e.get("event") == "action" and e.get("name") != "action_listen":
            return False
    return False


def _slot_value(events: Iterable[dict[str, Any]], slot: str) -> Any:
    value = None
    for e in events:
        if e.get("event") == "slot" and e.get("name") == slot:
            value = e.get("value")
    return value


def _cart_counts(lines: Any) -> dict[str, int]:
    counts: dict[str, int] = collections.Counter()
    for line in lines or []:
        if isinstance(line, dict) and line.get("sku"):
            counts[str(line["sku"])] += int(line.get("qty") or 0)
    return counts


def derive(tracker: Tracker, action: str, result_events: list[dict], responses: list[dict]) -> list[Event]:
    """The events one action call produced (without the shared part of `base`)."""
    out = impressions(tracker, action, responses)
    templates = {m.get("response") for m in responses if m.get("response")}
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/") and first_action_of_turn(tracker):
        for sku in map(str, entity_values(tracker, "sku")):
            shown = shown_by(tracker, sku)
            if shown:
                out.append({"type": "click", "sku": sku, **shown, "payload": {"button": text[:200]}})
    if any(e.get("event") == "slot" and e.get("name") == "cart" for e in result_events):
        before = _cart_counts(tracker.get_slot("cart"))
        after = _cart_counts(_slot_value(result_events, "cart"))
        for sku, qty in after.items():
            if qty > before.get(sku, 0):
                added = {"quantity": qty - before.get(sku, 0)}
                out.append({"type": "add_to_cart", "sku": sku, **shown_by(tracker, sku), "payload": added})
    intent = (tracker.latest_message.get("intent") or {}).get("name")
    if action == CHECKOUT_VALIDATION and intent == CHECKOUT_INTENT and first_action_of_turn(tracker):
        out.append(
            {
                "type": "checkout_started",
                "payload": {"items": sum(_cart_counts(tracker.get_slot("cart")).values())},
            }
        )
    if action == FAQ_ACTION and templates & FAQ_UNSURE_RESPONSES:
        out.append({"type": "faq_unsure", "payload": {"question": text[:500]}})
    elif action == FAQ_ACTION and not templates & FAQ_NO_ANSWER_RESPONSES and responses:
        out.append({"type": "faq_answered", "payload": {"question": text[:500]}})
    if templates & FALLBACK_RESPONSES:
        out.append({"type": "fallback", "payload": {"action": action, "text": text[:500]}})
    if any(e.get("event") == "pause" for e in result_events):
        out.append({"type": "handoff", "payload": {"action": action}})
    if action == "action_save_feedback" and templates & {"utter_feedback_thanks", "utter_feedback_sorry"}:
        out.append({"type": "rating", "value": rating_entity(tracker), "payload": {"comment": text[:500]}})
    return out


class RecordingExecutor(ActionExecutor):
    """rasa-sdk's executor, which also records what each action call showed and changed."""

    async def run(self, action_call: dict[str, Any], *args: Any, **kwargs: Any) -> Any:
        result = await super().run(action_call, *args, **kwargs)
        if result is not None:
            observe(action_call, result.events, result.responses)
        return result


def observe(action_call: dict[str, Any], result_events: list[dict], responses: list[dict]) -> None:
    """Derive and queue the events of one action call; never raises."""
    try:
        tracker = Tracker.from_dict(action_call["tracker"])
        if identity(tracker).get("staff_token"):  # staff at work are not shoppers: not in the figures
            return
        derived = derive(tracker, str(action_call.get("next_action") or ""), result_events, responses)
        if derived:
            shared = base(tracker)
            for event in derived:
                WRITER.put({**shared, **event})
    except Exception:
        log.exception("assistant events of %s not recorded", action_call.get("next_action"))
