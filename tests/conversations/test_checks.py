"""Fast tests of the conversation checks (no stack): selectors resolve from the shop data, a reply that
names the wrong product or lists the wrong kind of product fails, and the suite files themselves are
well-formed (every selector selects something real, every response and FAQ entry exists)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conversations.runner import (
    CHECKS,
    Checker,
    Reply,
    ShopData,
    State,
    listed_products,
    load_conversations,
    load_known_failures,
    price_in,
)

DATA = ShopData()


class FakeServices:
    """Stands in for the order service: stock levels and orders set by the test."""

    def __init__(
        self,
        levels: dict[tuple[str, int], dict[str, Any]] | None = None,
        orders: set[int] | None = None,
        cart: list[Any] | None = None,
    ) -> None:
        self.levels, self.orders, self.cart_lines = levels or {}, orders or set(), cart or []

    def stock(self, sku: str, store_id: int) -> dict[str, Any] | None:
        return self.levels.get((sku, store_id))

    def nearest(self, sku: str, lat: float, lon: float, limit: int) -> list[int]:
        return []

    def order_ids(self, customer_id: str) -> set[int]:
        return self.orders

    def cart(self, sender: str) -> list[Any]:
        return self.cart_lines


def fill(response: str, variation: int = 0, **values: str) -> str:
    """A domain response's text with its placeholders filled, as the bot would send it."""
    template = DATA.responses[response][variation]
    return re.sub(r"\{([^{}]*)\}", lambda m: values.get(m.group(1), "x"), template)


def cards(products: list[Any]) -> dict[str, Any]:
    return {
        "custom": {
            "type": "product_cards",
            "products": [{"name": p.name, "sku": p.sku, "price": p.price} for p in products],
        }
    }


def checker(services: Any = None) -> Checker:
    return Checker(DATA, services or FakeServices())


def amd_cpus(max_price: float) -> list[Any]:
    return sorted(
        (p for p in DATA.products if p.part_type == "cpu" and p.brand == "AMD" and p.price <= max_price),
        key=lambda p: p.sku,
    )


def one(name: str) -> Any:
    return next(p for p in DATA.products if p.name == name)


# --- selectors and checks --------------------------------------------------------------------------


def test_name_selector_resolves_from_the_catalogue() -> None:
    found = checker().products({"name_has": ["ryzen 7", "7800X3D"]}, State("s"))
    assert found and all("7800x3d" in p.name.casefold() for p in found)
    assert checker().products({"name_has": ["no such product xyz"]}, State("s")) == []


def test_product_check_fails_for_the_wrong_product() -> None:
    c, state = checker(), State("s")
    right, wrong = one("AMD Ryzen 7 7800X3D"), one("Logitech G502 Hero")
    selector = {"name_has": ["Ryzen 7 7800X3D"]}
    assert (
        c.evaluate(
            {"product": selector}, Reply([{"text": f"{right.name} costs ${right.price:,.2f}."}]), state
        )
        == []
    )
    failures = c.evaluate(
        {"product": selector}, Reply([{"text": f"{wrong.name} costs ${wrong.price:,.2f}."}]), state
    )
    assert failures and failures[0].startswith("product:")
    # a card naming it counts as naming it
    assert c.evaluate({"product": selector}, Reply([{"text": "Here you go:", **cards([right])}]), state) == []


def test_products_constraints_are_checked_on_every_listed_product() -> None:
    c, state = checker(), State("s")
    listed = amd_cpus(300)[:4]
    assert len(listed) == 4
    expect = {"products": {"part_type": "cpu", "brand": "AMD", "max_price": 300}}
    assert c.evaluate(expect, Reply([{"text": "Here:", **cards(listed)}]), state) == []
    intruder = next(p for p in DATA.products if p.part_type == "cpu" and p.brand == "Intel")
    assert c.evaluate(expect, Reply([{"text": "Here:", **cards(listed + [intruder])}]), state)
    pricey = next(p for p in DATA.products if p.part_type == "cpu" and p.brand == "AMD" and p.price > 300)
    assert c.evaluate(expect, Reply([{"text": "Here:", **cards(listed + [pricey])}]), state)
    # a reply that lists nothing does not pass a list check
    assert c.evaluate(expect, Reply([{"text": "Sorry, I didn't get that."}]), state)


