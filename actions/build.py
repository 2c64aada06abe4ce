"""The PC build advisor's action: a whole computer for a budget and a purpose, changed in
conversation and put in the cart in one step (the conversation logic is in actions.building,
the choice of parts in build_planner)."""
from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import building


class ActionBuild(Action):
    """plan_build, refine_build and add_build_to_cart."""

    def name(self) -> str:
        return "action_build"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker,
                  domain: dict[str, Any]) -> list[dict[str, Any]]:
        return await building.build_answer(dispatcher, tracker)
