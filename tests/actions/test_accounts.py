"""Linking two channels in chat (actions/accounts.py) against the real order service: the code shown in
one channel and sent from the other joins the histories; a wrong code does not; unlinking separates."""

from __future__ import annotations

import pytest

from actions.accounts import ActionLinkAccount, ActionUnlinkAccount, code_in
from tests.actions.action_harness import responses, run, tracker


@pytest.mark.parametrize(
    "text,code",
    [
        ("link my accounts", None),
        ("merge my channels together", None),  # an eight-letter word is not a code
        ("link 7kq2-mx9d", "7KQ2MX9D"),
        ("关联7KQ2 MX9D", "7KQ2MX9D"),
        ("my code is P2QWE6YK thanks", "P2QWE6YK"),
    ],
)
def test_the_code_is_read_from_the_message(text, code):
    assert code_in(text) == code


async def _customer(shop, channel: str, external_id: str) -> str:
    return await shop.client.resolve_customer(channel, external_id)


async def test_a_code_from_one_channel_sent_from_the_other_links_them(shop):
    wechat = await _customer(shop, "wechat", "openid-linker")
    web = await _customer(shop, "web", "web-linker")
    shop.set_stock(0, "SKU-HP", 5)
    order = await shop.client.create_order(
        web, [("SKU-HP", 1)], fulfilment="delivery", delivery_address="12 Oak Street, Saint Paul"
    )
    shown, _ = await run(
        ActionLinkAccount(), tracker("link my accounts", "link_account", metadata={"customer_id": wechat})
    )
    assert responses(shown) == ["utter_link_code"] and shown[0]["minutes"] == 10
    wrong, _ = await run(
        ActionLinkAccount(), tracker("link 2222-3333", "link_account", metadata={"customer_id": web})
    )
    assert responses(wrong) == ["utter_link_bad_code"]
    sent = f"link {shown[0]['code']}"
    linked, _ = await run(ActionLinkAccount(), tracker(sent, "link_account", metadata={"customer_id": web}))
    assert responses(linked) == ["utter_linked"] and linked[0]["orders"] == 1
    assert [o.id for o in await shop.client.list_orders(wechat)] == [order.id]
    split, _ = await run(
        ActionUnlinkAccount(), tracker("unlink", "unlink_account", metadata={"customer_id": wechat})
    )
    assert responses(split) == ["utter_unlinked"]
    assert await shop.client.list_orders(wechat) == []
    again, _ = await run(
        ActionUnlinkAccount(), tracker("unlink", "unlink_account", metadata={"customer_id": web})
    )
    assert responses(again) == ["utter_nothing_linked"]
