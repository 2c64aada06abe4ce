"""PC builds in conversation (actions.building) over the real catalogue, with every product in
stock: a request, a change, "what changed", the whole build into the cart, and a request whose
purpose comes in the next message. Budgets are checked against the catalogue's prices and
compatibility against catalog.part_rules, not against what the reply says."""

from __future__ import annotations

import itertools

import pytest

from actions import building
from catalog import part_rules as compat
from daogou.config import get_settings
from tests.actions.action_harness import ent, responses, slots_of, tracker

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def graph():
    from knowledge_graph.store import load_graph

    return load_graph(source="files")


@pytest.fixture(autouse=True)
def everything_in_stock(graph, monkeypatch):
    from build_planner import Planner

    planner = Planner(graph.products.values(), lambda location: frozenset(graph.products))
    monkeypatch.setattr(building, "get_planner", lambda: planner)
    monkeypatch.setattr(building.services, "graph", lambda: graph)


async def say(text, intent, slots, entities=None):
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    events = await building.build_answer(dispatcher, tracker(text, intent, entities, slots=slots))
    return dispatcher.messages, {**slots, **slots_of(events)}


def bought(slots):
    return [sku for _, sku, owned in slots["build"]["parts"] if sku and not owned]


async def test_plan_change_and_cart(graph):
    messages, slots = await say(
        "could you plan an AMD gaming rig for me, 1500 dollars",
        "plan_build",
        {},
        [ent("price", "1500", "price_max")],
    )
    assert responses(messages) == ["utter_build"]
    skus = bought(slots)
    assert sum(graph.products[s].price for s in skus) <= 1500
    assert slots["shown_skus"] == skus
    assert next(graph.products[s] for s in skus if graph.products[s].part_type == "cpu").brand == "AMD"
    roles = {graph.products[s].part_type for s in skus}
    assert {"cpu", "motherboard", "memory", "power-supply", "case"} <= roles
    for a, b in itertools.combinations(skus, 2):
        assert compat.check(graph.products[a], graph.products[b]).compatible is not False, (a, b)

    messages, changed = await say("swap the processor for an Intel one", "refine_build", slots)
    assert "utter_build" in responses(messages)
    cpu = next(graph.products[s] for s in bought(changed) if graph.products[s].part_type == "cpu")
    assert cpu.brand == "Intel"

    messages, _ = await say("what is different from the build before?", "refine_build", changed)
    assert responses(messages) == ["utter_build_changes"]

    messages, carted = await say("put the complete build in my basket", "add_build_to_cart", changed)
    assert responses(messages) == ["utter_build_added"]
    assert sorted(line["sku"] for line in carted["cart"]) == sorted(bought(changed))


async def test_the_purpose_can_come_next(graph):
    messages, slots = await say("can you work out a pc build for me", "plan_build", {})
    assert responses(messages) == ["utter_build_ask"]
    assert building.pending(tracker("", "", slots=slots))
    later = tracker("mostly gaming, around 1200", "nlu_fallback", slots=slots)
    assert building.takes_over(later, "nlu_fallback")
    messages, slots = await say("mostly gaming, around 1200", "nlu_fallback", slots)
    assert responses(messages) == ["utter_build"]
    assert slots["build"]["request"]["purpose"] == "gaming"
    assert slots["build"]["request"]["budget_usd"] == 1200


async def test_a_budget_in_yuan_is_converted(graph):
    messages, slots = await say("帮我配台打游戏的电脑，8000元", "plan_build", {})
    assert responses(messages) == ["utter_build"]
    request = slots["build"]["request"]
    assert request["budget_usd"] == pytest.approx(8000 / get_settings().kg_cny_per_usd, abs=0.01)
    assert request["conversion"]["amount"] == 8000


