"""The FAQ actions: FAQ answers from the hybrid retriever (faq/), in any state of the conversation,
and help. How an answer is chosen (confident match, follow-up, closest questions) is
actions.faq_answers, shared with the actions a policy question is often taken for."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import building, faq_answers
from actions.common import language


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
        return await faq_answers.answer_faq(dispatcher, tracker, domain)
