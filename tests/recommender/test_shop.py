from __future__ import annotations

import re
import string

import pandas as pd
import pytest

from catalog.models import Product as P
from recommender.baskets import BasketStats
from recommender.content import ContentIndex
from recommender.shop import (
    REASON_TEMPLATES,
    Reason,
    ShopConfig,
    ShopRecommender,
    get_shop_recommender,
    load_model,
    save_model,
    train_shop_model,
)
from tests.recommender.conftest import make_lines

PRODUCTS = [
    P("cpu-a", "Acme X5 CPU", "Acme", 200, "c-cpu", "cpu", {"socket": "AM5", "core_count": 8}),
    P("cpu-b", "Acme X7 CPU", "Acme", 320, "c-cpu", "cpu", {"socket": "AM5", "core_count": 12}),
    P("cpu-i", "Intyl Core CPU", "Intyl", 300, "c-cpu", "cpu", {"socket": "LGA1700", "core_count": 12}),
    P(
        "mb-am5",
        "Boardco B650 board",
        "Boardco",
        150,
        "c-mb",
        "motherboard",
        {"socket": "AM5", "memory_type": "DDR5"},
    ),
    P(
        "mb-1700",
        "Boardco Z790 board",
        "Boardco",
        220,
        "c-mb",
        "motherboard",
        {"socket": "LGA1700", "memory_type": "DDR5"},
    ),
    P("ram-5", "Memco 32 GB DDR5", "Memco", 100, "c-ram", "memory", {"memory_type": "DDR5", "capacity": 32}),
    P("ram-4", "Memco 16 GB DDR4", "Memco", 50, "c-ram", "memory", {"memory_type": "DDR4", "capacity": 16}),
    P("mouse", "Clicky mouse", "Clicky", 20, "c-mouse", "mouse", {"wireless": True}),
    P(
        "new-cpu", "Acme X9 CPU", "Acme", 450, "c-cpu", "cpu", {"socket": "AM5", "core_count": 16}
    ),  # never ordered
]
NAMES = {"c-cpu": "Processors", "c-mb": "Motherboards", "c-ram": "Memory", "c-mouse": "Mice"}


def history() -> pd.DataFrame:
    rows = []
    n = 0
    for i in range(30):  # builders: cpu-a + mb-am5 + ram-5 together
        n += 1
        rows += [
            (f"b{i}", f"o{n}", s, 1, 100.0, f"2026-0{1 + i % 8}-1{i % 9}")
            for s in ("cpu-a", "mb-am5", "ram-5")
        ]
    for i in range(10):  # intel builders
        n += 1
        rows += [(f"i{i}", f"o{n}", s, 1, 100.0, f"2026-0{1 + i % 8}-2{i % 9}") for s in ("cpu-i", "mb-1700")]
    for i in range(25):  # mouse buyers, some also bought a cpu-b later
        n += 1
        rows.append((f"m{i}", f"o{n}", "mouse", 1, 20.0, "2026-08-01"))
        if i % 2:
            n += 1
            rows.append((f"m{i}", f"o{n}", "cpu-b", 1, 320.0, "2026-08-20"))
    n += 1
    rows.append(("solo", f"o{n}", "cpu-a", 1, 200.0, "2026-08-25"))
    return make_lines(rows)


@pytest.fixture(scope="module")
def model():
    return train_shop_model(history(), PRODUCTS, NAMES, ShopConfig(als_min_customers=5, als_factors=4))


def test_reason_templates_render_in_both_languages():
    params = {"item": "X", "sku": "x", "times": "2", "confidence": "40", "category": "Mice"}
    for key, texts in REASON_TEMPLATES.items():
        assert set(texts) == {"en", "zh"}
        en, zh = Reason(key, params).text("en"), Reason(key, params).text("zh")
        assert "{" not in en + zh and en != zh
        assert re.search(r"[\u4e00-\u9fff]", zh), key
    assert Reason("popular_now").text("fr") == "Popular right now"
    fields = lambda t: {f for _, f, _, _ in string.Formatter().parse(t) if f}  # noqa: E731
    assert all(fields(t["en"]) == fields(t["zh"]) for t in REASON_TEMPLATES.values())