@pytest.mark.parametrize(
    "text,kind,value",
    [
        ("more graphics power and less processor", "emphasis", {"video-card": 1, "cpu": -1}),
        ("显卡好一点，CPU差一点", "emphasis", {"video-card": 1, "cpu": -1}),
        ("can it be cheaper", "cheaper", None),
        ("lower it to $1100 please", "budget", 1100.0),
        ("everything in white", "colour", "white"),
        ("换成英特尔", "brand", "Intel"),
    ],
)
def test_changes_from_the_wording(graph, text, kind, value):
    changes = building.find_changes(graph, text, "refine_build", [])
    assert changes and changes[0].kind == kind
    if value is not None:
        assert changes[0].value == value


def test_a_named_part_is_used(graph):
    wanted = [p.sku for p in graph.products.values() if p.name == "AMD Ryzen 7 7700X"]
    changes = building.find_changes(graph, "put the Ryzen 7 7700X in it", "refine_build", [])
    assert [c.kind for c in changes] == ["use"] and changes[0].value in wanted


async def test_add_to_cart_after_a_build_means_all_of_it(graph):
    _, slots = await say("an office pc please, $700", "plan_build", {})
    assert building.means_whole_build(tracker("可以，这套都加到购物车里", "add_to_cart", slots=slots))
    assert not building.means_whole_build(
        tracker("add the second one", "add_to_cart", slots=slots, entities=[ent("ordinal", "2")])
    )


def test_one_part_is_a_search_not_a_build():
    assert building.names_one_part("which processor would you pick for gaming, max 300 dollars")
    assert not building.names_one_part("a gaming pc with a good processor for 1500")


@pytest.mark.parametrize(
    "text, other",
    [
        ("显示器预算两千五以内", True),  # a kind of product with a budget: a search
        ("need a UPS for my desktop, under 200", True),  # "my desktop" is a computer the shopper has
        ("got any 4080 super cards", True),  # a product line
        ("想配台主机打游戏，八千块", False),
        ("gaming rig, 1800 bucks", False),
        ("预算6000，主要用来剪视频", False),  # a purpose is not a kind of product
    ],
)
def test_another_kind_of_product_is_a_search_not_a_build(graph, text, other):
    assert building.names_other_kind(graph, text) is other


def _best_card_by_data(graph, budget, cpu, watts):
    """The best graphics card for the budget whose whole-PC draw the supply covers, found by scanning
    the catalogue with catalog.part_rules (not by the planner)."""
    from build_planner.scoring import part_score, purpose

    gaming = purpose("gaming")
    fitting = [
        p
        for p in graph.products.values()
        if p.part_type == "video-card"
        and p.attributes.get("chipset")
        and 0 < p.price <= budget
        and compat.recommended_psu(*compat.estimated_draw([cpu, p])) <= watts
    ]
    return max(part_score(p, "video-card", gaming) for p in fitting)


@pytest.mark.parametrize(
    "text",
    [
        "I have an i5-12400 on a B660 board and a 550 W PSU: best graphics card for $400?",
        "我有i5-12400和B660主板，550W电源，预算400美元配什么显卡？",
    ],
)
async def test_an_upgrade_respects_what_the_shopper_has(graph, text):
    from build_planner.scoring import part_score, purpose

    cpu = next(p for p in graph.products.values() if p.name == "Intel Core i5-12400")
    messages, slots = await say(text, "search_products", {})
    assert responses(messages) == ["utter_build_upgrade"]
    cards = [graph.products[s] for s in slots["shown_skus"]]
    assert cards and all(c.part_type == "video-card" and c.price <= 400 for c in cards)
    for c in cards:
        assert compat.recommended_psu(*compat.estimated_draw([cpu, c])) <= 550
    best = part_score(cards[0], "video-card", purpose("gaming"))
    assert best == pytest.approx(_best_card_by_data(graph, 400, cpu, 550), abs=0.01)
    assert slots["build"]["request"]["upgrade_role"] == "video-card"
    assert cpu.sku in slots["build"]["request"]["constraints"]["have"]
    # the reply says what it checked: the supply's watts and the socket both parts share
    text_out = messages[0]["checks"]
    assert "550" in text_out and cpu.attributes["socket"] in text_out


