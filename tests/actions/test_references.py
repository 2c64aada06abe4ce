"""References against the real catalogue: positions in English and Chinese wording, "the cheaper
one", pronouns after one product or after a list, named products (clear or ambiguous). Expected
products are taken from the list the test itself puts in `shown_skus` or from the catalogue."""

from __future__ import annotations

import pytest
from rasa_sdk.executor import CollectingDispatcher

from actions.references import ask_which, ordinal_positions, product_in_focus, resolve_products
from tests.actions.action_harness import ent, tracker


@pytest.fixture(scope="module")
def graph():
    from knowledge_graph.store import load_graph

    return load_graph(source="files")


@pytest.fixture(scope="module")
def shown(graph):
    """Three popular CPUs of different prices, as a list the bot showed."""
    cpus = [graph.products[s] for s in graph.columns.skus if graph.products[s].part_type == "cpu"]
    picked, prices = [], set()
    for p in cpus:
        if p.price not in prices:
            picked.append(p.sku)
            prices.add(p.price)
        if len(picked) == 3:
            break
    return picked


@pytest.mark.parametrize(
    "text,position",
    [
        ("is the first one in stock", 1),
        ("add the 2nd to my cart", 2),
        ("how about number 3", 3),
        ("the last one please", -1),
        ("第一款多少钱", 1),
        ("第二个有货吗", 2),
        ("第3款的参数", 3),
        ("最后一款呢", -1),
        ("第二款 in stock?", 2),
    ],
)
def test_positions_from_the_wording(text, position):
    assert ordinal_positions(tracker(text, "ask_stock")) == [position]


def test_ordinal_entities_come_first_and_the_wording_adds_what_the_nlu_missed():
    assert ordinal_positions(tracker("the second one", "ask_stock", [ent("ordinal", "2")])) == [2]
    assert ordinal_positions(
        tracker("the first and the second", "compare_products", [ent("ordinal", "2")])
    ) == [2, 1]


def test_a_position_resolves_into_the_list(graph, shown):
    t = tracker("第二款多少钱", "ask_product_attribute", slots={"shown_skus": shown})
    assert resolve_products(t, graph).skus == [shown[1]]
    assert product_in_focus(t) == shown[1]


def test_the_cheaper_one(graph, shown):
    prices = {s: graph.products[s].price for s in shown}
    t = tracker("add the cheapest one", "add_to_cart", slots={"shown_skus": shown})
    assert resolve_products(t, graph).skus == [min(prices, key=prices.get)]
    t = tracker("最贵的那款有货吗", "ask_stock", slots={"shown_skus": shown})
    assert resolve_products(t, graph).skus == [max(prices, key=prices.get)]


def test_it_after_a_list_of_several_asks_which(graph, shown):
    for text in ("add it", "这款有货吗", "它多少钱"):
        found = resolve_products(tracker(text, "add_to_cart", slots={"shown_skus": shown}), graph)
        assert found.ambiguous and found.candidates == shown, text


def test_it_after_one_product_is_that_product(graph, shown):
    t = tracker("add it", "add_to_cart", slots={"shown_skus": shown, "product_sku": shown[2]})
    assert resolve_products(t, graph).skus == [shown[2]]
    t = tracker("is it in stock", "ask_stock", slots={"shown_skus": [shown[0]]})
    assert resolve_products(t, graph).skus == [shown[0]]


def test_a_named_product_beats_the_focus(graph, shown):
    target = graph.products[shown[2]]
    t = tracker(f"is the {target.name} in stock", "ask_stock", slots={"product_sku": shown[0]})
    found = resolve_products(t, graph)
    assert target.sku in (found.skus or found.candidates)


def test_nothing_to_point_at(graph):
    found = resolve_products(tracker("add it", "add_to_cart"), graph)
    assert found.skus == [] and found.candidates == []


def test_ask_which_offers_one_button_per_candidate_and_remembers_them(graph, shown):
    dispatcher = CollectingDispatcher()
    events = ask_which(dispatcher, graph, shown, "en", "add_to_cart")
    message = dispatcher.messages[0]
    assert message["response"] == "utter_ask_which_of"
    assert [b["payload"] for b in message["buttons"]] == [f'/add_to_cart{{"sku": "{s}"}}' for s in shown]
    assert all(graph.products[s].name in message["options"] for s in shown)
    assert {e["name"]: e["value"] for e in events} == {"shown_skus": shown, "product_sku": None}


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_buttons_for_same_named_products_read_differently(graph, lang):
    """The catalogue's largest group of products sharing one name: each button shows what tells them apart."""
    by_name: dict[str, list[str]] = {}
    for sku in graph.columns.skus:
        by_name.setdefault(graph.products[sku].name, []).append(sku)
    same = max(by_name.values(), key=len)[:4]
    assert len(same) > 1
    dispatcher = CollectingDispatcher()
    ask_which(dispatcher, graph, same, lang, "ask_stock")
    titles = [b["title"] for b in dispatcher.messages[0]["buttons"]]
    assert len(set(titles)) == len(titles) and all(len(t) <= 60 for t in titles)
    assert all(graph.products[same[0]].name[:20] in t for t in titles)


