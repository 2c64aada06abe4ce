"""Outreach against a real order service (SQLite and PostgreSQL) and the WeChat stand-in: post-sale
messages once, in the shopper's language; consent; quiet hours; WeChat's window; retries with
backoff into the dead-letter list; interrupted sends never resent; stock alerts; the web inbox."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from order_service.core.db import make_sessionmaker
from order_service.models import Location, OutreachMessage
from order_service.services import stock
from outreach.consent import opt_out_everywhere, set_consent
from outreach.outbox import dead_letters, take_inbox
from outreach.triggers import subscribe_back_in_stock
from tests.order_service.conftest import customer, place, set_stock, staff_headers
from tests.outreach.conftest import NOON, TEXTS, resolve, spoke


def _messages(engine) -> list[OutreachMessage]:
    with make_sessionmaker(engine)() as session:
        return list(session.scalars(select(OutreachMessage).order_by(OutreachMessage.id)))


def _store_name(engine, store_id: int = 1000) -> str:
    with make_sessionmaker(engine)() as session:
        store = session.get(Location, store_id)
        assert store is not None
        return store.name


def _pickup_order_ready_then_collected(client, customer_id: str) -> dict:
    order = place(client, customer_id, store_id=1000)
    assert client.post(f"/orders/{order['id']}/confirm", headers=customer(customer_id)).status_code == 200
    manager = staff_headers(client, "manager")
    for status in ("ready_for_pickup", "completed"):
        r = client.post(f"/staff/orders/{order['id']}/status", json={"status": status}, headers=manager)
        assert r.status_code == 200, r.text
    return order


def test_post_sale_messages_reach_wechat_once_in_the_shoppers_language(
    client, engine, outreach, standin, clock
):
    shopper = resolve(client, "wechat", "oid-zh")
    spoke(engine, shopper, "wechat", "zh", NOON - timedelta(hours=1))
    order = _pickup_order_ready_then_collected(client, shopper)

    first = outreach.tick()
    outreach.tick()  # a second pass (or a restarted worker) finds nothing new
    clock.advance(minutes=5)
    outreach.tick()

    assert first.post_sale == 2 and first.drain.sent == 2
    texts = standin.texts_to("oid-zh")
    assert len(texts) == 2
    store = _store_name(engine)
    assert texts[0] == TEXTS["ready_for_pickup"]["zh"].format(order_id=order["id"], store=store)
    assert texts[1] == TEXTS["delivered"]["zh"].format(order_id=order["id"])
    rating = [m for m in standin.sent if m["msgtype"] == "msgmenu"]
    assert [item["content"] for item in rating[0]["msgmenu"]["list"]] == [
        t for t, _ in TEXTS["delivered"]["buttons"]["zh"]
    ]


def test_opt_out_stops_messages_and_campaigns_need_an_opt_in(client, engine, outreach, standin, clock):
    shopper = resolve(client, "wechat", "oid-out")
    spoke(engine, shopper, "wechat", "en", NOON)
    with make_sessionmaker(engine)() as session:
        opt_out_everywhere(session, shopper, "chat:unsubscribe", NOON)
        session.commit()
    _pickup_order_ready_then_collected(client, shopper)
    stats = outreach.tick()
    assert standin.texts_to("oid-out") == []
    assert stats.drain.reasons == {"no_consent": 2}


def test_quiet_hours_hold_a_message_until_morning(client, engine, outreach, standin, clock):
    shopper = resolve(client, "wechat", "oid-night")
    clock.now = NOON.replace(hour=15)  # 23:00 in Shanghai
    spoke(engine, shopper, "wechat", "en", clock.now)
    _pickup_order_ready_then_collected(client, shopper)
    stats = outreach.tick()
    assert stats.drain.deferred == 2 and standin.texts_to("oid-night") == []
    clock.now = NOON.replace(hour=1) + timedelta(days=1)  # 09:00 in Shanghai
    outreach.tick()
    assert len(standin.texts_to("oid-night")) == 2


def test_wechat_window_closed_after_48_hours(client, engine, outreach, standin, clock):
    shopper = resolve(client, "wechat", "oid-quiet")
    spoke(engine, shopper, "wechat", "en", NOON - timedelta(hours=49))
    _pickup_order_ready_then_collected(client, shopper)
    stats = outreach.tick()
    assert stats.drain.reasons == {"wechat_window_closed": 2}
    assert standin.texts_to("oid-quiet") == []


def test_failures_retry_with_doubling_delays_then_dead_letter(client, engine, outreach, standin, clock):
    shopper = resolve(client, "wechat", "oid-busy")
    spoke(engine, shopper, "wechat", "en", NOON)
    order = place(client, shopper, store_id=1000)
    client.post(f"/orders/{order['id']}/confirm", headers=customer(shopper))
    client.post(
        f"/staff/orders/{order['id']}/status",
        json={"status": "ready_for_pickup"},
        headers=staff_headers(client, "manager"),
    )
    standin.fail_next = 100
    waits = []
    for _ in range(outreach.policy.max_attempts):
        outreach.tick()
        (row,) = _messages(engine)
        if row.status == "queued":
            waits.append((row.next_attempt_at - clock.now).total_seconds())
            clock.now = row.next_attempt_at
    assert waits == [outreach.policy.retry_base_s * 2**i for i in range(outreach.policy.max_attempts - 1)]
    (row,) = _messages(engine)
    assert row.status == "dead" and row.attempts == outreach.policy.max_attempts
    with make_sessionmaker(engine)() as session:
        assert [m.send_key for m in dead_letters(session)] == [f"order:{order['id']}:ready_for_pickup"]
    assert standin.texts_to("oid-busy") == []


def test_a_send_interrupted_by_a_crash_is_never_resent(client, engine, outreach, standin, clock):
    shopper = resolve(client, "wechat", "oid-crash")
    spoke(engine, shopper, "wechat", "en", NOON)
    _pickup_order_ready_then_collected(client, shopper)
    with make_sessionmaker(engine)() as session:
        from outreach.triggers import scan_order_events

        scan_order_events(session, NOON)
        first = session.scalars(select(OutreachMessage).order_by(OutreachMessage.id)).first()
        first.status = "sending"  # what a worker killed between its claim and its commit leaves
        session.commit()
    assert outreach.recover() == 1
    outreach.tick()
    statuses = [m.status for m in _messages(engine)]
    assert statuses == ["unknown", "sent"]
    assert len(standin.texts_to("oid-crash")) == 1


def test_back_in_stock_alert_with_a_reserve_button(client, engine, outreach, standin, clock):
    shopper = resolve(client, "wechat", "oid-gpu")
    spoke(engine, shopper, "wechat", "en", NOON)
    set_stock(engine, 0, "SKU-GPU", 0)
    with make_sessionmaker(engine)() as session:
        subscribe_back_in_stock(session, shopper, "SKU-GPU", None, NOON)
        session.commit()
    assert outreach.tick().back_in_stock == 0
    with make_sessionmaker(engine)() as session:
        stock.move(session, location_id=0, sku="SKU-GPU", quantity=5, kind="receipt", note="delivery")
        session.commit()
    assert outreach.tick().back_in_stock == 1
    outreach.tick()
    (menu,) = [m for m in standin.sent if m["touser"] == "oid-gpu"]
    assert "GeForce test card" in menu["msgmenu"]["head_content"]
    assert [i["id"] for i in menu["msgmenu"]["list"]] == ['/add_to_cart{"sku": "SKU-GPU"}']


def test_web_messages_wait_for_the_next_visit_and_show_once(client, engine, outreach, clock):
    shopper = resolve(client, "web", "session-abc")
    spoke(engine, shopper, "web", "en", NOON)
    order = _pickup_order_ready_then_collected(client, shopper)
    stats = outreach.tick()
    assert stats.drain.inboxed == 2
    with make_sessionmaker(engine)() as session:
        shown = take_inbox(session, shopper, NOON)
        again = take_inbox(session, shopper, NOON)
    assert [m["text"] for m in shown] == [
        TEXTS["ready_for_pickup"]["en"].format(order_id=order["id"], store=_store_name(engine)),
        TEXTS["delivered"]["en"].format(order_id=order["id"]),
    ]
    assert again == []


@pytest.mark.parametrize("channel", ["wechat", "web"])
def test_consent_is_per_channel(client, engine, channel):
    shopper = resolve(client, channel, f"id-{channel}")
    with make_sessionmaker(engine)() as session:
        set_consent(session, shopper, channel, True, "test", NOON)
        session.commit()
        from outreach.consent import consent_of

        assert consent_of(session, shopper, channel) is True
        assert consent_of(session, shopper, "web" if channel == "wechat" else "wechat") is None


def test_campaign_targets_opted_in_customers_holds_out_a_share_and_measures_the_difference(
    client, engine, clock
):
    from scipy import stats as scipy_stats

    from order_service.models import AssistantEvent, CampaignMember
    from outreach.campaigns import campaign_result, create_campaign, launch_campaign

    shoppers = [resolve(client, "web", f"web-{i}") for i in range(40)]
    silent = resolve(client, "web", "web-never-asked")
    with make_sessionmaker(engine)() as session:
        for shopper in shoppers:
            set_consent(session, shopper, "web", True, "test", NOON)
        campaign = create_campaign(
            session,
            name="Winter",
            target={},
            offer={"code": "W10", "percent_off": 10},
            channel="web",
            scheduled_at=NOON,
            now=NOON,
            holdout_share=0.5,
        )
        session.commit()
        first = launch_campaign(session, campaign.id, NOON)
        again = launch_campaign(session, campaign.id, NOON)
        arms = dict(session.execute(select(CampaignMember.customer_id, CampaignMember.arm)).all())
        messages = list(session.scalars(select(OutreachMessage.customer_id)))
        # every third member orders within the window; one order after it does not count
        bought = {c: 100.0 + i for i, c in enumerate(shoppers) if i % 3 == 0}
        for c, value in bought.items():
            session.add(
                AssistantEvent(
                    at=NOON + timedelta(days=2),
                    conversation_id=f"c-{c}",
                    customer_id=c,
                    channel="web",
                    language="en",
                    type="order_placed",
                    value=value,
                    payload={},
                )
            )
        session.add(
            AssistantEvent(
                at=NOON + timedelta(days=30),
                conversation_id="late",
                customer_id=shoppers[1],
                channel="web",
                language="en",
                type="order_placed",
                value=50,
                payload={},
            )
        )
        session.commit()
        result = campaign_result(session, campaign.id, window_days=14)

    assert silent not in arms and set(arms) == set(shoppers)
    treated = [c for c in shoppers if arms[c] == "treated"]
    holdout = [c for c in shoppers if arms[c] == "holdout"]
    assert treated and holdout
    assert first == {"treated": len(treated), "holdout": len(holdout), "messages": len(treated)}
    assert again["messages"] == 0 and sorted(messages) == sorted(treated)
    conv_t = [float(c in bought) for c in treated]
    conv_h = [float(c in bought) for c in holdout]
    expected = scipy_stats.ttest_ind(conv_t, conv_h, equal_var=False).confidence_interval(0.95)
    assert result.treated == len(treated) and result.holdout == len(holdout)
    assert result.conversion.uplift == pytest.approx(sum(conv_t) / len(conv_t) - sum(conv_h) / len(conv_h))
    assert (result.conversion.ci_low, result.conversion.ci_high) == pytest.approx(
        (expected.low, expected.high)
    )
    revenue_t = sum(bought.get(c, 0.0) for c in treated) / len(treated)
    assert result.revenue_per_customer.treated == pytest.approx(revenue_t)
