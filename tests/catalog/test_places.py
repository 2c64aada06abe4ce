"""Places said the way shoppers say them pick the right stores of the shop data. Expected stores are
found in the stores data by their own fields (state, address), never typed in as ids."""

from __future__ import annotations

import re

import pytest

from catalog import load_stores
from catalog.places import US_STATES, PlaceSaid, english_place, pick, places_in, zip_said
from catalog.reference import load_yaml


@pytest.fixture(scope="module")
def stores():
    return load_stores()


def shared_names(stores, at_least: int = 2) -> dict[str, list]:
    by_name: dict[str, list] = {}
    for s in stores:
        by_name.setdefault(s.name, []).append(s)
    return {n: group for n, group in by_name.items() if len({g.state for g in group}) >= at_least}


def test_every_chinese_state_name_reads_as_its_code():
    for code, names in load_yaml("places_zh.yaml")["states"].items():
        for name in names:
            assert places_in(f"{name}那家").states == (code,), name


def test_a_state_tells_stores_sharing_a_name_apart(stores):
    zh_by_code = {code: names[0] for code, names in load_yaml("places_zh.yaml")["states"].items()}
    en_by_code = {code: name for name, code in US_STATES.items()}
    checked = 0
    for name, group in shared_names(stores).items():
        for store in group:
            if store.state not in zh_by_code or sum(g.state == store.state for g in group) > 1:
                continue
            for said in (f"{zh_by_code[store.state]}那家", f"the one in {en_by_code[store.state].title()}"):
                assert pick(group, places_in(said)) == [store], (name, said)
            checked += 1
    assert checked > 10


def test_a_street_number_picks_the_store_on_that_street(stores):
    checked = 0
    for _name, group in shared_names(stores, at_least=1).items():
        if len(group) < 2:
            continue
        for store in group:
            m = re.search(r"\b(\d{1,3})(?:st|nd|rd|th) St\b", store.address)
            if not m:
                continue
            expected = [s for s in group if re.search(rf"\b{m.group(1)}(?:st|nd|rd|th) St\b", s.address)]
            assert pick(group, places_in(f"{m.group(1)}街那家")) == expected
            checked += 1
    assert checked >= 1


def test_a_chinese_city_name_is_its_english_name(stores):
    cities = {s.city for s in stores} | {s.name for s in stores}
    for english, names in load_yaml("places_zh.yaml")["places"].items():
        for name in names:
            assert english_place(name) == english
            assert places_in(f"那{name}呢").places == (english,)
        if english in cities:
            assert pick(stores, PlaceSaid(places=(english,)))


def test_a_zip_said_as_where_one_is_is_a_place_and_an_order_number_is_not():
    assert zip_said("我在11354") == "11354"
    assert zip_said("94118附近哪家店有货") == "94118"
    assert zip_said("I'm at 55425") == "55425"
    assert zip_said("订单11354到哪了") is None
    assert zip_said("order 12345 status") is None


def test_ordinary_words_are_no_states():
    assert places_in("OK, is it IN stock? tell ME").states == ()
    assert not places_in("Samsung 990 Pro 2TB")
