"""The FAQ actions: FAQ answers from the hybrid retriever (faq/), in any state of the conversation,
and help. How an answer is chosen (confident match, follow-up, closest questions) is
actions.faq_answers, shared with the actions a policy question is often taken for."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import building, faq_answers
from actions.common import language

# Right after the shopper's own orders were listed, a question that points at one of them ("can I cancel
# the one that hasn't shipped?", "能退第二单吗") asks for that, not for the shop's policy.
_ORDER_REQUESTS = (
    ("action_cancel_order", re.compile(r"(?i)\bcancel|取消")),
    ("action_return_order", re.compile(r"(?i)\breturn|退货|退掉|退了")),
)
_POINTS_AT_ONE = re.compile(
    r"(?i)\b(?:the|that|this)\s+(?:\w+\s+)?(?:one|order)\b|\bit\b|第|那单|这单|那个|这个"
)


def order_request(tracker: Tracker) -> str | None:
    """The order action a question about one of the orders just listed asks for, if any."""
    if not tracker.get_slot("shown_orders"):
        return None
    text = tracker.latest_message.get("text") or ""
    if not _POINTS_AT_ONE.search(text):
        return None
    return next((action for action, words in _ORDER_REQUESTS if words.search(text)), None)


class ActionHelp(Action):
    """ "What can you do?" gets the overview; a policy question read as a request for help ("how do
    returns work here") gets its FAQ answer when the FAQ is sure of it."""

    def name(self) -> str:
        return "action_help"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if not await faq_answers.policy_answer(dispatcher, tracker, language(tracker)):
            dispatcher.utter_message(response="utter_help")
        return []


class ActionAnswerFaq(Action):
    def name(self) -> str:
        return "action_answer_faq"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if building.takes_over(tracker, "faq"):  # "can you do it with intel?" with a PC build on screen
            return await building.build_answer(dispatcher, tracker)
        if (request := order_request(tracker)) is not None:  # "can I cancel the one that hasn't shipped?"
            return [FollowupAction(request)]
        return await faq_answers.answer_faq(dispatcher, tracker, domain)