def test_content_similarity_prefers_same_socket_and_brand():
    index = ContentIndex.build(PRODUCTS)
    similar = [s for s, _ in index.similar("new-cpu", k=3)]
    assert similar[0] in {"cpu-a", "cpu-b"} and "cpu-i" == similar[-1]
    assert all(index.groups[index.sku_index[s]] == "cpu" for s in similar)
    with pytest.raises(KeyError):
        index.similar("nope")


def test_basket_rules_by_hand():
    lines = make_lines(
        [
            ("a", "1", "x", 1, 1.0, "2026-01-01"),
            ("a", "1", "y", 1, 1.0, "2026-01-01"),
            ("b", "2", "x", 1, 1.0, "2026-01-02"),
            ("b", "2", "y", 1, 1.0, "2026-01-02"),
            ("c", "3", "x", 1, 1.0, "2026-01-03"),
            ("d", "4", "z", 1, 1.0, "2026-01-04"),
        ]
    )
    rules = BasketStats.from_lines(lines).rules_for("x", min_together=2)
    assert len(rules) == 1
    r = rules[0]
    assert (r.consequent, r.together) == ("y", 2)
    assert r.support == pytest.approx(2 / 4) and r.confidence == pytest.approx(2 / 3)
    assert r.lift == pytest.approx((2 / 3) / (2 / 4))
    assert BasketStats.from_lines(lines).rules_for("x", min_together=3) == []


def test_recommend_for_customer_personal_and_filtered(model):
    rec = ShopRecommender(model)
    out = rec.recommend_for_customer("solo", k=3)
    skus = [r.sku for r in out]
    assert "cpu-a" not in skus  # already bought (durable goods)
    assert skus[0] in {"mb-am5", "ram-5"}  # what builders bought with cpu-a
    assert out[0].reason.key == "because_you_bought" and out[0].reason.params["sku"] == "cpu-a"
    # out of stock everywhere: never recommended
    no_board = ShopRecommender(model, in_stock=lambda s: s != "mb-am5").recommend_for_customer("solo", k=3)
    assert "mb-am5" not in [r.sku for r in no_board]


def test_cart_context_and_compatibility(model):
    def compatible(sku: str, cart) -> bool:
        sockets = {p.sku: p.attributes.get("socket") for p in PRODUCTS}
        return not any(sockets.get(sku) and sockets.get(c) and sockets[sku] != sockets[c] for c in cart)

    rec = ShopRecommender(model, compatible_with_cart=compatible)
    out = rec.recommend_for_customer(None, cart=["cpu-i"], k=3)
    skus = [r.sku for r in out]
    assert skus[0] == "mb-1700" and out[0].reason.key == "goes_with_cart"
    assert "mb-am5" not in skus and not {"cpu-a", "cpu-b", "new-cpu"} & set(
        skus
    )  # no alternatives to the cart's CPU
    viewed = rec.recommend_for_customer(None, viewed=["cpu-a"], k=4)
    assert "cpu-a" not in [r.sku for r in viewed]
    assert viewed[0].reason.key in {"because_you_viewed"}


def test_anonymous_and_category_floor(model):
    rec = ShopRecommender(model)
    out = rec.recommend_for_customer(k=2)
    assert [r.sku for r in out][0] in {"cpu-a", "mb-am5", "ram-5", "mouse"}
    assert out[0].reason.key in {"popular_in_category", "popular_now"}
    ram = rec.recommend_for_customer(k=2, category_id="c-ram")
    assert [r.sku for r in ram] == ["ram-5", "ram-4"]  # ram-4 was never ordered: the catalogue floor adds it
    assert ram[1].reason.text("en") == "Popular in Memory"
    with pytest.raises(ValueError):
        rec.recommend_for_customer(k=0)


def test_similar_items_work_for_new_items(model):
    rec = ShopRecommender(model)
    new = rec.similar_items("new-cpu", k=3)
    assert [r.sku for r in new][:2] in (["cpu-b", "cpu-a"], ["cpu-a", "cpu-b"])
    assert new[0].reason.key == "similar_to" and new[0].reason.params["item"] == "Acme X9 CPU"
    assert all(
        r.sku not in {"mb-am5", "ram-5"} for r in rec.similar_items("cpu-a")
    )  # accessories are not "similar"
    with pytest.raises(KeyError):
        rec.similar_items("nope")


