"""Customer analytics for staff in the conversation: "who are our at-risk customers?", "what segment
is customer 12347 in?", "what's our AOV and repurchase rate?", and the assistant's own figures ("how
did the assistant do this week?", from the effectiveness report over the assistant's event record).

Same two locks as actions.staff: the action answers only when the channel identified a staff member,
and every call carries that member's own token, so the order service (GET /staff/analytics/…)
refuses anyone else and decides what an associate may see (their store's customers).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.common import entity_values, language
from actions.references import ordinal_positions
from actions.staff_base import LIST_LIMIT, StaffAction
from knowledge_graph.vocab import format_price
from order_service.client import OrderServiceError
from order_service.schemas import StaffMe
from recommender.analytics import SEGMENT_ACTIONS, SEGMENT_LABELS
from recommender.records import CustomerProfile

DEFAULT_SEGMENT = "at_risk"
# "customer 12347", "客户12347", "customer #cust-chen": the id after the word, when NLU missed the entity.
# An id has a digit, "-" or "_", so the word after "customer" ("this customer in?") is not taken for one.
CUSTOMER_IN_TEXT = re.compile(
    r"(?:(?:customer|client)(?![a-z])|客户|顾客|会员)\s*(?:id\b|号|编号)?\s*[#:：]?\s*"
    r"(?=[A-Za-z]*[0-9_-])([A-Za-z0-9][A-Za-z0-9_-]{0,63})",
    re.IGNORECASE,
)
ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
SHOWN = "shown_customers"


def customer_id_of_turn(tracker: Tracker) -> str | None:
    """The customer the message names: the NLU's customer_id, an id after "customer"/"客户", a
    bare id ("demo-0027" right after "which customer?"), else a position in the customer list just
    shown ("第一个客户", "the second customer")."""
    for value in entity_values(tracker, "customer_id"):
        value = str(value).strip().lstrip("#")
        if ID.fullmatch(value):
            return value
    text = (tracker.latest_message.get("text") or "").strip()
    match = CUSTOMER_IN_TEXT.search(text)
    if match:
        return match.group(1)
    if ID.fullmatch(text) and re.search(r"\d", text):
        return text
    return shown_customer(tracker)


def shown_customer(tracker: Tracker) -> str | None:
    """The customer at the position the message names in the list shown last."""
    shown = tracker.get_slot(SHOWN) or []
    for position in ordinal_positions(tracker):
        index = position - 1 if position > 0 else position
        if -len(shown) <= index < len(shown):
            return str(shown[index])
    return None


def segment_label(key: str, lang: str) -> str:
    return SEGMENT_LABELS[key][lang]


def profile_line(p: CustomerProfile, lang: str) -> str:
    spend = format_price(p.total_spend, lang)
    if lang == "zh":
        return f"{p.customer_id}：{p.orders}笔订单，消费{spend}，最近一次下单在{p.recency_days}天前（RFM {p.rfm}）"
    return f"{p.customer_id}: {p.orders} orders, {spend} spent, last order {p.recency_days} days ago (RFM {p.rfm})"


class ActionStaffSegmentCustomers(StaffAction):
    """The customers of a segment, highest spend first (at risk unless another segment is named)."""

    needs_store = False

    def name(self) -> str:
        return "action_staff_segment_customers"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe
    ) -> list[dict[str, Any]]:
        lang = language(tracker)
        named = [str(v) for v in entity_values(tracker, "segment") if str(v) in SEGMENT_LABELS]
        picked = shown_customer(tracker)
        if picked and not named:  # "第一个客户的价值怎么样" after a list: that customer, not the list again
            await customer_answer(dispatcher, picked, token, me, lang)
            return []
        segment = next(iter(named), DEFAULT_SEGMENT)
        try:
            total, members = await services.orders().segment_customers(segment, token, limit=LIST_LIMIT)
        except OrderServiceError as exc:
            if exc.not_found:  # the shop has no purchase orders yet
                dispatcher.utter_message(response="utter_analytics_no_orders")
                return []
            raise
        label = segment_label(segment, lang)
        if not members:
            dispatcher.utter_message(response="utter_analytics_segment_empty", segment=label)
            return []
        dispatcher.utter_message(
            response="utter_analytics_segment_customers",
            segment=label,
            total=total,
            shown=len(members),
            lines="\n".join(f"{i}. {profile_line(p, lang)}" for i, p in enumerate(members, 1)),
            suggestion=SEGMENT_ACTIONS[segment][lang],
        )
        return [SlotSet(SHOWN, [p.customer_id for p in members])]  # "第一个客户" picks from these


class ActionStaffCustomerSegment(StaffAction):
    """One customer's segment, RFM scores and expected value over the next year."""

    needs_store = False

    def name(self) -> str:
        return "action_staff_customer_segment"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe
    ) -> None:
        customer_id = customer_id_of_turn(tracker)
        if customer_id is None:
            dispatcher.utter_message(response="utter_analytics_ask_customer")
            return
        await customer_answer(dispatcher, customer_id, token, me, language(tracker))


