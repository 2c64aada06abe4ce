"""Recommendations and staff analytics in the conversation, against a real trained shop model (a
small hand-made history), the real knowledge graph's compatibility rules and the real order service
(fixture `shop`), in English and Chinese."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from actions import services
from actions.analytics import ActionStaffCustomerSegment, ActionStaffSegmentCustomers, customer_id_of_turn
from actions.products import ActionShowAccessories
from actions.recommend import (
    ActionAlsoBought,
    ActionBoughtTogether,
    ActionRecommendProducts,
    ActionShowSimilar,
)
from catalog.models import Category, Product
from demo.history import generate_demo_history
from demo.orders import load_demo_orders
from knowledge_graph import store as kg
from order_service.core.db import make_sessionmaker
from order_service.models import Customer, CustomerIdentity, StockLevel
from order_service.services import stock
from recommender.order_history import order_lines_frame
from recommender.shop import model_dir, save_model, train_shop_model
from recommender.staff import CustomerAnalytics
from tests.actions.action_harness import ASSOCIATE, ent, responses, run, slots_of, tracker
from tests.actions.action_harness import PRODUCTS as SHOP_PRODUCTS

CATEGORIES = {
    "parts": Category("parts", "Computer parts", None, ("parts",)),
    "audio": Category("audio", "Headphones", None, ("audio",)),
    "input": Category("input", "Mice", None, ("input",)),
}
P = [
    Product("R-CPU-AM5", "Ryzen 7 test CPU", "AMD", 299.99, "parts", "cpu", {"socket": "AM5"}),
    Product("R-CPU-INTEL", "Core i7 test CPU", "Intel", 309.0, "parts", "cpu", {"socket": "LGA1700"}),
    Product("R-MB-AM5", "B650 test board", "MSI", 179.0, "parts", "motherboard", {"socket": "AM5"}),
    Product("R-MB-INTEL", "B760 test board", "ASUS", 159.0, "parts", "motherboard", {"socket": "LGA1700"}),
    Product("R-RAM", "DDR5 32 GB test kit", "Corsair", 89.5, "parts", "memory", {}),
    Product("R-HP-1", "Studio headphones", "Sony", 99.0, "audio", "headphones", {}),
    Product("R-HP-2", "Studio headphones Pro", "Sony", 149.0, "audio", "headphones", {}),
    Product("R-HP-3", "Travel headphones", "Bose", 129.0, "audio", "headphones", {}),
    Product("R-MOUSE", "Wireless test mouse", "Logitech", 39.0, "input", "mouse", {}),
]
BASKETS = (
    [("R-CPU-AM5", "R-MB-AM5", "R-RAM")] * 4
    + [("R-CPU-INTEL", "R-MB-INTEL", "R-RAM")] * 4
    + [("R-RAM", "R-MB-INTEL")] * 3
    + [("R-HP-1", "R-MOUSE")] * 5
    + [("R-HP-2", "R-MOUSE")] * 2
    + [("R-HP-3",)] * 3
)


def history_lines() -> pd.DataFrame:
    """One customer per basket (cust-1…), plus cust-alice, who bought headphones only."""
    price = {p.sku: p.price for p in P}
    start = datetime(2026, 10, 1)
    rows = [
        dict(
            customer_id=f"cust-{i}",
            order_id=f"o{i}",
            sku=sku,
            quantity=1,
            unit_price=price[sku],
            ordered_at=start + timedelta(days=i),
        )
        for i, basket in enumerate(BASKETS)
        for sku in basket
    ]
    rows.append(
        dict(
            customer_id="cust-alice",
            order_id="o-alice",
            sku="R-HP-1",
            quantity=1,
            unit_price=99.0,
            ordered_at=start,
        )
    )
    return pd.DataFrame(rows)


@pytest.fixture
def trained(shop):
    """The shop fixture's service + a graph of P + a model trained on BASKETS in its STATE_DIR."""
    kg.set_graph(kg.build_graph(P, CATEGORIES))  # the shop fixture restores the previous graph
    save_model(train_shop_model(history_lines(), P, {c.id: c.name for c in CATEGORIES.values()}), model_dir())
    return shop


