"""The PC build advisor's action: a whole computer for a budget and a purpose, changed in
conversation and put in the cart in one step (the conversation logic is in actions.building,
the choice of parts in build_planner)."""

from __future__ import annotations

import asyncio
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from actions import building, searching, services


class ActionBuild(Action):
    """plan_build, refine_build and add_build_to_cart."""

    def name(self) -> str:
        return "action_build"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        text = tracker.latest_message.get("text") or ""
        upgrade = await asyncio.to_thread(building.upgrade_in, tracker)
        if upgrade is not None:  # "I have an i5-12400 and a 550 W PSU: best graphics card for $400?"
            return await building.upgrade_answer(dispatcher, tracker, upgrade)
        if intent == "plan_build" and building.names_one_part(text):
            # "which processor would you pick for gaming, max $300": one part, a search
            graph = await asyncio.to_thread(services.graph)
            return await searching.search_answer(dispatcher, tracker, graph, "search_products")
        if intent in ("plan_build", "refine_build") and building.current(tracker) is None:
            graph = await asyncio.to_thread(services.graph)
            if await asyncio.to_thread(building.names_other_kind, graph, text):
                # "2000元以内的显示器", "有没有4060显卡，不要ti", no build asked for or shown: a search
                return await searching.search_answer(dispatcher, tracker, graph, "search_products")
        if (
            intent == "plan_build"
            and not building.names_a_build(text)
            and not building.pending(tracker)
            and searching.previous_query(tracker) is not None
        ):
            # "2000元以下" after a search: a budget alone narrows the search, it does not start a build
            graph = await asyncio.to_thread(services.graph)
            return await searching.search_answer(dispatcher, tracker, graph, "refine_search")
        return await building.build_answer(dispatcher, tracker)