def test_category_and_order_constraints() -> None:
    c, state = checker(), State("s")
    gpus = sorted((p for p in DATA.products if p.part_type == "video-card"), key=lambda p: p.price)[:3]
    assert (
        c.evaluate(
            {"products": {"category_has": "graphics cards", "order": "cheapest_first"}},
            Reply([cards(gpus)]),
            state,
        )
        == []
    )
    assert c.evaluate({"products": {"order": "cheapest_first"}}, Reply([cards(list(reversed(gpus)))]), state)
    reader = next(p for p in DATA.products if "card reader" in p.name.casefold())
    assert c.evaluate({"not_products": {"category_has": "memory card"}}, Reply([cards(gpus)]), state) == []
    assert c.evaluate({"products": {"part_type": "video-card"}}, Reply([cards(gpus + [reader])]), state)
    # a list of attribute values is any of them
    two = [
        gpus[0],
        next(
            p
            for p in DATA.products
            if p.part_type == "video-card"
            and p.attributes.get("chipset") != gpus[0].attributes.get("chipset")
        ),
    ]
    chips = [str(p.attributes.get("chipset")) for p in two]
    assert c.evaluate({"products": {"attributes": {"chipset": chips}}}, Reply([cards(two)]), state) == []
    assert c.evaluate({"products": {"attributes": {"chipset": chips[:1]}}}, Reply([cards(two)]), state)


def test_cny_budget_is_converted_with_the_configured_rate() -> None:
    c, state = checker(), State("s")
    cap_usd = 3000 / DATA.cny_per_usd
    under = [p for p in DATA.products if p.part_type == "video-card" and p.price <= cap_usd][:3]
    over = next(p for p in DATA.products if p.part_type == "video-card" and cap_usd < p.price <= 3000)
    assert c.evaluate({"products": {"max_price_cny": 3000}}, Reply([cards(under)]), state) == []
    assert c.evaluate({"products": {"max_price_cny": 3000}}, Reply([cards(under + [over])]), state)


def test_shown_selectors_use_the_last_list() -> None:
    c = checker()
    listed = amd_cpus(300)[:3]
    state = State("s", last_list=listed)
    second, cheapest = listed[1], min(listed, key=lambda p: p.price)
    assert c.evaluate({"product": {"shown": 2}}, Reply([{"text": f"{second.name}: details"}]), state) == []
    assert (
        c.evaluate({"product": {"shown": 2}}, Reply([{"text": f"{listed[0].name}: details"}]), state)
        or listed[0].name.casefold() in second.name.casefold()
    )
    assert (
        c.evaluate({"price": {"shown": "cheapest"}}, Reply([{"text": f"only ${cheapest.price:,.2f}"}]), state)
        == []
    )
    # no list shown yet: "the second one" cannot be right
    assert c.evaluate({"product": {"shown": 2}}, Reply([{"text": f"{second.name}"}]), State("s"))


def test_listed_products_read_numbered_lines_when_there_are_no_cards() -> None:
    listed = amd_cpus(300)[:2]
    text = "Here:\n" + "\n".join(
        f"{i}. {p.name} — ${p.price:,.2f} (cores 6)" for i, p in enumerate(listed, 1)
    )
    assert [p.sku for p in listed_products(Reply([{"text": text}]), DATA)] == [p.sku for p in listed]


def test_price_formats() -> None:
    assert price_in(1234.5, "costs $1,234.50.") and price_in(1234.5, "售价1234.50美元")
    assert not price_in(234.5, "costs $1,234.50") and not price_in(34.5, "$34.55")


def test_response_check_matches_the_domain_variations() -> None:
    c, state = checker(), State("s")
    out_en = fill("utter_stock_out", 0, product="AMD Ryzen 7 7800X3D", store="Mall of America")
    out_zh = fill("utter_stock_out", 1, product="AMD Ryzen 7 7800X3D", store="Mall of America")
    assert c.evaluate({"response": "utter_stock_out"}, Reply([{"text": out_en}]), state) == []
    assert c.evaluate({"response": "utter_stock_out"}, Reply([{"text": out_zh}]), state) == []
    assert c.evaluate({"response": "utter_stock_in_stock"}, Reply([{"text": out_en}]), state)
    assert c.evaluate({"not_response": ["utter_stock_out"]}, Reply([{"text": out_en}]), state)
    assert c.evaluate({}, Reply([{"text": fill("utter_default")}]), state), (
        "a fallback never passes a bare turn"
    )
    assert c.evaluate({}, Reply([]), state) == ["no reply at all"]


