"""One customer across channels, in chat: "link my WeChat and web accounts" gives a one-time code to send
in the other channel; "link 7K2P-QX4M" there joins the two histories; "unlink my accounts" separates
them again. The proof and the merge are the order service's (order_service/services/links.py); the
customer is always the one the channel says is talking (actions.customers.shopper_id)."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import services
from actions.customers import shopper_id
from order_service.client import OrderServiceError

# Eight characters of the code alphabet with a digit among them, maybe split in two by a dash or space.
CODE = re.compile(
    r"(?<![A-Za-z0-9])([A-HJ-NP-Za-hj-np-z2-9]{4})[\s-]?([A-HJ-NP-Za-hj-np-z2-9]{4})(?![A-Za-z0-9])"
)

# What the order service's refusal means for the shopper (status → response).
LINK_REFUSALS = {422: "utter_link_bad_code", 429: "utter_link_too_many", 409: "utter_link_refused"}


def code_in(text: str) -> str | None:
    """The link code the message carries, if any."""
    for match in CODE.finditer(text):
        code = match.group(1) + match.group(2)
        if any(c.isdigit() for c in code):
            return code.upper()
    return None


class ActionLinkAccount(Action):
    """With a code in the message, link this channel into the account that asked for it; without one,
    give this channel's code to send from the other channel."""

    def name(self) -> str:
        return "action_link_account"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        code = code_in(tracker.latest_message.get("text") or "")
        try:
            customer = await shopper_id(tracker)
            if code is None:
                issued = await services.orders().link_code(customer)
                minutes = max(1, round((issued.expires_at - datetime.now(UTC)).total_seconds() / 60))
                dispatcher.utter_message(response="utter_link_code", code=issued.code, minutes=minutes)
                return []
            done = await services.orders().link(customer, code)
        except OrderServiceError as exc:
            dispatcher.utter_message(
                response=LINK_REFUSALS.get(exc.status_code or 0, "utter_link_unavailable")
            )
            return []
        dispatcher.utter_message(response="utter_linked", orders=done.orders)
        return []


class ActionUnlinkAccount(Action):
    def name(self) -> str:
        return "action_unlink_account"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        try:
            split = await services.orders().unlink(await shopper_id(tracker))
        except OrderServiceError:
            dispatcher.utter_message(response="utter_link_unavailable")
            return []
        dispatcher.utter_message(response="utter_unlinked" if split.split else "utter_nothing_linked")
        return []
