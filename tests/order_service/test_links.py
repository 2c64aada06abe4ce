"""One customer across channels (order_service/services/links.py), over the service's HTTP API: a link
needs the one-time code from the other channel; linked, the histories are one; unlinked, each customer
has exactly their own again and nothing crosses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from order_service.core.db import make_sessionmaker
from order_service.models import LinkCode
from order_service.services.links import MAX_FAILED
from order_service.services.stock import utcnow
from tests.order_service.conftest import customer, place, service, set_stock


def resolve(client, channel: str, external_id: str) -> str:
    r = client.post(
        "/customers/resolve", json={"channel": channel, "external_id": external_id}, headers=service()
    )
    assert r.status_code in (200, 201), r.text
    return r.json()["customer_id"]


def order_ids(client, who: str) -> set[int]:
    r = client.get("/orders", headers=customer(who))
    assert r.status_code == 200, r.text
    return {o["id"] for o in r.json()["orders"]}


def code_for(client, who: str) -> str:
    r = client.post("/customers/me/link-code", headers=customer(who))
    assert r.status_code == 201, r.text
    return r.json()["code"]


@pytest.fixture
def two_channels(client, engine):
    """The same shopper as a WeChat follower and as a web session, each with one order."""
    set_stock(engine, 0, "SKU-CPU", 20)
    wechat = resolve(client, "wechat", "openid-shopper")
    web = resolve(client, "web", "web-session-shopper")
    return wechat, web, place(client, wechat)["id"], place(client, web)["id"]


def test_a_code_from_the_other_channel_joins_the_histories(client, two_channels):
    wechat, web, wechat_order, web_order = two_channels
    code = code_for(client, wechat)
    r = client.post(
        "/customers/me/link", json={"code": code.lower().replace("-", " ")}, headers=customer(web)
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"customer_id": wechat, "merged": web, "identities": 1, "orders": 1}
    assert order_ids(client, wechat) == {wechat_order, web_order}
    # the web channel, whether it still holds its old id or resolves again, acts for the same account
    assert resolve(client, "web", "web-session-shopper") == wechat
    assert order_ids(client, web) == {wechat_order, web_order}
    assert client.get("/customers/me", headers=customer(web)).json()["id"] == wechat
    assert client.get("/customers/me/links", headers=customer(wechat)).json()["linked"] == [web]


def test_no_link_without_the_right_code(client, two_channels):
    wechat, web, wechat_order, web_order = two_channels
    code_for(client, wechat)
    for wrong in ("ABCD-EFGH", "", "1234", "x" * 33):
        r = client.post("/customers/me/link", json={"code": wrong}, headers=customer(web))
        assert r.status_code == 422, (wrong, r.text)
    assert order_ids(client, web) == {web_order}
    assert order_ids(client, wechat) == {wechat_order}
    assert client.get("/customers/me/links", headers=customer(wechat)).json()["linked"] == []


def test_a_code_works_once_and_not_after_it_expires(client, engine, two_channels):
    wechat, web, *_ = two_channels
    third = resolve(client, "web", "someone-else")
    used = code_for(client, wechat)
    assert client.post("/customers/me/link", json={"code": used}, headers=customer(web)).status_code == 200
    r = client.post("/customers/me/link", json={"code": used}, headers=customer(third))
    assert r.status_code == 422
    stale = code_for(client, wechat)
    with make_sessionmaker(engine)() as session:
        session.execute(update(LinkCode).values(expires_at=utcnow() - timedelta(seconds=1)))
        session.commit()
    assert client.post("/customers/me/link", json={"code": stale}, headers=customer(third)).status_code == 422
    assert client.get("/customers/me", headers=customer(third)).json()["id"] == third


def test_own_code_is_refused(client, two_channels):
    wechat, *_ = two_channels
    code = code_for(client, wechat)
    assert client.post("/customers/me/link", json={"code": code}, headers=customer(wechat)).status_code == 409


def test_guessing_stops_even_the_right_code(client, two_channels):
    wechat, web, *_ = two_channels
    code = code_for(client, wechat)
    for _ in range(MAX_FAILED):
        assert (
            client.post("/customers/me/link", json={"code": "ZZZZ-ZZZZ"}, headers=customer(web)).status_code
            == 422
        )
    assert client.post("/customers/me/link", json={"code": code}, headers=customer(web)).status_code == 429


def test_unlinking_gives_each_their_own_history_back(client, two_channels):
    wechat, web, wechat_order, web_order = two_channels
    assert (
        client.post(
            "/customers/me/link", json={"code": code_for(client, wechat)}, headers=customer(web)
        ).status_code
        == 200
    )
    while_linked = place(client, web)["id"]  # placed from the web channel, by the linked account
    r = client.delete("/customers/me/link", headers=customer(web))
    assert r.status_code == 200 and r.json() == {"split": [web]}
    assert order_ids(client, web) == {web_order}
    assert order_ids(client, wechat) == {wechat_order, while_linked}
    assert resolve(client, "web", "web-session-shopper") == web
    assert client.get("/customers/me", headers=customer(web)).json()["id"] == web
    r = client.get(f"/orders/{wechat_order}", headers=customer(web))
    assert r.status_code == 404  # nothing of the other account crosses once unlinked


def test_an_account_with_links_cannot_be_linked_into_a_third(client, two_channels):
    wechat, web, *_ = two_channels
    third = resolve(client, "web", "a-third-session")
    assert (
        client.post(
            "/customers/me/link", json={"code": code_for(client, web)}, headers=customer(third)
        ).status_code
        == 200
    )
    r = client.post("/customers/me/link", json={"code": code_for(client, wechat)}, headers=customer(web))
    assert r.status_code == 409
    assert order_ids(client, third) == order_ids(client, web)


def test_linking_needs_a_customer(client):
    assert client.post("/customers/me/link-code", headers=service()).status_code == 403
    assert client.post("/customers/me/link", json={"code": "ABCD-EFGH"}, headers=service()).status_code == 403