def test_stock_check_agrees_with_the_order_service() -> None:
    product, store = one("AMD Ryzen 7 7800X3D"), next(s for s in DATA.stores if s.name == "Mall of America")
    expect = {
        "stock": {"product": {"name_has": ["Ryzen 7 7800X3D"]}, "store": {"name_has": ["Mall of America"]}}
    }
    out = Reply([{"text": fill("utter_stock_out", product=product.name, store=store.name)}])
    in_stock = Reply(
        [
            {
                "text": fill(
                    "utter_stock_in_stock", product=product.name, store=store.name, address=store.address
                )
            }
        ]
    )
    service_out = FakeServices({(product.sku, store.id): {"level": "out", "on_hand": 0, "available": 0}})
    service_in = FakeServices(
        {(product.sku, store.id): {"level": "in_stock", "on_hand": 12, "available": 12}}
    )
    assert checker(service_out).evaluate(expect, out, State("s")) == []
    assert checker(service_out).evaluate(expect, in_stock, State("s"))
    assert checker(service_in).evaluate(expect, in_stock, State("s")) == []
    exact = Reply(
        [
            {
                "text": fill(
                    "utter_stock_exact", store=store.name, quantity="12", product=product.name, reserved="0"
                )
            }
        ]
    )
    wrong = Reply(
        [
            {
                "text": fill(
                    "utter_stock_exact", store=store.name, quantity="3", product=product.name, reserved="0"
                )
            }
        ]
    )
    assert checker(service_in).evaluate(expect, exact, State("s")) == []
    assert checker(service_in).evaluate(expect, wrong, State("s"))
    # staff replies name the SKU and the exact figures
    staff = {
        q: Reply(
            [
                {
                    "text": fill(
                        "utter_staff_stock_here",
                        store=store.name,
                        sku=product.sku,
                        available=q,
                        on_hand=q,
                        reserved="0",
                    )
                }
            ]
        )
        for q in ("12", "3")
    }
    assert checker(service_in).evaluate(expect, staff["12"], State("s")) == []
    assert checker(service_in).evaluate(expect, staff["3"], State("s"))


def test_store_order_cart_and_question_checks() -> None:
    state = State("s", customer_id="c-1", orders_before={1, 2})
    twin = Reply([{"text": "1. Union Square, 52 E 14th St\n2. Union Square, 52 E 14th St"}])
    assert checker().evaluate({"store": {"name_has": ["Union Square"]}}, twin, state) == []
    assert checker().evaluate({"no_repeats": True}, twin, state)
    assert checker().evaluate({"store": {"name_has": ["Mall of America"]}}, twin, state)
    assert checker(FakeServices(orders={1, 2, 3})).evaluate({"order_placed": True}, twin, state) == []
    assert checker(FakeServices(orders={1, 2})).evaluate({"order_placed": True}, twin, state)
    assert checker(FakeServices(orders={1, 2})).evaluate({"order_placed": False}, twin, state) == []
    assert checker(FakeServices(cart=[{"sku": "x", "qty": 2}])).evaluate({"cart_size": 1}, twin, state) == []
    assert checker(FakeServices(cart=[])).evaluate({"cart_size": 1}, twin, state)
    assert (
        checker().evaluate({"asks": True}, Reply([{"text": "Which store? Tell me its name."}]), state) == []
    )
    assert checker().evaluate({"asks": True}, Reply([{"text": "Done."}]), state)
    assert (
        checker().evaluate(
            {"buttons": {"min": 2}},
            Reply([{"text": "Pick", "buttons": [{"title": "a"}, {"title": "b"}]}]),
            state,
        )
        == []
    )
    assert checker().evaluate({"lang": "zh"}, Reply([{"text": "Sorry"}]), state)
    assert checker().evaluate({"handoff": True}, Reply([{"text": fill("utter_handoff_failed")}]), state)
    assert checker().evaluate({"handoff": True}, Reply([{"text": fill("utter_handoff")}]), state) == []