def cards(messages):
    return [m["custom"] for m in messages if m.get("custom")]


def skus(messages):
    return [c["sku"] for payload in cards(messages) for c in payload["products"]]


async def test_personalised_for_the_customer_the_channel_names(trained):
    messages, events = await run(
        ActionRecommendProducts(),
        tracker("recommend me something", "recommend_products", metadata={"customer_id": "cust-alice"}),
    )
    assert responses(messages) == ["utter_recommend_for_you"]
    assert skus(messages)[0] == "R-MOUSE" and "R-HP-1" not in skus(messages)  # never what they own
    card = cards(messages)[0]["products"][0]
    assert card["reason"] == "Because you bought Studio headphones" and card["price"] == 39.0
    assert "Because you bought Studio headphones" in messages[0]["items"]
    assert slots_of(events)["shown_skus"] == skus(messages)


async def test_contextual_in_chinese_and_never_incompatible_with_the_cart(trained):
    t = tracker(
        "给我推荐点东西",
        "recommend_products",
        slots={"product_sku": "R-RAM", "cart": [{"sku": "R-CPU-AM5", "qty": 1}]},
    )
    messages, _ = await run(ActionRecommendProducts(), t)
    assert responses(messages) == ["utter_recommend_from_context"]
    found = skus(messages)
    assert "R-MB-AM5" in found
    assert "R-MB-INTEL" not in found  # LGA1700 board against the AM5 CPU in the cart
    assert "R-CPU-INTEL" not in found and "R-CPU-AM5" not in found  # the cart has its CPU already
    assert all("\u4e00" <= ch <= "\u9fff" for ch in cards(messages)[0]["products"][0]["reason"][:2])


async def test_anonymous_without_context_gets_popular_items_of_the_asked_category(trained):
    messages, _ = await run(
        ActionRecommendProducts(),
        tracker("recommend me headphones", "recommend_products", [ent("category", "headphones")]),
    )
    assert responses(messages) == ["utter_recommend_popular"]
    assert set(skus(messages)) <= {"R-HP-1", "R-HP-2", "R-HP-3"} and skus(messages)


async def test_what_goes_with_this_uses_the_first_one_and_the_cart(trained):
    t = tracker(
        "what goes with the first one?",
        "bought_together",
        [ent("ordinal", "1")],
        slots={"shown_skus": ["R-RAM", "R-HP-1"], "cart": [{"sku": "R-CPU-AM5", "qty": 1}]},
    )
    messages, events = await run(ActionBoughtTogether(), t)
    assert (
        responses(messages) == ["utter_recommend_together"]
        and messages[0]["product"] == "DDR5 32 GB test kit"
    )
    assert "R-MB-AM5" in skus(messages) and "R-MB-INTEL" not in skus(messages)
    assert "Often bought with DDR5 32 GB test kit" in messages[0]["items"]
    assert slots_of(events)["product_sku"] == "R-RAM"


async def test_also_bought_ranks_by_confidence_in_chinese(trained):
    messages, _ = await run(
        ActionAlsoBought(), tracker("买了这个的顾客还买了什么", "also_bought", [ent("sku", "R-HP-1")])
    )
    assert responses(messages) == ["utter_recommend_also_bought"]
    assert skus(messages) == ["R-MOUSE"]  # in 5 of the 6 orders with R-HP-1
    assert "常与Studio headphones一起购买（83%的订单）" in messages[0]["items"]


async def test_nothing_bought_together_says_so(trained):
    messages, _ = await run(
        ActionBoughtTogether(),
        tracker("what goes with it", "bought_together", slots={"product_sku": "R-HP-3"}),
    )
    assert (
        responses(messages) == ["utter_recommend_together_none"]
        and messages[0]["product"] == "Travel headphones"
    )


