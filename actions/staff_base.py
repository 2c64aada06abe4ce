"""The base of the staff actions (actions.staff, actions.analytics): the staff member resolved from
the channel, one query run with that member's own token, service errors mapped to answers.

Two locks: a staff action answers only when the channel identified a staff member (a staff token in
the message metadata, see actions.common.identity), and every call carries that member's token, so
the order service refuses anyone else and scopes the answers to what that member may see. A shared
module, so that action modules need not import one another."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import answers, services
from actions.common import identity
from order_service.client import OrderServiceError
from order_service.schemas import StaffMe

LIST_LIMIT = 10  # items in one staff list (low stock, transfers, members of a segment)


class StaffAction(Action, ABC):
    """Refuses shoppers, resolves the staff member, runs one query, maps service errors to answers."""

    needs_store = True

    @abstractmethod
    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe
    ) -> list[dict[str, Any]] | None:
        """Query the service as this staff member and utter the answer (events, if any)."""

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        token = identity(tracker).get("staff_token")
        if not token:
            dispatcher.utter_message(response="utter_staff_only")
            return []
        try:
            me = await services.orders().staff_me(token)
            if self.needs_store and me.store_id is None:
                dispatcher.utter_message(response="utter_staff_no_store")
                return []
            return await self.answer(dispatcher, tracker, token, me) or []
        except OrderServiceError as exc:
            answers.staff_error_reply(dispatcher, exc)
        return []
