"""Who the shopper is, for calls that act on their orders.

The channel decides (actions.common.identity: the web and WeChat channels put the customer id into
the message metadata). Rasa's plain REST channel carries no such metadata, so the conversation's
sender id is mapped to a customer by the order service, once per sender (it creates the customer on
first contact). The shopper's own words never choose the customer."""

from __future__ import annotations

from rasa_sdk import Tracker

from actions import services
from actions.common import identity

REST_CHANNEL = "web"


async def shopper_id(tracker: Tracker) -> str:
    """The customer this conversation acts for. Raises OrderServiceError when the service cannot
    say (unreachable, or a sender id it refuses)."""
    channel_customer = identity(tracker).get("customer_id")
    if channel_customer:
        return channel_customer
    return await services.orders().resolve_customer(REST_CHANNEL, tracker.sender_id)