async def test_similar_comes_from_the_recommender_and_stays_in_the_category(trained):
    for text in ("recommend something similar", "show me similar ones"):
        messages, events = await run(
            ActionShowSimilar(), tracker(text, "show_similar", slots={"product_sku": "R-HP-1"})
        )
        assert (
            responses(messages) == ["utter_similar_alternatives"]
            and messages[0]["product"] == "Studio headphones"
        )
        assert skus(messages) and set(skus(messages)) <= {"R-HP-2", "R-HP-3"}
        assert all(
            c["reason"]
            in ("Similar to Studio headphones", "Bought by customers who bought Studio headphones")
            for c in cards(messages)[0]["products"]
        )
        assert slots_of(events)["product_sku"] == "R-HP-1" and slots_of(events)["shown_skus"] == skus(
            messages
        )


async def test_similar_falls_back_to_the_graph_without_a_trained_recommender(shop):
    kg.set_graph(kg.build_graph(P, CATEGORIES))
    messages, _ = await run(
        ActionShowSimilar(), tracker("和这个类似的", "show_similar", slots={"product_sku": "R-HP-1"})
    )
    assert responses(messages) == ["utter_similar_alternatives"]
    assert set(skus(messages)) == {"R-HP-2", "R-HP-3"}
    assert "规格和价格与Studio headphones接近" in messages[0]["items"]


async def test_graph_alternatives_never_conflict_with_the_cart(shop):
    kg.set_graph(kg.build_graph(P, CATEGORIES))
    cart = {"cart": [{"sku": "R-CPU-AM5", "qty": 1}]}
    messages, _ = await run(
        ActionShowSimilar(), tracker("similar boards", "show_similar", [ent("sku", "R-MB-AM5")], slots=cart)
    )
    assert responses(messages) == ["utter_no_similar"]  # the only other board is LGA1700
    messages, _ = await run(
        ActionShowSimilar(), tracker("similar boards", "show_similar", [ent("sku", "R-MB-AM5")])
    )
    assert skus(messages) == ["R-MB-INTEL"]


async def test_cheaper_alternative_says_how_much_cheaper(trained):
    messages, events = await run(
        ActionShowSimilar(),
        tracker("anything cheaper than this?", "show_similar", slots={"product_sku": "R-HP-2"}),
    )
    assert responses(messages) == ["utter_cheaper_alternatives"]
    assert skus(messages) == ["R-HP-3", "R-HP-1"]  # closest price first
    assert [c["reason"] for c in cards(messages)[0]["products"]] == [
        "$20.00 less than Studio headphones Pro",
        "$50.00 less than Studio headphones Pro",
    ]


async def test_no_product_in_focus_asks_which(trained):
    messages, _ = await run(
        ActionAlsoBought(), tracker("customers who bought this also bought", "also_bought")
    )
    assert responses(messages) == ["utter_ask_which_product"]


async def test_untrained_recommender_is_an_answer_not_a_crash(shop):
    messages, events = await run(
        ActionRecommendProducts(), tracker("recommend me something", "recommend_products")
    )
    assert responses(messages) == ["utter_recommend_unavailable"] and events == []


async def test_a_rest_sender_the_order_service_knows_gets_their_own_picks(trained):
    """The plain REST channel names no customer: the order service's sender → customer mapping does."""
    with make_sessionmaker(trained.engine)() as session:
        if session.get(Customer, "cust-alice") is None:
            session.add(
                Customer(id="cust-alice", display_name="Alice", created_at=datetime(2026, 10, 1, tzinfo=UTC))
            )
        session.add(CustomerIdentity(channel="web", external_id="web-alice", customer_id="cust-alice"))
        session.commit()
    messages, _ = await run(
        ActionRecommendProducts(), tracker("根据我买过的推荐点", "recommend_products", sender_id="web-alice")
    )
    assert responses(messages) == ["utter_recommend_for_you"] and "R-HP-1" not in skus(messages)


