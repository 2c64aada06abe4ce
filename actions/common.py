"""What every action module needs: the shopper's language and the entities of the latest message."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker

from daogou.language import conversation_language


def language(tracker: Tracker) -> str:
    """The language of this turn, computed exactly as the Rasa side does (bot/nlg.py)."""
    texts = (e.get("text") for e in reversed(tracker.events) if e.get("event") == "user")
    return conversation_language(texts)


def entity_values(tracker: Tracker, entity: str, role: str | None = None) -> list[Any]:
    """All values of an entity in the latest message, optionally of one role."""
    return [
        e.get("value")
        for e in tracker.latest_message.get("entities", [])
        if e.get("entity") == entity and (role is None or e.get("role") == role)
    ]


def identity(tracker: Tracker) -> dict[str, Any]:
    """Who the channel says is talking (resolved by the channel, never by the shopper's words):
    the keyword arguments the order-service client takes to act for them."""
    latest = next((e for e in reversed(tracker.events) if e.get("event") == "user"), {})
    metadata = latest.get("metadata") or {}
    who: dict[str, Any] = {}
    if metadata.get("customer_id"):
        who["customer_id"] = str(metadata["customer_id"])
    staff = metadata.get("staff") or {}
    if staff.get("token"):
        who["staff_token"] = staff["token"]
    return who


def cart_lines(tracker: Tracker) -> list[dict[str, Any]]:
    """The cart (slot `cart`) as a fresh list of {"sku", "qty"} (slot values are shared with the
    tracker: never mutate them). Here because cart, checkout and recommendations all read it."""
    return [
        {"sku": str(line["sku"]), "qty": int(line["qty"])}
        for line in tracker.get_slot("cart") or []
        if isinstance(line, dict) and line.get("sku") and int(line.get("qty") or 0) > 0
    ]


def previous_intent(tracker: Tracker) -> str | None:
    """The intent of the shopper's message before this one (what a follow-up continues)."""
    users = [e for e in reversed(tracker.events) if e.get("event") == "user"]
    if len(users) < 2:
        return None
    return ((users[1].get("parse_data") or {}).get("intent") or {}).get("name")