def test_a_store_named_in_the_text_is_found_without_the_nlu():
    """Store names come from the shop's store data; one-word names count only capitalised in English."""
    from actions.references import store_mentioned
    from catalog import load_stores

    two_words = next(s.name for s in load_stores() if " " in s.name and s.name.isascii())
    assert store_mentioned(tracker(f"is it in stock at {two_words}?", "ask_stock")) == two_words
    assert store_mentioned(tracker(f"{two_words}店有货吗", "ask_stock")) == two_words
    assert store_mentioned(tracker("is it in stock?", "ask_stock")) is None
    assert store_mentioned(tracker("x", "ask_stock", [ent("store", "Richfield")])) == "Richfield"


@pytest.mark.parametrize(
    "text,entities,positions",
    [
        ("比较下第一和第二个", [ent("ordinal", "2")], [2, 1]),
        ("can you compare the first two", [], [1, 2]),
        ("前两个哪个好", [], [1, 2]),
        ("the 1st and the 3rd", [], [1, 3]),
    ],
)
def test_several_positions(text, entities, positions):
    assert sorted(ordinal_positions(tracker(text, "compare_products", entities))) == sorted(positions)


def test_a_position_and_a_name_make_a_pair(graph, shown):
    other = next(
        graph.products[s]
        for s in graph.columns.skus
        if graph.products[s].part_type == "motherboard"
        and sum(p.name == graph.products[s].name for p in graph.products.values()) == 1
    )
    t = tracker(f"第一个和 {other.name} 兼容吗", "check_compatibility", slots={"shown_skus": shown})
    assert resolve_products(t, graph, limit=2).skus == [shown[0], other.sku]


def test_an_amount_picks_among_same_named_products(graph):
    """ "the 2TB one" after the bot asked which of several products of one name: the one whose specs
    carry that amount (capacities read from the catalogue's spec line)."""
    from collections import Counter

    from knowledge_graph import api

    names = Counter(
        graph.products[s].name
        for s in graph.columns.skus
        if graph.products[s].part_type == "internal-hard-drive"
    )
    name = next(n for n, k in names.most_common() if k >= 2)
    same = [s for s in graph.columns.skus if graph.products[s].name == name][:4]
    lines = {s: api.spec_line(graph.products[s], "en", limit=6) for s in same}
    target, line = next(
        (s, line)
        for s, line in lines.items()
        if sum(line.split("capacity ")[-1].split(",")[0] in other for other in lines.values()) == 1
    )
    amount = line.split("capacity ")[1].split(",")[0]  # e.g. "2 TB"
    found = resolve_products(tracker(f"the {amount} one", "nlu_fallback", slots={"shown_skus": same}), graph)
    assert found.skus == [target]


def test_a_lower_case_one_word_store_name_counts_when_the_words_around_say_place():
    """Shoppers type store names in lower case: "a store in tacoma", "the kenosha store", or the name
    alone as the answer to "where?"; a one-word name inside other words stays unread. The names come
    from the stores data (one-word names that are not ordinary words)."""
    from actions.references import _WORDY_STORES, store_mentioned
    from catalog import load_stores
    from knowledge_graph.linker import ordinary_words

    names = sorted(
        s.name
        for s in load_stores()
        if s.name.isalpha() and s.name.lower() not in ordinary_words() | _WORDY_STORES
    )
    assert names
    for name in names[:20]:
        low = name.lower()
        for text in (f"got a store in {low}?", f"is the {low} store open", low):
            assert store_mentioned(tracker(text, "find_store")) == low, text
        assert store_mentioned(tracker(f"{low} keyboard reviews", "search_products")) is None


def test_a_product_line_is_marked_and_one_model_is_not(graph):
    """A graphics chipset that many differently named cards carry ("the RTX 4070") is a line (searched,
    not asked about); a product's full unique name is not. Both come from the catalogue."""
    chipsets: dict[str, set[str]] = {}
    counts: dict[str, int] = {}
    for p in graph.products.values():
        counts[p.name] = counts.get(p.name, 0) + 1
        if p.part_type == "video-card" and p.attributes.get("chipset"):
            chipsets.setdefault(str(p.attributes["chipset"]), set()).add(p.name)
    lines = sorted(c for c, names in chipsets.items() if len(names) > 12)[:5]
    assert lines
    for chipset in lines:
        found = resolve_products(tracker(f"do you have the {chipset}", "product_details"), graph)
        assert found.ambiguous and found.line, (chipset, found)
    unique = next(n for n, k in counts.items() if k == 1 and any(c.isdigit() for c in n))
    found = resolve_products(tracker(f"do you have the {unique}", "product_details"), graph)
    assert not found.line


def test_a_city_with_stores_counts_as_a_place_only_where_the_words_say_so():
    """A city no store is named after ("Brooklyn": Kings Plaza, Atlantic Center…), from the shop data."""
    from collections import Counter

    from actions.references import store_mentioned
    from catalog import load_stores

    stores = load_stores()
    names = {s.name.casefold() for s in stores}
    counts = Counter(s.city for s in stores if " " not in s.city and s.city.casefold() not in names)
    city = next(c for c, n in counts.most_common() if len(c) >= 5)
    assert store_mentioned(tracker(f"is the 4090 in stock in {city.lower()}?", "ask_stock")) == city.lower()
    assert store_mentioned(tracker(f"{city}有货吗", "ask_stock")) == city
    assert store_mentioned(tracker(f"{city} told me the 4090 is good", "ask_stock")) is None