async def test_which_of_these_picks_from_the_list_shown(trained):
    shown = ["R-HP-2", "R-HP-3", "R-HP-1"]
    messages, events = await run(
        ActionRecommendProducts(),
        tracker("which of these would be your pick?", "recommend_products", slots={"shown_skus": shown}),
    )
    buyers = history_lines().groupby("sku")["customer_id"].nunique()
    assert skus(messages) and set(skus(messages)) <= set(shown) and len(skus(messages)) < len(shown)
    assert skus(messages)[0] == max(shown, key=lambda s: buyers.get(s, 0))
    assert slots_of(events)["shown_skus"] == skus(messages)


async def test_out_of_stock_everywhere_is_never_recommended(trained, monkeypatch):
    """The action takes the order service's 'available nowhere' set: the customer's best pick
    (R-MOUSE, see the first test) disappears when no location has it."""

    async def unavailable():
        return ["R-MOUSE"]

    monkeypatch.setattr(trained.client, "unavailable_skus", unavailable)
    t = tracker("recommend me something", "recommend_products", metadata={"customer_id": "cust-alice"})
    messages, _ = await run(ActionRecommendProducts(), t)
    assert skus(messages) and "R-MOUSE" not in skus(messages)
    messages, _ = await run(
        ActionAlsoBought(), tracker("买了这个的顾客还买了什么", "also_bought", [ent("sku", "R-HP-1")])
    )
    assert "R-MOUSE" not in skus(messages)


async def test_stock_filter_reads_the_order_service(shop):
    with make_sessionmaker(shop.engine)() as session:
        for location_id, sku in session.execute(
            select(StockLevel.location_id, StockLevel.sku).where(StockLevel.sku == "SKU-HP")
        ).all():
            stock.move(
                session,
                location_id=location_id,
                sku=sku,
                quantity=-stock.available_at(session, location_id, sku),
                kind="adjustment",
                note="test: sold out",
            )
        session.commit()
        expected = set(await shop.client.unavailable_skus())
    in_stock = await services.in_stock_filter()
    assert "SKU-HP" in expected and not in_stock("SKU-HP")
    assert all(in_stock(p.sku) == (p.sku not in expected) for p in SHOP_PRODUCTS)


async def test_a_kind_named_keeps_only_that_kind_of_companion(trained):
    t = tracker(
        "which motherboard goes well with it",
        "bought_together",
        [ent("category", "motherboard")],
        slots={"product_sku": "R-CPU-AM5"},
    )
    messages, _ = await run(ActionBoughtTogether(), t)
    assert responses(messages) == ["utter_recommend_together"] and skus(messages) == ["R-MB-AM5"]


async def test_thin_co_purchase_data_falls_back_to_what_fits(trained):
    """No order pairs a cooler with the CPU: say so, then show what goes with it from the graph."""
    t = tracker(
        "what cooler goes well with it",
        "bought_together",
        [ent("category", "cpu cooler")],
        slots={"product_sku": "R-CPU-AM5"},
    )
    messages, events = await run(ActionBoughtTogether(), t)
    assert responses(messages)[0] == "utter_recommend_together_none"
    assert responses(messages)[1] in ("utter_accessories", "utter_fits_with")
    assert "R-MB-AM5" in skus(messages) and "R-MB-INTEL" not in skus(messages)  # same socket only
    assert slots_of(events)["product_sku"] == "R-CPU-AM5"


async def test_accessories_for_a_named_kind_list_the_parts_of_that_kind_that_fit(trained):
    t = tracker("and a motherboard for it?", "show_accessories", slots={"product_sku": "R-CPU-AM5"})
    messages, _ = await run(ActionShowAccessories(), t)
    assert responses(messages)[0] == "utter_fits_with" and skus(messages) == ["R-MB-AM5"]


async def test_better_than_that_is_a_step_up(trained):
    for text in ("anything better than this one?", "有没有比它好点的"):
        messages, _ = await run(
            ActionShowSimilar(), tracker(text, "show_similar", slots={"product_sku": "R-HP-1"})
        )
        assert responses(messages) in (["utter_better_alternatives"], ["utter_no_similar"])