async def test_an_upgrade_of_the_processor_keeps_the_board_socket(graph):
    messages, slots = await say(
        "I have a B650 board, which CPU should I buy for $250?", "search_products", {}
    )
    assert responses(messages) == ["utter_build_upgrade"]
    sockets = {
        p.attributes.get("socket")
        for p in graph.products.values()
        if p.part_type == "motherboard" and "b650" in p.name.lower().split()
    }
    cpus = [graph.products[s] for s in slots["shown_skus"]]
    assert cpus and all(c.part_type == "cpu" and c.price <= 250 for c in cpus)
    assert {c.attributes["socket"] for c in cpus} <= sockets and len(sockets) == 1


def test_a_part_already_owned_in_a_build_is_not_an_upgrade(graph):
    assert building.find_upgrade(graph, "I already have a Corsair 4000D case") is None
    assert building.find_upgrade(graph, "use the Ryzen 7 7700X") is None


async def test_staff_build_for_a_customer_from_my_store(graph, monkeypatch):
    from types import SimpleNamespace

    from build_planner import Planner
    from catalog import load_stores

    store = load_stores()[0]
    store_id = store.id
    stocked = frozenset(list(graph.products)[::2])  # the store carries half the catalogue
    planner = Planner(graph.products.values(), lambda loc: stocked if loc == store_id else frozenset())

    class Orders:
        async def staff_me(self, token):
            assert token == "t"
            return SimpleNamespace(store_id=store_id)

    monkeypatch.setattr(building, "get_planner", lambda: planner)
    monkeypatch.setattr(building.services, "orders", lambda: Orders())
    from rasa_sdk.executor import CollectingDispatcher

    dispatcher = CollectingDispatcher()
    t = tracker(
        "build a $1200 gaming PC for a customer, in stock at my store",
        "plan_build",
        [ent("stock_scope", "store")],
        metadata={"staff": {"token": "t"}},
    )
    events = await building.build_answer(dispatcher, t)
    assert responses(dispatcher.messages) == ["utter_build"]
    slots = slots_of(events)
    assert slots["build"]["request"]["constraints"]["store_id"] == store_id
    assert set(bought(slots)) <= stocked
    assert store.name in dispatcher.messages[0]["heading"]


async def test_a_part_named_to_go_in_changes_the_build_shown(graph):
    _, slots = await say("plan me an office pc, $900", "plan_build", {})
    use = tracker("use the Ryzen 7 7700X", "product_details", slots=slots)
    assert building.takes_over(use, "product_details")
    ask = tracker("tell me about the Ryzen 7 7700X", "product_details", slots=slots)
    assert not building.takes_over(ask, "product_details")
    messages, changed = await say("use the Ryzen 7 7700X", "product_details", slots)
    assert responses(messages)[0] == "utter_build_changes"
    cpu = next(graph.products[s] for s in bought(changed) if graph.products[s].part_type == "cpu")
    assert cpu.name == "AMD Ryzen 7 7700X"


async def test_another_brand_asked_as_a_compatibility_question_changes_the_build(graph):
    _, slots = await say("an amd gaming pc for 1300 dollars", "plan_build", {})
    brand = tracker("could it be done with an intel processor instead?", "check_compatibility", slots=slots)
    assert building.takes_over(brand, "check_compatibility")
    fits = tracker("does the Ryzen 7 7700X fit this board?", "check_compatibility", slots=slots)
    assert not building.takes_over(fits, "check_compatibility")
    messages, changed = await say(
        "could it be done with an intel processor instead?", "check_compatibility", slots
    )
    assert responses(messages)[0] == "utter_build_changes"
    cpu = next(graph.products[s] for s in bought(changed) if graph.products[s].part_type == "cpu")
    assert cpu.brand == "Intel"
