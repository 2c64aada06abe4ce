"""Stock questions: "is the first one in stock at Mall of America?". The order service decides what
this shopper may see (availability level for shoppers, exact counts for staff of that store)."""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import FollowupAction, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers, references, searching, services, shopping_cart
from actions.common import language
from actions.faq_answers import policy_answer
from order_service.client import OrderServiceError


class ActionCheckStock(Action):
    def name(self) -> str:
        return "action_check_stock"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        # "我要在Flushing自提" with a cart: the checkout, picking up there
        if shopping_cart.starts_pickup(tracker):
            return [FollowupAction("checkout_form")]
        graph = services.graph()
        found = references.resolve_products(tracker, graph)
        query = references.store_mentioned(tracker)
        if found.line and not query and references.store_in_focus(tracker) is None:
            # "do you have the 4070 Ti Super?" with no store: whether the shop carries the line
            return await searching.search_answer(dispatcher, tracker, graph, "search_products")
        if found.ambiguous and (one := answers.one_in_focus(graph, found.candidates)) is not None:
            return await answers.stock_answer(dispatcher, tracker, one)  # one model, several sellers
        if not query and searching.refines_list(tracker, graph, found):  # "LG的有没有" after a list
            return await searching.search_answer(dispatcher, tracker, graph, "refine_search")
        if found.ambiguous:
            return references.ask_which(dispatcher, graph, found.candidates, language(tracker), "ask_stock")
        if not found.skus and not query and await policy_answer(dispatcher, tracker, language(tracker)):
            return []  # "装好了能自提吗" after the assembly answer: a policy question, not a stock one
        if not found.skus:  # the store named stays in focus for the product named next
            dispatcher.utter_message(response="utter_ask_which_product")
            try:
                stores = await references.find_store(query) if query else []
            except OrderServiceError:
                stores = []
            return [SlotSet("store_id", float(stores[0].id))] if len(stores) == 1 else []
        return await answers.stock_answer(dispatcher, tracker, found.skus[0])