# --- staff analytics -------------------------------------------------------------------------------


@pytest.fixture
def history(shop):
    h = generate_demo_history(
        SHOP_PRODUCTS,
        n_customers=60,
        store_ids=[7, 1000],
        extra_customer_ids=["cust-alice", "cust-bob"],
        compatible=lambda a, b: True,
    )
    assert load_demo_orders(shop.engine, h).skipped_orders == 0
    return h


async def test_analytics_refuses_shoppers_and_forged_claims(shop, history):
    for metadata in ({"customer_id": "cust-alice"}, {"staff": {"token": "made-up"}}):
        for action, text in (
            (ActionStaffSegmentCustomers(), "who are our at-risk customers?"),
            (ActionStaffCustomerSegment(), "what segment is customer cust-bob in?"),
        ):
            messages, _ = await run(action, tracker(text, "staff_segment_customers", metadata=metadata))
            assert responses(messages) == ["utter_staff_only"]


async def test_manager_gets_a_segments_customers_in_chinese(shop, history):
    expected = CustomerAnalytics(order_lines_frame(history))
    segment = expected.segment_of(history.orders[0].customer_id).segment
    staff = {"staff": {"token": await shop.staff_token("manager")}}
    messages, _ = await run(
        ActionStaffSegmentCustomers(),
        tracker("列出这些客户", "staff_segment_customers", [ent("segment", segment)], metadata=staff),
    )
    assert responses(messages) == ["utter_analytics_segment_customers"]
    members = expected.customers_in(segment, 10_000)
    assert (
        messages[0]["total"] == len(members)
        and messages[0]["segment"] == expected.segment_of(members[0].customer_id).segment_label_zh
    )
    assert messages[0]["lines"].splitlines()[0].startswith(f"1. {members[0].customer_id}：")


async def test_customer_segment_from_the_entity_or_the_text(shop, history):
    expected = CustomerAnalytics(order_lines_frame(history))
    who = history.orders[0].customer_id
    staff = {"staff": {"token": await shop.staff_token("manager")}}
    messages, _ = await run(
        ActionStaffCustomerSegment(),
        tracker(f"what segment is customer {who} in?", "staff_customer_segment", metadata=staff),
    )
    try:
        expected.value_of(who)
        response = "utter_analytics_customer_segment"
    except ValueError:  # too few repeat customers for CLV in this small history
        response = "utter_analytics_customer_segment_no_clv"
    assert responses(messages) == [response]
    m = messages[0]
    assert m["customer"] == who and m["segment"] == expected.segment_of(who).segment_label_en
    assert m["rfm"] == expected.segment_of(who).rfm and m["orders"] == expected.segment_of(who).orders
    messages, _ = await run(
        ActionStaffCustomerSegment(),
        tracker(
            "客户nobody-1属于哪个分群",
            "staff_customer_segment",
            [ent("customer_id", "nobody-1")],
            metadata=staff,
        ),
    )
    assert responses(messages) == ["utter_analytics_customer_unknown"]


async def test_associate_is_told_when_a_customer_is_not_theirs(shop, history):
    at_7 = {o.customer_id for o in history.orders if o.location_id == 7}
    other = sorted({o.customer_id for o in history.orders} - at_7)[0]
    staff = {"staff": {"token": await shop.staff_token(ASSOCIATE)}}
    messages, _ = await run(
        ActionStaffCustomerSegment(),
        tracker("segment?", "staff_customer_segment", [ent("customer_id", other)], metadata=staff),
    )
    assert responses(messages) == ["utter_analytics_not_your_customer"]


def test_customer_id_in_text():
    assert customer_id_of_turn(tracker("what segment is customer 12347 in?")) == "12347"
    assert customer_id_of_turn(tracker("客户12347属于哪个分群")) == "12347"
    assert customer_id_of_turn(tracker("customer #cust-chen please")) == "cust-chen"
    assert customer_id_of_turn(tracker("who are our at-risk customers?")) is None