def test_bought_together(model):
    rec = ShopRecommender(model)
    out = rec.bought_together("cpu-a", k=5)
    assert {o.sku for o in out} == {"mb-am5", "ram-5"}
    board = next(o for o in out if o.sku == "mb-am5")
    n_orders = history()["order_id"].nunique()
    assert board.together == 30 and board.support == pytest.approx(30 / n_orders, abs=1e-6)
    assert board.confidence == pytest.approx(30 / 31, abs=1e-4)  # 31 orders have cpu-a
    assert board.lift > 1 and "often" in board.reason.text("en").lower()
    filtered = ShopRecommender(model, compatible_with_cart=lambda s, cart: s != "ram-5").bought_together(
        "cpu-a"
    )
    assert [o.sku for o in filtered] == ["mb-am5"]
    with pytest.raises(ValueError):
        rec.bought_together("cpu-a", by="magic")


def test_save_load_and_fingerprint(model, tmp_path):
    path = save_model(model, tmp_path)
    assert model.fingerprint in path.name
    loaded = load_model(tmp_path)
    assert loaded.fingerprint == model.fingerprint
    rec = get_shop_recommender(directory=tmp_path)
    assert [r.sku for r in rec.recommend_for_customer("solo", k=2)] == [
        r.sku for r in ShopRecommender(model).recommend_for_customer("solo", k=2)
    ]
    other = train_shop_model(
        history().iloc[:-1], PRODUCTS, NAMES, ShopConfig(als_min_customers=5, als_factors=4)
    )
    assert other.fingerprint != model.fingerprint
    with pytest.raises(FileNotFoundError):
        load_model(tmp_path / "empty")


def test_ready_made_filters(model):
    from catalog.part_rules import check
    from recommender.filters import cart_compatibility, in_stock_from_snapshot

    by_sku = {p.sku: p for p in PRODUCTS}
    fits = cart_compatibility(by_sku, check)
    assert fits("mb-am5", ["cpu-a"]) and not fits("mb-1700", ["cpu-a"])
    assert fits("unknown", ["cpu-a"]) and fits("mb-1700", ["unknown"])
    rec = ShopRecommender(model, in_stock=in_stock_from_snapshot(["mb-1700"]), compatible_with_cart=fits)
    out = [r.sku for r in rec.recommend_for_customer(None, cart=["cpu-i"], k=3)]
    assert "mb-1700" not in out and "mb-am5" not in out  # out of stock / wrong socket


def test_no_answer_ever_contains_an_unavailable_or_incompatible_item(model):
    """Every question, for every shopper and context: items out of stock everywhere never appear,
    and nothing returned with a cart conflicts with it (here: a socket other than the cart CPU's)."""
    sockets = {p.sku: p.attributes.get("socket") for p in PRODUCTS}

    def compatible(sku: str, cart) -> bool:
        return not any(sockets.get(sku) and sockets.get(c) and sockets[sku] != sockets[c] for c in cart)

    gone = {"mb-am5", "ram-5"}
    rec = ShopRecommender(model, in_stock=lambda s: s not in gone, compatible_with_cart=compatible)
    customers = [None, "solo", "b0", "i0", "m1"]
    for cart in ([], ["cpu-i"], ["cpu-a"]):
        answers = [r.sku for c in customers for r in rec.recommend_for_customer(c, cart=cart, k=8)]
        answers += [r.sku for p in PRODUCTS for r in rec.similar_items(p.sku, k=8, cart=cart)]
        answers += [r.sku for p in PRODUCTS for r in rec.bought_together(p.sku, k=8, cart=cart)]
        assert answers and not gone & set(answers)
        assert all(compatible(s, cart) for s in answers), cart
        assert all(
            r.reason.text(lang) and "\n" not in r.reason.text(lang)
            for c in customers
            for r in rec.recommend_for_customer(c, cart=cart)
            for lang in ("en", "zh")
        )
