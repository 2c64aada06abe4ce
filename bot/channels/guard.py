"""The boundary between shoppers and staff, shared by every channel and the NLU pipeline.

Staff intents must never fire for a shopper. Three things could make them fire, and each is closed here:

1. Metadata a client sends itself (``{"staff": {...}}`` in a socket.io or REST message): shopper
   channels drop every key they do not set themselves (:func:`shopper_metadata`).
2. Rasa's intent shortcut ("/staff_stock_check" bypasses the classifier through the
   RegexMessageHandler): shopper channels defuse such text (:func:`defuse_staff_trigger`).
3. The classifier itself predicting a staff intent for a shopper's words: :class:`StaffIntentGuard`,
   an NLU component placed after the classifiers, replaces staff intents by ``nlu_fallback`` unless
   the message carries staff claims *signed by this process* (:func:`sign_staff_claims`), which only
   the staff channel produces after the order service has accepted the staff member's token.

The signing key is random per process unless ``DAOGOU_STAFF_CLAIMS_KEY`` is set: claims are signed
and checked inside the same Rasa process while one message is handled, so no key has to be shared.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from typing import Any

STAFF_INTENT_PREFIX = "staff_"
FALLBACK_INTENT = "nlu_fallback"
# the staff intent a shopper's message was taken for, kept in the parse data so the bot can say that
# this is a staff tool (actions/understand.py) instead of "sorry, I didn't get that"
REFUSED_KEY = "refused_staff_intent"
STAFF_KEY = "staff"
SIGNATURE_KEY = "signature"
# token: the actions call the order service with the staff member's own token (actions.common.identity),
# so the order service, not the bot, decides what that member may see and do.
STAFF_FIELDS = ("staff_id", "username", "role", "store_id", "token")

_KEY = (os.environ.get("DAOGOU_STAFF_CLAIMS_KEY") or "").encode() or secrets.token_bytes(32)
# "/staff_x", " / staff_x{...}", "/ STAFF_x": anything the RegexMessageHandler could read as a staff intent.
_TRIGGER = re.compile(r"^\s*/+\s*(?=" + re.escape(STAFF_INTENT_PREFIX) + ")", re.IGNORECASE)


def _digest(claims: dict[str, Any]) -> str:
    body = json.dumps({k: claims.get(k) for k in STAFF_FIELDS}, sort_keys=True, ensure_ascii=False)
    return hmac.new(_KEY, body.encode(), hashlib.sha256).hexdigest()


def sign_staff_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """Staff claims as the staff channel puts them in metadata, with a signature over the fields."""
    signed = {k: claims.get(k) for k in STAFF_FIELDS}
    signed[SIGNATURE_KEY] = _digest(signed)
    return signed


def verified_staff(metadata: dict[str, Any] | None) -> dict[str, Any] | None:
    """The staff claims of a message if they were signed by this process, else None."""
    if not isinstance(metadata, dict):
        return None
    claims = metadata.get(STAFF_KEY)
    if not isinstance(claims, dict) or not isinstance(claims.get(SIGNATURE_KEY), str):
        return None
    if not hmac.compare_digest(claims[SIGNATURE_KEY], _digest(claims)):
        return None
    return {k: claims.get(k) for k in STAFF_FIELDS}


def shopper_metadata(client: Any, allowed: tuple = ("language",), **trusted: Any) -> dict[str, Any]:
    """Metadata for a shopper's message: the few harmless client keys in ``allowed`` (short strings only)
    plus what the channel itself established (``trusted``). Anything else the client sent, staff
    claims above all, is dropped."""
    result: dict[str, Any] = {}
    if isinstance(client, dict):
        for key in allowed:
            value = client.get(key)
            if isinstance(value, str) and len(value) <= 32:
                result[key] = value
    result.update({k: v for k, v in trusted.items() if v is not None})
    result.pop(STAFF_KEY, None)
    return result


def defuse_staff_trigger(text: str | None) -> str:
    """Shopper text that would trigger a staff intent directly loses its leading slash, so it goes
    through the classifier (and the guard) like any other words."""
    text = text or ""
    return _TRIGGER.sub("", text, count=1)


def is_staff_intent(name: str | None) -> bool:
    return bool(name) and name.lower().startswith(STAFF_INTENT_PREFIX)


def guard_parse(data: dict[str, Any]) -> bool:
    """Rewrites a parsed message in place so a non-staff message cannot carry a staff intent.
    Returns True when something was removed."""
    if verified_staff(data.get("metadata")):
        return False
    changed = False
    ranking: list[dict[str, Any]] = data.get("intent_ranking") or []
    kept = [r for r in ranking if not is_staff_intent(r.get("name"))]
    if len(kept) != len(ranking):
        data["intent_ranking"] = kept
        changed = True
    intent = data.get("intent") or {}
    if is_staff_intent(intent.get("name")):
        data[REFUSED_KEY] = intent.get("name")
        data["intent"] = {"name": FALLBACK_INTENT, "confidence": 1.0}
        changed = True
    return changed


try:  # the component exists only where Rasa is installed (the Rasa process and its tests)
    from rasa.engine.graph import ExecutionContext, GraphComponent
    from rasa.engine.recipes.default_recipe import DefaultV1Recipe
    from rasa.engine.storage.resource import Resource
    from rasa.engine.storage.storage import ModelStorage
    from rasa.shared.nlu.training_data.message import Message

    @DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
    class StaffIntentGuard(GraphComponent):
        """Put last among the classifiers in config.yml (``- name: bot.channels.guard.StaffIntentGuard``):
        a staff intent survives only on a message with signed staff claims."""

        @classmethod
        def create(
            cls,
            config: dict[str, Any],
            model_storage: ModelStorage,
            resource: Resource,
            execution_context: ExecutionContext,
        ) -> StaffIntentGuard:
            return cls()

        def process(self, messages: list[Message]) -> list[Message]:
            for message in messages:
                data = {
                    "metadata": message.get("metadata"),
                    "intent": message.get("intent"),
                    "intent_ranking": message.get("intent_ranking"),
                }
                if guard_parse(data):
                    message.set("intent", data["intent"], add_to_output=True)
                    if data.get(REFUSED_KEY):
                        message.set(REFUSED_KEY, data[REFUSED_KEY], add_to_output=True)
                    if data.get("intent_ranking") is not None:
                        message.set("intent_ranking", data["intent_ranking"], add_to_output=True)
            return messages

        def process_training_data(self, training_data: Any) -> Any:
            return training_data
except ImportError:  # pragma: no cover - the application environment has no Rasa
    pass