def test_faq_check_reads_the_answer_from_the_data() -> None:
    answer = DATA.faq_answers["returns-policy"][0]
    assert checker().evaluate({"faq": "returns-policy"}, Reply([{"text": answer}]), State("s")) == []
    assert checker().evaluate({"faq": "shipping-cost"}, Reply([{"text": answer}]), State("s"))


# --- the suite files -------------------------------------------------------------------------------

CONVERSATIONS = load_conversations()


def _selectors(expect: dict[str, Any]) -> tuple[list[Any], list[Any]]:
    products, stores = [], []
    for key, arg in expect.items():
        if key in ("product", "not_product", "price"):
            products += arg if isinstance(arg, list) else [arg]
        elif key == "store":
            stores.append(arg)
        elif key in ("stock", "nearest_with_stock"):
            products.append(arg["product"])
            stores.append(arg["store"])
        elif key in ("products", "not_products") and "cheaper_than" in arg:
            products.append(arg["cheaper_than"])
    return products, stores


def test_the_suite_is_big_enough_and_well_formed() -> None:
    english = [c for c in CONVERSATIONS if c.source.startswith("en_")]
    assert len(english) >= 80
    assert all(c.language == "en" for c in english)
    bad = [f"{c.id}: {len(c.turns)} turns" for c in CONVERSATIONS if not 2 <= len(c.turns) <= 6]
    assert not bad, bad


@pytest.mark.parametrize("convo", CONVERSATIONS, ids=lambda c: c.id)
def test_every_selector_selects_something_real(convo: Any) -> None:
    assert_expectations_are_real(convo)


def assert_expectations_are_real(convo: Any) -> None:
    """Every selector of the conversation selects something, every response and FAQ entry exists (also
    used for the held-out set, test_heldout_format.py)."""
    c = checker()
    for n, turn in enumerate(convo.turns, 1):
        assert set(turn.expect) <= set(CHECKS)
        products, stores = _selectors(turn.expect)
        for sel in products:
            if "shown" not in sel:
                assert c.products(sel, State("s")), f"turn {n}: {sel} selects no catalogue product"
        for sel in stores:
            if not sel.get("staff_store"):
                assert c.stores(sel, State("s")), f"turn {n}: {sel} selects no store"
        for key in ("response", "not_response"):
            for name in (
                [turn.expect[key]] if isinstance(turn.expect.get(key), str) else turn.expect.get(key) or []
            ):
                assert name in DATA.responses, f"turn {n}: no domain response {name}"
        for entry in (
            [turn.expect["faq"]] if isinstance(turn.expect.get("faq"), str) else turn.expect.get("faq") or []
        ):
            assert entry in DATA.faq_answers, f"turn {n}: no FAQ entry {entry}"
        if "lang" in turn.expect:
            assert turn.expect["lang"] in ("en", "zh")


def test_known_failures_name_real_conversations() -> None:
    """A stale entry would hide nothing and mislead whoever reads the list."""
    stale = set(load_known_failures()) - {c.id for c in CONVERSATIONS}
    assert not stale, sorted(stale)


def test_the_loader_refuses_malformed_conversations(tmp_path: Any) -> None:
    """A typo in a check name would otherwise make a turn pass without checking anything."""
    good = {
        "id": "x-1",
        "lang": "en",
        "channel": "shopper",
        "flow": "f",
        "turns": [{"user": "hi", "expect": {"response": "utter_greet"}}, {"user": "bye"}],
    }
    import yaml

    (tmp_path / "ok.yml").write_text(yaml.safe_dump({"conversations": [good]}), encoding="utf-8")
    assert [c.id for c in load_conversations(tmp_path)] == ["x-1"]
    for broken in (
        {**good, "turns": [{"user": "hi", "expect": {"respons": "utter_greet"}}]},  # unknown check
        {**good, "lang": "fr"},
        {**good, "turns": [{"expect": {}}]},  # no text
        {**good, "staff_user": "associate"},
    ):  # staff user on a shopper
        (tmp_path / "bad.yml").write_text(yaml.safe_dump({"conversations": [broken]}), encoding="utf-8")
        with pytest.raises(ValueError):
            load_conversations(tmp_path)
    (tmp_path / "bad.yml").write_text(yaml.safe_dump({"conversations": [good]}), encoding="utf-8")
    with pytest.raises(ValueError, match="duplicate"):
        load_conversations(tmp_path)
