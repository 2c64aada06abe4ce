"""Response generation that follows the shopper's language message by message.

Responses in the domain have an English variation and a Chinese one conditioned on the slot
`language`. Instead of setting that slot from an extra NLU entity (which `rasa test` would count as
a wrong prediction) or from a custom action (a network hop per turn), this generator fills the slot
value from the conversation itself just before choosing the variation.
"""

from __future__ import annotations

from typing import Any

from rasa.core.nlg.response import TemplatedNaturalLanguageGenerator
from rasa.shared.core.events import UserUttered
from rasa.shared.core.trackers import DialogueStateTracker

from daogou.language import conversation_language


def tracker_language(tracker: DialogueStateTracker) -> str:
    texts = (e.text for e in reversed(tracker.events) if isinstance(e, UserUttered))
    return conversation_language(texts)


class BilingualNLG(TemplatedNaturalLanguageGenerator):
    def __init__(self, endpoint_config: Any = None, domain: Any = None) -> None:
        super().__init__(domain.responses if domain is not None else {})

    async def generate(
        self, utter_action: str, tracker: DialogueStateTracker, output_channel: str, **kwargs: Any
    ) -> dict[str, Any] | None:
        filled_slots = tracker.current_slot_values()
        filled_slots["language"] = tracker_language(tracker)
        return self.generate_from_slots(utter_action, filled_slots, output_channel, **kwargs)