async def customer_answer(
    dispatcher: CollectingDispatcher, customer_id: str, token: str, me: StaffMe, lang: str
) -> None:
    """One customer's segment, RFM and expected value, or why it cannot be shown."""
    try:
        profile, value = await services.orders().customer_analytics(customer_id, token)
    except OrderServiceError as exc:
        if exc.not_found:
            dispatcher.utter_message(response="utter_analytics_customer_unknown", customer=customer_id)
        elif exc.status_code == 403 and me.role == "associate":
            dispatcher.utter_message(response="utter_analytics_not_your_customer", customer=customer_id)
        elif exc.status_code == 422:
            dispatcher.utter_message(response="utter_analytics_ask_customer")
        else:
            raise
        return
    facts = dict(
        customer=profile.customer_id,
        segment=segment_label(profile.segment, lang),
        rfm=profile.rfm,
        orders=profile.orders,
        spend=format_price(profile.total_spend, lang),
        recency=profile.recency_days,
    )
    if value is None:  # too few repeat customers in the shop's history to estimate lifetime value
        dispatcher.utter_message(response="utter_analytics_customer_segment_no_clv", **facts)
        return
    dispatcher.utter_message(
        response="utter_analytics_customer_segment",
        clv=format_price(value.clv, lang),
        expected_orders=f"{value.expected_orders:.1f}",
        **facts,
    )


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value:.1%}"


class ActionStaffShopOverview(StaffAction):
    """ "What's our AOV and repurchase rate?", "客单价和复购率": the shop's customers, orders, revenue,
    average order value and repurchase rate, and its largest segments (GET /staff/analytics/overview)."""

    needs_store = False

    def name(self) -> str:
        return "action_staff_shop_overview"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe
    ) -> None:
        lang = language(tracker)
        try:
            o = await services.orders().analytics_overview(token)
        except OrderServiceError as exc:
            if exc.not_found:  # no purchase orders yet
                dispatcher.utter_message(response="utter_analytics_no_orders")
                return
            raise
        largest = sorted(o.segments, key=lambda s: -s.customers)[:3]
        sep = "、" if lang == "zh" else ", "
        dispatcher.utter_message(
            response="utter_analytics_overview",
            customers=o.customers,
            orders=o.orders,
            revenue=format_price(o.revenue, lang),
            aov=format_price(o.average_order_value, lang),
            repurchase=percent(o.repurchase_rate),
            segments=sep.join(
                f"{s.label_zh if lang == 'zh' else s.label_en} ({s.customers}, {percent(s.customer_share)})"
                for s in largest
            ),
        )


# "today", "this month", "last 30 days": the period a report question names (days back from now)
PERIODS = (
    (re.compile(r"(?i)\btoday\b|今天|今日"), 1),
    (re.compile(r"(?i)\byesterday\b|昨天"), 2),
    (
        re.compile(
            r"(?i)\b(?:this|last|past)\s+month\b|\b30\s*days\b|本月|这个月|上个月|近一个月|最近一个月|30天"
        ),
        30,
    ),
)
WEEK_DAYS = 7


def report_days(text: str) -> int:
    """Days the report covers: a day, a month, else a week ("this week", "本周", or nothing said)."""
    return next((days for pattern, days in PERIODS if pattern.search(text)), WEEK_DAYS)


class ActionStaffAssistantReport(StaffAction):
    """ "How did the assistant do this week?", "本周导购助手表现如何？": the totals of the assistant's
    effectiveness report (order_service.effectiveness over the assistant_events record, the same
    numbers as `daogou analytics report` and GET /staff/analytics/assistant) over the period asked,
    a week by default. Managers and admins only, as the report is shop-wide."""

    needs_store = False

    def name(self) -> str:
        return "action_staff_assistant_report"

    async def answer(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, token: str, me: StaffMe
    ) -> None:
        if me.role == "associate":
            dispatcher.utter_message(response="utter_staff_managers_only")
            return
        lang = language(tracker)
        days = report_days(tracker.latest_message.get("text") or "")
        until = datetime.now(UTC)
        since = until - timedelta(days=days)
        report = await services.orders().assistant_report(token, since=since, until=until)
        t = report.get("totals") or {}
        period = dict(since=f"{since:%Y-%m-%d}", until=f"{until:%Y-%m-%d}")
        if not t.get("conversations"):
            dispatcher.utter_message(response="utter_staff_assistant_report_empty", **period)
            return
        rating = t.get("rating_mean")
        dispatcher.utter_message(
            response="utter_staff_assistant_report",
            days=days,
            conversations=int(t["conversations"]),
            impressions=int(t.get("impressions") or 0),
            ctr=percent(t.get("ctr")),
            shown_to_cart=percent(t.get("shown_to_cart")),
            shown_to_order=percent(t.get("shown_to_order")),
            orders=int(t.get("orders") or 0),
            revenue=format_price(float(t.get("revenue") or 0), lang),
            containment=percent(t.get("containment")),
            fallback_rate=percent(t.get("fallback_rate")),
            faq_unsure_rate=percent(t.get("faq_unsure_rate")),
            rating="–" if rating is None else f"{rating:.2f}/5",
            ratings=int(t.get("ratings") or 0),
            **period,
        )
