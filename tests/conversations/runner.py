"""The conversation suite's runner: load tests/conversations/*.yml, drive each conversation through the
live stack (REST channel for shoppers, staff channel for staff), and evaluate every turn's checks.

Every expectation is resolved from the shop data (catalog), the domain responses, the settings or the
live order service, never from the bot's code, so a check says what a shopper would expect and not
what the bot happens to do. README.md documents the format and each check.

    .venv/bin/python -m tests.conversations.runner [ID_OR_FILE_SUBSTRING ...]
    .venv/bin/python -m tests.conversations.runner --folder tests/conversations/heldout

The held-out set (heldout/) is a measure nobody tunes on: a run of it is logged in its SCORING_LOG.md
and reports counts and specification errors only, never which conversations failed or how.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import sys
import time
import uuid
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol

import httpx
import yaml

FOLDER = Path(__file__).resolve().parent
ROOT = FOLDER.parents[1]
KNOWN_FAILURES = FOLDER / "known_failures.yml"
HELDOUT = FOLDER / "heldout"
SCORING_LOG = HELDOUT / "SCORING_LOG.md"

LANGS = ("en", "zh", "mixed")
CHANNELS = ("shopper", "staff")
CHECKS = (
    "response",
    "not_response",
    "product",
    "not_product",
    "products",
    "not_products",
    "price",
    "store",
    "stock",
    "nearest_with_stock",
    "buttons",
    "asks",
    "lang",
    "order_placed",
    "cart_size",
    "handoff",
    "no_repeats",
    "faq",
    "build",
    "upgrade",
)
PRODUCT_CONSTRAINTS = (
    "category_has",
    "part_type",
    "brand",
    "name_has",
    "min_price",
    "max_price",
    "min_price_cny",
    "max_price_cny",
    "min_count",
    "attributes",
    "cheaper_than",
    "order",
)
STORE_KEYS = ("name_has", "city", "state", "zip", "id", "staff_store")
LIST_MARK = re.compile(r"^(\d{1,2}\s*[.)、．]|[-•*·])\s*")  # "1. " or "- " before a list line
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
PLACEHOLDER = re.compile(r"\{([^{}]*)\}")
NUMBERED = re.compile(r"^\s*(\d{1,2})\s*[.)、．]\s*(.+?)\s+[—–]\s+(.*)$")
ASKING = re.compile(r"\?(\s|$)|？")  # a sentence that ends with a question mark
FALLBACK = "utter_default"
HANDOFF = "utter_handoff"
STAFF_STOCK_RESPONSES = ("utter_staff_stock_here", "utter_staff_stock_nearby", "utter_staff_stock_everywhere")
LEVEL_RESPONSES = {
    "in_stock": ("utter_stock_in_stock",),
    "low": ("utter_stock_low", "utter_stock_in_stock"),
    "out": ("utter_stock_out",),
}
MANAGER = ("manager", "manager-demo")  # demo/shop.py: the demo manager sees every store
TURN_TIMEOUT_S = 60.0


# --- the suite files ----------------------------------------------------------------------------------


@dataclass
class Turn:
    text: str | None  # what the shopper types (None when the turn clicks a button)
    click: str | None = None  # the title of a button of the previous reply to click
    expect: dict[str, Any] = field(default_factory=dict)


@dataclass
class Conversation:
    id: str
    lang: str
    channel: str
    flow: str
    turns: list[Turn]
    source: str
    customer: bool = False
    staff_user: str = "manager"

    @property
    def language(self) -> str:
        """en or zh: a mixed conversation counts toward the language of its first turn."""
        if self.lang != "mixed":
            return self.lang
        first = self.turns[0].text or ""
        return "zh" if CJK.search(first) else "en"


def _conversation(raw: Any, source: str) -> Conversation:
    if not isinstance(raw, dict):
        raise ValueError(f"{source}: a conversation must be a mapping, got {raw!r}")
    cid = raw.get("id")
    where = f"{source}: {cid}"
    unknown = set(raw) - {"id", "lang", "channel", "flow", "customer", "staff_user", "turns"}
    if not isinstance(cid, str) or not cid or unknown:
        raise ValueError(f"{where}: needs a string id; unknown keys {sorted(unknown)}")
    if (
        raw.get("lang") not in LANGS
        or raw.get("channel") not in CHANNELS
        or not isinstance(raw.get("flow"), str)
    ):
        raise ValueError(f"{where}: lang must be one of {LANGS}, channel one of {CHANNELS}, flow a name")
    if "staff_user" in raw and raw["channel"] != "staff":
        raise ValueError(f"{where}: staff_user is for staff conversations")
    turns = []
    for n, t in enumerate(raw.get("turns") or [], 1):
        if not isinstance(t, dict) or set(t) - {"user", "staff", "click", "expect"}:
            raise ValueError(f"{where}: turn {n} must have user/staff/click and optionally expect, got {t!r}")
        text = t.get("user", t.get("staff"))
        if (text is None) == (t.get("click") is None):
            raise ValueError(f"{where}: turn {n} needs exactly one of user (or staff) and click")
        expect = t.get("expect") or {}
        bad = set(expect) - set(CHECKS)
        if not isinstance(expect, dict) or bad:
            raise ValueError(f"{where}: turn {n} has unknown checks {sorted(bad)} (known: {CHECKS})")
        turns.append(Turn(str(text) if text is not None else None, t.get("click"), expect))
    if not turns:
        raise ValueError(f"{where}: no turns")
    return Conversation(
        cid,
        raw["lang"],
        raw["channel"],
        raw["flow"],
        turns,
        source,
        bool(raw.get("customer", False)),
        str(raw.get("staff_user", "manager")),
    )


def load_conversations(folder: Path = FOLDER) -> list[Conversation]:
    """Every conversation of the suite files (any *.yml here with a top-level `conversations` key)."""
    result: list[Conversation] = []
    for path in sorted(folder.glob("*.yml")):
        if path == KNOWN_FAILURES:
            continue
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict) or "conversations" not in data:
            continue
        result += [_conversation(raw, path.name) for raw in data["conversations"] or []]
    seen: dict[str, str] = {}
    for c in result:
        if c.id in seen:
            raise ValueError(f"duplicate conversation id {c.id} in {seen[c.id]} and {c.source}")
        seen[c.id] = c.source
    return result


def load_known_failures(path: Path = KNOWN_FAILURES) -> dict[str, str]:
    """id -> reason of the conversations that fail today."""
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path.name} must map conversation ids to reasons")
    return {str(k): str(v) for k, v in data.items()}


# --- the shop data the checks resolve selectors from --------------------------------------------------


def normalise_space(text: str) -> str:
    return re.sub(r"\s+", " ", text or "").strip()


class ShopData:
    """Catalogue, categories, stores, domain responses and the CNY rate, loaded once."""

    def __init__(self, data_dir: Path | None = None, domain_dir: Path = ROOT / "bot" / "domain") -> None:
        self.data_dir = data_dir
        self.domain_dir = domain_dir

    @cached_property
    def products(self) -> list[Any]:
        from catalog import load_products

        return load_products(self.data_dir)

    @cached_property
    def by_sku(self) -> dict[str, Any]:
        return {p.sku: p for p in self.products}

    @cached_property
    def by_name(self) -> dict[str, list[Any]]:
        index: dict[str, list[Any]] = {}
        for p in self.products:
            index.setdefault(p.name.casefold(), []).append(p)
        return index

    @cached_property
    def categories(self) -> dict[str, Any]:
        from catalog import load_categories

        return load_categories(self.data_dir)

    @cached_property
    def stores(self) -> list[Any]:
        from catalog import load_stores

        return load_stores(self.data_dir)

    @cached_property
    def faq_answers(self) -> dict[str, list[str]]:
        """FAQ entry id -> its answers (every language), from data/faq/entries."""
        answers: dict[str, list[str]] = {}
        for path in sorted((ROOT / "data" / "faq" / "entries").glob("*.yaml")):
            for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
                if isinstance(entry, dict) and entry.get("id"):
                    answers[str(entry["id"])] = [
                        normalise_space(a) for a in (entry.get("answer") or {}).values() if a
                    ]
        return answers

    @cached_property
    def cny_per_usd(self) -> float:
        from daogou.config import get_settings

        return float(get_settings().kg_cny_per_usd)

    @cached_property
    def responses(self) -> dict[str, list[str]]:
        """Response name -> the texts of its variations (every language), from bot/domain/*.yml."""
        found: dict[str, list[str]] = {}
        for path in sorted(self.domain_dir.glob("*.yml")):
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            for name, variations in (data.get("responses") or {}).items():
                for v in variations or []:
                    if isinstance(v, dict) and isinstance(v.get("text"), str):
                        found.setdefault(name, []).append(v["text"])
        return found

    def use_domain(self, domain: dict[str, Any]) -> None:
        """Take the responses from the domain the running model was trained with (Rasa's GET /domain):
        the same bot/domain files, as they were when the model was trained, so a domain edited since
        then cannot make the checks disagree with the bot under test."""
        found: dict[str, list[str]] = {}
        for name, variations in (domain.get("responses") or {}).items():
            found[name] = [
                v["text"] for v in variations or [] if isinstance(v, dict) and isinstance(v.get("text"), str)
            ]
        if found:
            self.__dict__["responses"] = found
            self.__dict__.pop("_patterns", None)

    def response_patterns(self, name: str) -> list[re.Pattern[str]]:
        """Full-match patterns of a response's variations; placeholders become named wildcards."""
        cache = self.__dict__.setdefault("_patterns", {})
        if name not in cache:
            if name not in self.responses:
                raise KeyError(f"no response {name} in {self.domain_dir}")
            cache[name] = [template_pattern(t) for t in self.responses[name]]
        return cache[name]

    def category_words(self, product: Any) -> str:
        """What `category_has` searches: the part type and every category name on the product's path."""
        cat = self.categories.get(product.category_id)
        names = [self.categories[i].name for i in (cat.path_ids if cat else ()) if i in self.categories]
        return " | ".join([(product.part_type or "").replace("-", " "), *names]).casefold()

    # selectors ------------------------------------------------------------------------------------
    def products_named(self, words: Iterable[str]) -> list[Any]:
        words = [str(w).casefold() for w in words]
        return [p for p in self.products if all(w in p.name.casefold() for w in words)]

    def stores_matching(self, selector: dict[str, Any], staff_store: int | None = None) -> list[Any]:
        bad = set(selector) - set(STORE_KEYS)
        if bad or not selector:
            raise ValueError(f"store selector {selector!r}: keys are {STORE_KEYS}")
        result = list(self.stores)
        if selector.get("staff_store"):
            result = [s for s in result if staff_store is not None and s.id == staff_store]
        if "id" in selector:
            result = [s for s in result if s.id == int(selector["id"])]
        if "name_has" in selector:
            words = [str(w).casefold() for w in _as_list(selector["name_has"])]
            result = [s for s in result if all(w in s.name.casefold() for w in words)]
        for key in ("city", "state", "zip"):
            if key in selector:
                result = [
                    s for s in result if str(getattr(s, key)).casefold() == str(selector[key]).casefold()
                ]
        return result


def template_pattern(template: str) -> re.Pattern[str]:
    """A domain response text as a full-match regex: literal text exact (whitespace normalised, case
    ignored), each {placeholder} a lazy wildcard, captured under its name the first time it appears."""
    parts, names, pos = [], set(), 0
    text = normalise_space(template)
    for m in PLACEHOLDER.finditer(text):
        parts.append(re.escape(text[pos : m.start()]))
        name = re.sub(r"\W", "_", m.group(1))
        if name and name.isidentifier() and name not in names:
            names.add(name)
            parts.append(f"(?P<{name}>.*?)")
        else:
            parts.append(".*?")
        pos = m.end()
    parts.append(re.escape(text[pos:]))
    return re.compile("".join(parts), re.DOTALL | re.IGNORECASE)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else [value]


# --- a reply ------------------------------------------------------------------------------------------


@dataclass
class Reply:
    """The bot messages answering one turn, as the REST/staff channel returns them."""

    messages: list[dict[str, Any]]

    @property
    def texts(self) -> list[str]:
        return [m["text"] for m in self.messages if isinstance(m.get("text"), str) and m["text"].strip()]

    @property
    def text(self) -> str:
        return "\n".join(self.texts)

    def buttons(self) -> list[list[dict[str, Any]]]:
        return [m["buttons"] for m in self.messages if isinstance(m.get("buttons"), list) and m["buttons"]]

    def cards(self) -> list[dict[str, Any]]:
        """Product cards of the custom payloads (the keys bot/channels/cards.py reads)."""
        found = []
        for m in self.messages:
            custom = m.get("custom")
            items: Any = None
            if isinstance(custom, list):
                items = custom
            elif isinstance(custom, dict):
                items = next(
                    (
                        custom[k]
                        for k in ("products", "cards", "items", "elements")
                        if isinstance(custom.get(k), list)
                    ),
                    None,
                )
            found += [c for c in items or [] if isinstance(c, dict) and (c.get("name") or c.get("title"))]
        return found

    def summary(self) -> str:
        """The reply as a person reads it: texts, then card names and button titles."""
        lines = list(self.texts)
        cards = [str(c.get("name") or c.get("title")) for c in self.cards()]
        if cards:
            lines.append("[cards] " + " | ".join(cards))
        titles = [str(b.get("title")) for bs in self.buttons() for b in bs]
        if titles:
            lines.append("[buttons] " + " | ".join(titles))
        return "\n".join(lines) if lines else "(no reply)"


def listed_products(reply: Reply, data: ShopData) -> list[Any]:
    """The catalogue products a reply shows, in order: its cards, else its numbered lines."""
    shown: list[Any] = []
    for card in reply.cards():
        product = data.by_sku.get(str(card.get("sku") or ""))
        if product is None:
            same = data.by_name.get(str(card.get("name") or card.get("title") or "").casefold(), [])
            price = card.get("price")
            product = next(
                (p for p in same if price is not None and abs(p.price - float(price)) < 0.005),
                same[0] if same else None,
            )
        if product is not None:
            shown.append(product)
    if shown:
        return shown
    for text in reply.texts:
        for line in text.splitlines():
            m = NUMBERED.match(line)
            if not m:
                continue
            same = data.by_name.get(m.group(2).strip().casefold(), [])
            priced = [p for p in same if price_in(p.price, m.group(3))]
            if priced or same:
                shown.append((priced or same)[0])
    return shown


def price_in(price: float, text: str) -> bool:
    """The price appears in the text as 1,234.56 or 1234.56 (not as a part of a longer number)."""
    for form in {f"{price:,.2f}", f"{price:.2f}"}:
        if re.search(r"(?<![\d.,])" + re.escape(form) + r"(?!\d)", text):
            return True
    return False


def names_product(reply_text: str, card_names: list[str], product: Any) -> bool:
    """The reply names the product: its catalogue name (text or card) or its SKU (staff replies)."""
    name = product.name.casefold()
    return (
        name in reply_text.casefold()
        or any(name == c.casefold() for c in card_names)
        or re.search(r"(?<![\w-])" + re.escape(product.sku) + r"(?![\w-])", reply_text) is not None
    )


# --- services the checks ask --------------------------------------------------------------------------


class Services(Protocol):
    def stock(self, sku: str, store_id: int) -> dict[str, Any] | None: ...
    def nearest(self, sku: str, lat: float, lon: float, limit: int) -> list[int]: ...
    def order_ids(self, customer_id: str) -> set[int]: ...
    def cart(self, sender: str) -> list[Any]: ...


@dataclass
class State:
    """What the checks know about the conversation so far."""

    sender: str
    customer_id: str | None = None
    orders_before: set[int] = field(default_factory=set)
    staff_store: int | None = None
    last_list: list[Any] = field(default_factory=list)  # products of the last reply that listed >= 2
    last_reply: Reply | None = None


# --- the checks ---------------------------------------------------------------------------------------


class Checker:
    """Evaluates the `expect` of one turn against a reply; each check returns None or why it failed."""

    def __init__(self, data: ShopData, services: Services | None) -> None:
        self.data = data
        self.services = services

    def evaluate(self, expect: dict[str, Any], reply: Reply, state: State) -> list[str]:
        failures = []
        if not reply.messages:
            return ["no reply at all"]
        if not expect:
            expect = {"not_response": [FALLBACK]}
        for key, arg in expect.items():
            try:
                problem = getattr(self, f"check_{key}")(arg, reply, state)
            except (httpx.HTTPError, KeyError, ValueError, TypeError) as exc:
                problem = f"{key}: cannot evaluate ({exc!r})"
            if problem:
                failures.append(problem)
        return failures

    # helpers --------------------------------------------------------------------------------------
    def matching(self, names: Iterable[str], reply: Reply) -> list[tuple[str, re.Match[str]]]:
        """(response, match) for each message text that is one of these responses."""
        found = []
        for text in reply.texts:
            norm = normalise_space(text)
            for name in names:
                m = next((m for p in self.data.response_patterns(name) if (m := p.fullmatch(norm))), None)
                if m:
                    found.append((name, m))
        return found

    def products(self, selector: Any, state: State) -> list[Any]:
        if not isinstance(selector, dict) or len(selector) != 1:
            raise ValueError(f"product selector {selector!r}: one of name_has, sku, shown")
        ((key, value),) = selector.items()
        if key == "name_has":
            return self.data.products_named(_as_list(value))
        if key == "sku":
            return [self.data.by_sku[str(value)]] if str(value) in self.data.by_sku else []
        if key == "shown":
            shown = state.last_list
            if not shown:
                return []
            if value == "cheapest":
                return [min(shown, key=lambda p: p.price)]
            if value == "priciest":
                return [max(shown, key=lambda p: p.price)]
            if value == "last":
                return [shown[-1]]
            n = int(value)
            return [shown[n - 1]] if 1 <= n <= len(shown) else []
        raise ValueError(f"product selector {selector!r}: one of name_has, sku, shown")

    def stores(self, selector: Any, state: State) -> list[Any]:
        if not isinstance(selector, dict):
            raise ValueError(f"store selector {selector!r} must be a mapping")
        return self.data.stores_matching(selector, state.staff_store)

    def satisfies(self, product: Any, constraints: dict[str, Any], state: State | None = None) -> bool:
        for key, value in constraints.items():
            if key in ("min_count", "order"):
                continue
            if key == "attributes" and any(
                str(product.attributes.get(k, "")).casefold() not in {str(w).casefold() for w in _as_list(v)}
                for k, v in dict(value).items()
            ):
                return False  # a list of values: any of them (a chip and its Ti variant)
            if key == "cheaper_than":
                reference = self.products(value, state or State(""))
                if not reference or product.price >= max(p.price for p in reference) - 0.005:
                    return False
            if key == "category_has" and str(value).casefold() not in self.data.category_words(product):
                return False
            if key == "part_type" and (product.part_type or "") != str(value):
                return False
            if key == "brand" and (product.brand or "").casefold() != str(value).casefold():
                return False
            if key == "name_has" and not all(
                str(w).casefold() in product.name.casefold() for w in _as_list(value)
            ):
                return False
            if key == "min_price" and product.price < float(value) - 0.005:
                return False
            if key == "max_price" and product.price > float(value) + 0.005:
                return False
            if key == "min_price_cny" and product.price < float(value) / self.data.cny_per_usd - 0.005:
                return False
            if key == "max_price_cny" and product.price > float(value) / self.data.cny_per_usd + 0.005:
                return False
        return True

    @staticmethod
    def _constraints(arg: Any) -> dict[str, Any]:
        bad = set(arg) - set(PRODUCT_CONSTRAINTS) if isinstance(arg, dict) else {"?"}
        if bad:
            raise ValueError(f"product constraints {arg!r}: keys are {PRODUCT_CONSTRAINTS}")
        return arg

    # the checks -----------------------------------------------------------------------------------
    def check_response(self, arg: Any, reply: Reply, state: State) -> str | None:
        names = _as_list(arg)
        if self.matching(names, reply):
            return None
        return f"response: none of {names}"

    def check_not_response(self, arg: Any, reply: Reply, state: State) -> str | None:
        found = self.matching(_as_list(arg), reply)
        return f"not_response: replied {found[0][0]}" if found else None

    def check_product(self, arg: Any, reply: Reply, state: State) -> str | None:
        if isinstance(arg, list):  # several products, each must be named
            return next((p for p in (self.check_product(a, reply, state) for a in arg) if p), None)
        candidates = self.products(arg, state)
        if not candidates:
            return f"product: {arg} selects no product" + (
                " (no list shown before)" if "shown" in arg else ""
            )
        cards = [str(c.get("name") or c.get("title")) for c in reply.cards()]
        if any(names_product(reply.text, cards, p) for p in candidates):
            return None
        return f"product: does not name {_describe(candidates)}"

    def check_not_product(self, arg: Any, reply: Reply, state: State) -> str | None:
        cards = [str(c.get("name") or c.get("title")) for c in reply.cards()]
        named = [p for p in self.products(arg, state) if names_product(reply.text, cards, p)]
        return f"not_product: names {named[0].name}" if named else None

    def check_products(self, arg: Any, reply: Reply, state: State) -> str | None:
        constraints = self._constraints(arg)
        shown = listed_products(reply, self.data)
        need = int(constraints.get("min_count", 1))
        if len(shown) < need:
            return f"products: listed {len(shown)} catalogue product(s), expected at least {need}"
        wrong = [p for p in shown if not self.satisfies(p, constraints, state)]
        if wrong:
            return f"products: {len(wrong)}/{len(shown)} listed do not satisfy {arg}, e.g. {_one(wrong[0], self.data)}"
        order = constraints.get("order")
        if order not in (None, "cheapest_first", "priciest_first"):
            raise ValueError(f"order must be cheapest_first or priciest_first, got {order!r}")
        prices = [p.price for p in shown]
        if order and prices != sorted(prices, reverse=order == "priciest_first"):
            return f"products: not listed {order.replace('_', ' ')}: {prices[:6]}"
        return None

    def check_not_products(self, arg: Any, reply: Reply, state: State) -> str | None:
        constraints = self._constraints(arg)
        wrong = [p for p in listed_products(reply, self.data) if self.satisfies(p, constraints, state)]
        return f"not_products: {_one(wrong[0], self.data)} is {arg}" if wrong else None

    def check_price(self, arg: Any, reply: Reply, state: State) -> str | None:
        candidates = self.products(arg, state)
        if not candidates:
            return f"price: {arg} selects no product"
        if any(price_in(p.price, reply.text) for p in candidates):
            return None
        return f"price: no price of {_describe(candidates)} ({', '.join(f'{p.price:.2f}' for p in candidates[:4])})"

    def check_store(self, arg: Any, reply: Reply, state: State) -> str | None:
        stores = self.stores(arg, state)
        if not stores:
            return f"store: {arg} selects no store"
        text = reply.text.casefold()
        if any(s.name.casefold() in text for s in stores):
            return None
        return f"store: does not name {sorted({s.name for s in stores})[:3]}"

    def check_stock(self, arg: Any, reply: Reply, state: State) -> str | None:
        if not isinstance(arg, dict) or set(arg) != {"product", "store"}:
            raise ValueError("stock needs product and store selectors")
        products, stores = self.products(arg["product"], state), self.stores(arg["store"], state)
        if not products or not stores:
            return f"stock: the selectors select {len(products)} product(s), {len(stores)} store(s)"
        if self.services is None:
            raise ValueError("stock needs the order service")
        seen = []
        for text in reply.texts:
            low = text.casefold()
            named_p = [p for p in products if names_product(text, [], p)]
            named_s = [s for s in stores if s.name.casefold() in low]
            for p in named_p:
                for s in named_s:
                    level = self.services.stock(p.sku, s.id)
                    seen.append(f"{p.sku}@{s.id}={level and level.get('level')}")
                    if level is not None and self.stock_consistent(text, s, level):
                        return None
        if not seen:
            return f"stock: no message names both {_describe(products)} and {sorted({s.name for s in stores})[:2]}"
        return f"stock: the wording does not agree with the order service ({', '.join(seen[:4])})"

    def stock_consistent(self, text: str, store: Any, level: dict[str, Any]) -> bool:
        reply = Reply([{"text": text}])
        if self.matching(LEVEL_RESPONSES.get(str(level.get("level")), ()), reply):
            return True
        quantities = {str(q) for q in (level.get("on_hand"), level.get("available")) if q is not None}
        for _, m in self.matching(("utter_stock_exact",), reply):
            if (m.groupdict().get("quantity") or "").strip() in quantities:
                return True
        if self.matching(STAFF_STOCK_RESPONSES, reply):
            for line in text.splitlines():
                if store.name.casefold() in line.casefold() and set(re.findall(r"\d+", line)) & quantities:
                    return True
        return False

    def check_nearest_with_stock(self, arg: Any, reply: Reply, state: State) -> str | None:
        if not isinstance(arg, dict) or not {"product", "store"} <= set(arg):
            raise ValueError("nearest_with_stock needs product and store selectors")
        products, stores = self.products(arg["product"], state), self.stores(arg["store"], state)
        if not products or not stores:
            return (
                f"nearest_with_stock: the selectors select {len(products)} product(s), {len(stores)} store(s)"
            )
        if self.services is None:
            raise ValueError("nearest_with_stock needs the order service")
        limit = int(arg.get("limit", 3))
        by_id = {s.id: s for s in self.data.stores}
        origin_names = {s.name.casefold() for s in stores}
        expected: set[str] = set()
        for p in products[:8]:
            for s in stores[:3]:
                expected |= {
                    by_id[i].name
                    for i in self.services.nearest(p.sku, s.lat, s.lon, limit + 1)
                    if i in by_id and i != s.id
                }
        expected = {n for n in expected if n.casefold() not in origin_names}
        if not expected:
            return "nearest_with_stock: the order service knows no other store with it"
        text = reply.text.casefold()
        if any(n.casefold() in text for n in expected):
            return None
        return f"nearest_with_stock: names none of {sorted(expected)[:4]}"

    def check_buttons(self, arg: Any, reply: Reply, state: State) -> str | None:
        need = int(arg.get("min", 1)) if isinstance(arg, dict) else 1
        most = max((len(b) for b in reply.buttons()), default=0)
        if arg is False:
            return "buttons: offered buttons" if most else None
        return None if most >= need else f"buttons: {most} button(s), expected at least {need}"

    def check_asks(self, arg: Any, reply: Reply, state: State) -> str | None:
        asks = bool(reply.buttons()) or any(ASKING.search(t) for t in reply.texts)
        return (
            None if asks == bool(arg) else ("asks: the reply asks nothing" if arg else "asks: the reply asks")
        )

    def check_lang(self, arg: Any, reply: Reply, state: State) -> str | None:
        has_cjk = bool(CJK.search(reply.text))
        if arg == "zh":
            return None if has_cjk else "lang: the reply has no Chinese"
        if arg == "en":
            return "lang: the reply has Chinese" if has_cjk else None
        raise ValueError(f"lang must be en or zh, got {arg!r}")

    def check_order_placed(self, arg: Any, reply: Reply, state: State) -> str | None:
        if self.services is None or state.customer_id is None:
            raise ValueError("order_placed needs the order service and the conversation's customer")
        new = self.services.order_ids(state.customer_id) - state.orders_before
        if bool(new) == bool(arg):
            return None
        return "order_placed: no new order" if arg else f"order_placed: order(s) {sorted(new)} were placed"

    def check_build(self, arg: Any, reply: Reply, state: State) -> str | None:
        """A complete PC build in the reply's cards: the essential roles, a total within the budget
        (max_total in USD or max_total_cny), every pair allowed by the knowledge graph's compatibility
        rules, a power supply covering the whole build's estimated draw with the rules' headroom, and
        optionally the CPU's brand (cpu_brand)."""
        from catalog import part_rules as compat

        arg = arg if isinstance(arg, dict) else {}
        parts = listed_products(reply, self.data)
        kinds = {p.part_type for p in parts}
        missing = sorted(
            {"cpu", "motherboard", "memory", "internal-hard-drive", "power-supply", "case"} - kinds
        )
        if missing:
            return f"build: no {', '.join(missing)} among {len(parts)} listed part(s)"
        budget = arg.get("max_total")
        if "max_total_cny" in arg:
            budget = float(arg["max_total_cny"]) / self.data.cny_per_usd
        total = round(sum(p.price for p in parts), 2)
        if budget is not None and total > float(budget) + 0.005:
            return f"build: total {total} over the budget {float(budget):.2f}"
        for i, a in enumerate(parts):
            for b in parts[i + 1 :]:
                if "power-supply" in (a.part_type, b.part_type):
                    continue  # power is a rule of the whole build (below), not of one pair
                if compat.check(a, b).compatible is False:
                    return f"build: {a.name} and {b.name} do not fit together"
        psu = next((p for p in parts if p.part_type == "power-supply"), None)
        need = compat.recommended_psu(*compat.estimated_draw(parts))
        if psu is None or float(psu.attributes.get("wattage") or 0) < need:
            return f"build: the power supply gives less than the {need} W the build needs"
        brand = arg.get("cpu_brand")
        cpu = next((p for p in parts if p.part_type == "cpu"), None)
        if brand and (cpu is None or str(cpu.brand).casefold() != str(brand).casefold()):
            return f"build: CPU {cpu.name if cpu else None} is not {brand}"
        return None

    def check_upgrade(self, arg: Any, reply: Reply, state: State) -> str | None:
        """Parts offered for a PC the shopper has: every listed product is of the part type asked
        (`part_type`), within the budget (max_total / max_total_cny), fits every owned part
        (`have`: product selectors) by the compatibility rules, and leaves the owned power supply
        (`psu_w`) enough for the whole PC's estimated draw with the rules' headroom."""
        from catalog import part_rules as compat

        parts = listed_products(reply, self.data)
        if not parts:
            return "upgrade: no product listed"
        budget = arg.get("max_total")
        if "max_total_cny" in arg:
            budget = float(arg["max_total_cny"]) / self.data.cny_per_usd
        have = [p for sel in _as_list(arg.get("have") or []) for p in self.products(sel, state)]
        for part in parts:
            if part.part_type != arg["part_type"]:
                return f"upgrade: {part.name} is a {part.part_type}, not a {arg['part_type']}"
            if budget is not None and part.price > float(budget) + 0.005:
                return f"upgrade: {part.name} costs {part.price}, over {float(budget):.2f}"
            for owned in have:
                if compat.check(part, owned).compatible is False:
                    return f"upgrade: {part.name} does not fit {owned.name}"
            if "psu_w" in arg:
                need = compat.recommended_psu(*compat.estimated_draw([*have, part]))
                if need > float(arg["psu_w"]):
                    return f"upgrade: with {part.name} the PC needs {need} W, more than {arg['psu_w']} W"
        return None

    def check_cart_size(self, arg: Any, reply: Reply, state: State) -> str | None:
        if self.services is None:
            raise ValueError("cart_size needs the tracker")
        lines = [
            line
            for line in self.services.cart(state.sender)
            if isinstance(line, dict) and line.get("sku") and int(line.get("qty") or 0) > 0
        ]
        return None if len(lines) == int(arg) else f"cart_size: {len(lines)} line(s), expected {arg}"

    def check_handoff(self, arg: Any, reply: Reply, state: State) -> str | None:
        handed = bool(self.matching([HANDOFF], reply))
        return (
            None
            if handed == bool(arg)
            else ("handoff: not handed to a person" if arg else "handoff: handed off")
        )

    def check_no_repeats(self, arg: Any, reply: Reply, state: State) -> str | None:
        lines = [
            LIST_MARK.sub("", normalise_space(line))
            for t in reply.texts
            for line in t.splitlines()
            if line.strip()
        ]
        repeated = sorted({line for line in lines if lines.count(line) > 1})
        return f"no_repeats: repeated line {repeated[0]!r}" if repeated and arg else None

    def check_faq(self, arg: Any, reply: Reply, state: State) -> str | None:
        ids = [str(i) for i in _as_list(arg)]
        unknown = [i for i in ids if i not in self.data.faq_answers]
        if unknown:
            raise ValueError(f"no FAQ entries {unknown} in data/faq/entries")
        text = normalise_space(reply.text).casefold()
        if any(a.casefold() in text for i in ids for a in self.data.faq_answers[i]):
            return None
        return f"faq: the reply is not the answer of {ids}"


def _describe(products: list[Any]) -> str:
    names = sorted({p.name for p in products})
    return ", ".join(names[:3]) + (f" (+{len(names) - 3} more)" if len(names) > 3 else "")


def _one(product: Any, data: ShopData) -> str:
    return f"{product.name} (${product.price:.2f}, {data.category_words(product).split(' | ')[-1]})"


# --- the live services ----------------------------------------------------------------------------


class LiveServices:
    """The order service (as the demo manager and as the action server) and Rasa's tracker API."""

    def __init__(
        self, rasa_url: str, orders_url: str, service_token: str, database: Path, rasa_api_token: str = ""
    ) -> None:
        self.rasa_url, self.orders_url, self.database = rasa_url.rstrip("/"), orders_url.rstrip("/"), database
        self.service_token = service_token
        self.rasa_api = {"token": rasa_api_token}  # Rasa's HTTP API is open only to its token
        self.http = httpx.Client(timeout=TURN_TIMEOUT_S, trust_env=False)
        self._tokens: dict[str, tuple[str, int | None]] = {}
        self._stock: dict[tuple[str, int], dict[str, Any] | None] = {}
        self._customers: list[str] | None = None
        self._next_customer = 0

    def close(self) -> None:
        self.http.close()

    def domain(self) -> dict[str, Any]:
        r = self.http.get(
            f"{self.rasa_url}/domain", headers={"Accept": "application/json"}, params=self.rasa_api
        )
        r.raise_for_status()
        return r.json()

    # staff ------------------------------------------------------------------------------------------
    def staff_login(self, who: str) -> tuple[str, int | None]:
        """(token, store id) of the demo manager, the first demo associate, or a named demo account."""
        if who not in self._tokens:
            from demo.shop import DEMO_PASSWORDS

            username = who
            if who == "associate":
                with sqlite3.connect(self.database) as db:
                    row = db.execute(
                        "SELECT username FROM staff_users WHERE role = 'associate' AND active "
                        "ORDER BY store_id LIMIT 1"
                    ).fetchone()
                if row is None:
                    raise RuntimeError("the demo database has no associate")
                username = row[0]
            role = "associate" if username.startswith("assoc-") else username
            password = MANAGER[1] if username == MANAGER[0] else DEMO_PASSWORDS.get(role, "")
            r = self.http.post(
                f"{self.orders_url}/auth/staff/token", json={"username": username, "password": password}
            )
            r.raise_for_status()
            body = r.json()
            self._tokens[who] = (body["access_token"], (body.get("staff") or {}).get("store_id"))
        return self._tokens[who]

    def _manager(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.staff_login('manager')[0]}"}

    # checks ------------------------------------------------------------------------------------------
    def stock(self, sku: str, store_id: int) -> dict[str, Any] | None:
        key = (sku, store_id)
        if key not in self._stock:
            r = self.http.get(f"{self.orders_url}/stores/{store_id}/stock/{sku}", headers=self._manager())
            self._stock[key] = r.json() if r.status_code == 200 else None
        return self._stock[key]

    def nearest(self, sku: str, lat: float, lon: float, limit: int) -> list[int]:
        r = self.http.get(
            f"{self.orders_url}/stock/{sku}/nearest",
            headers=self._manager(),
            params={"lat": lat, "lon": lon, "limit": min(limit, 50)},
        )
        if r.status_code != 200:
            return []
        return [
            int(s.get("id") or s.get("location_id") or (s.get("store") or {}).get("id") or -1)
            for s in r.json().get("stores", [])
        ]

    def order_ids(self, customer_id: str) -> set[int]:
        headers = {"Authorization": f"Bearer {self.service_token}", "X-Customer-Id": customer_id}
        r = self.http.get(f"{self.orders_url}/orders", headers=headers, params={"limit": 100})
        r.raise_for_status()
        return {int(o["id"]) for o in r.json().get("orders", [])}

    def cart(self, sender: str) -> list[Any]:
        r = self.http.get(f"{self.rasa_url}/conversations/{sender}/tracker", params=self.rasa_api)
        r.raise_for_status()
        return list((r.json().get("slots") or {}).get("cart") or [])

    # customers ---------------------------------------------------------------------------------------
    def resolve_customer(self, sender: str) -> str:
        """The customer the actions will act for on this REST sender (created on first contact)."""
        r = self.http.post(
            f"{self.orders_url}/customers/resolve",
            json={"channel": "web", "external_id": sender},
            headers={"Authorization": f"Bearer {self.service_token}"},
        )
        r.raise_for_status()
        return str(r.json()["customer_id"])

    def demo_customers(self) -> list[str]:
        """Customers with orders, asked of the order service: the ones with an order that can still be
        cancelled and one that can be returned first, then by number of orders."""
        if self._customers is None:
            stats: dict[str, dict[str, int]] = {}
            for status in ("pending", "confirmed", "ready_for_pickup", "shipped", "completed"):
                offset = 0
                while offset < 3000:
                    r = self.http.get(
                        f"{self.orders_url}/staff/orders",
                        headers=self._manager(),
                        params={"status": status, "limit": 100, "offset": offset},
                    )
                    r.raise_for_status()
                    rows = r.json().get("orders", [])
                    for o in rows:
                        stats.setdefault(str(o["customer_id"]), {}).setdefault(status, 0)
                        stats[str(o["customer_id"])][status] += 1
                    if len(rows) < 100:
                        break
                    offset += 100

            def rank(item: tuple[str, dict[str, int]]) -> tuple[int, int, str]:
                cid, s = item
                cancellable = bool(s.get("pending") or s.get("confirmed"))
                return (-(cancellable + bool(s.get("completed"))), -sum(s.values()), cid)

            self._customers = [cid for cid, _ in sorted(stats.items(), key=rank)[:25]]
            if not self._customers:
                raise RuntimeError("the order service lists no customer with orders")
        return self._customers

    def map_sender_to_customer(self, sender: str) -> str:
        """Map a fresh REST sender id to the next demo customer: the channel identity row that
        POST /customers/resolve reads, added to the stack's own copy of the database."""
        customers = self.demo_customers()
        customer = customers[self._next_customer % len(customers)]
        self._next_customer += 1
        with sqlite3.connect(self.database, timeout=30) as db:
            db.execute(
                "INSERT INTO customer_identities (id, channel, external_id, customer_id) "
                "VALUES ((SELECT COALESCE(MAX(id), 0) + 1 FROM customer_identities), 'web', ?, ?)",
                (sender, customer),
            )
        return customer

    # the channels ------------------------------------------------------------------------------------
    def say(self, convo: Conversation, sender: str, text: str) -> Reply:
        if convo.channel == "staff":
            token = self.staff_login(convo.staff_user)[0]
            r = self.http.post(
                f"{self.rasa_url}/webhooks/staff/webhook",
                json={"message": text},
                headers={"Authorization": f"Bearer {token}"},
            )
        else:
            r = self.http.post(
                f"{self.rasa_url}/webhooks/rest/webhook", json={"sender": sender, "message": text}
            )
        r.raise_for_status()
        return Reply(r.json() or [])

    def staff_sender(self, convo: Conversation) -> str:
        r = self.http.get(
            f"{self.orders_url}/auth/staff/me",
            headers={"Authorization": f"Bearer {self.staff_login(convo.staff_user)[0]}"},
        )
        r.raise_for_status()
        return f"staff-{r.json()['staff_id']}"


# --- running a conversation -------------------------------------------------------------------------


@dataclass
class TurnResult:
    user: str
    passed: bool
    failures: list[str]
    reply: str
    seconds: float


@dataclass
class ConversationResult:
    id: str
    lang: str
    language: str
    channel: str
    flow: str
    source: str
    passed: bool
    failed_turn: int | None = None  # 1-based
    failed_user: str | None = None
    reasons: list[str] = field(default_factory=list)
    reply: str | None = None
    turns: list[TurnResult] = field(default_factory=list)

    def explain(self) -> str:
        if self.passed:
            return f"{self.id}: passed"
        return (
            f"{self.id} ({self.source}) failed at turn {self.failed_turn}: {self.failed_user!r}\n  why: "
            + "\n       ".join(self.reasons)
            + "\n  bot: "
            + (self.reply or "").replace("\n", "\n       ")
        )


def _click(reply: Reply | None, title: str) -> str | None:
    for buttons in reply.buttons() if reply else []:
        for b in buttons:
            if title.casefold() in str(b.get("title", "")).casefold() and b.get("payload"):
                return str(b["payload"])
    return None


def run_conversation(convo: Conversation, services: LiveServices, checker: Checker) -> ConversationResult:
    result = ConversationResult(
        convo.id, convo.lang, convo.language, convo.channel, convo.flow, convo.source, True
    )
    try:
        if convo.channel == "staff":
            sender = services.staff_sender(convo)
            services.say(convo, sender, "/restart")  # the staff channel keys the conversation by the member
            state = State(sender, staff_store=services.staff_login(convo.staff_user)[1])
        else:
            sender = f"conv-{uuid.uuid4().hex[:16]}"
            customer = (
                services.map_sender_to_customer(sender)
                if convo.customer
                else services.resolve_customer(sender)
            )
            state = State(sender, customer, services.order_ids(customer))
    except (httpx.HTTPError, RuntimeError, sqlite3.Error) as exc:
        result.passed, result.failed_turn, result.reasons = False, 0, [f"setup failed: {exc!r}"]
        return result
    for n, turn in enumerate(convo.turns, 1):
        text = turn.text if turn.text is not None else _click(state.last_reply, turn.click or "")
        started = time.perf_counter()
        if text is None:
            reply, failures = Reply([]), [f"click: the previous reply has no button {turn.click!r}"]
        else:
            try:
                reply = services.say(convo, sender, text)
                failures = checker.evaluate(turn.expect, reply, state)
            except httpx.HTTPError as exc:
                reply, failures = Reply([]), [f"the channel failed: {exc!r}"]
        result.turns.append(
            TurnResult(
                text or f"[click {turn.click}]",
                not failures,
                failures,
                reply.summary(),
                round(time.perf_counter() - started, 3),
            )
        )
        if failures:
            result.passed, result.failed_turn, result.failed_user = False, n, text or f"[click {turn.click}]"
            result.reasons, result.reply = failures, reply.summary()
            break
        listed = listed_products(reply, checker.data)
        if len(listed) >= 2:
            state.last_list = listed
        state.last_reply = reply
    return result


WARM_UP = (
    "hello",
    "an AMD CPU under $300",
    "is the first one in stock at Mall of America?",
    "how do returns work?",
    "你好",
    "300美元以下的AMD处理器",
)


def warm_up(services: LiveServices) -> None:
    """A throwaway conversation first, so that no conversation of the suite pays for the first model calls
    and the action server's first loads (graph, indexes): the suite measures answers, not start-up."""
    probe = Conversation("warm-up", "en", "shopper", "warm-up", [], "-")
    sender = f"warmup-{uuid.uuid4().hex[:12]}"
    for text in WARM_UP:
        try:
            services.say(probe, sender, text)
        except httpx.HTTPError:
            pass


def run_suite(
    conversations: list[Conversation] | None = None, stack: Any = None, progress: bool = True
) -> list[ConversationResult]:
    """Run conversations (default: the whole suite) against `stack` (a stack.LiveStack; default: start
    one for the run and stop it afterwards)."""
    conversations = load_conversations() if conversations is None else conversations
    if stack is None:
        from tests.conversations.stack import live_stack

        with live_stack() as started:
            return run_suite(conversations, started, progress)
    services = LiveServices(
        stack.rasa_url, stack.orders_url, stack.service_token, stack.database, stack.rasa_api_token
    )
    checker = Checker(ShopData(), services)
    results = []
    try:
        checker.data.use_domain(services.domain())
        warm_up(services)
        for i, convo in enumerate(conversations, 1):
            result = run_conversation(convo, services, checker)
            results.append(result)
            if progress:
                mark = "ok  " if result.passed else f"FAIL@{result.failed_turn}"
                print(f"[{i}/{len(conversations)}] {mark} {convo.id}", flush=True)
    finally:
        services.close()
    return results


def known_failure_reason(result: ConversationResult) -> str:
    """One line for known_failures.yml: where the conversation breaks, why, and what the bot said."""
    said = normalise_space((result.reply or "").splitlines()[0] if result.reply else "")
    return (
        f"turn {result.failed_turn} {result.failed_user!r}: {result.reasons[0] if result.reasons else '?'}"
        f" | bot: {said[:90]}"
    )


def write_known_failures(results: list[ConversationResult], path: Path = KNOWN_FAILURES) -> None:
    """known_failures.yml from a run: every failing conversation with the reason it fails today."""
    lines = [
        "# Conversations that fail today (strict xfail in test_conversations.py): id -> where and why.",
        "# Written from a run of the suite (`python -m tests.conversations.runner --write-known-failures`);",
        "# take an entry off when its conversation passes.",
        "",
    ]
    for r in sorted((r for r in results if not r.passed), key=lambda r: (r.source, r.id)):
        lines.append(f"{r.id}: {json.dumps(known_failure_reason(r), ensure_ascii=False)}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def heldout_scored(log: Path = SCORING_LOG) -> int:
    """How many times the held-out set has been scored: the numbered rows of its log."""
    if not log.exists():
        return 0
    return sum(1 for line in log.read_text(encoding="utf-8").splitlines() if re.match(r"\|\s*\d+\s*\|", line))


def log_heldout_scoring(results: list[ConversationResult], how: str, log: Path = SCORING_LOG) -> int:
    """Append a scoring of the held-out set to its log (date, commit, counts) and return its number: every
    look at the set is counted, so its figures say how much it can still be trusted."""
    import subprocess

    commit = (
        subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        ).stdout.strip()
        or "?"
    )
    dirty = subprocess.run(
        ["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    number = heldout_scored(log)
    groups = {
        "en": [r for r in results if r.channel == "shopper" and r.language == "en"],
        "zh": [r for r in results if r.channel == "shopper" and r.language == "zh"],
        "staff": [r for r in results if r.channel == "staff"],
    }
    counts = " ".join(f"{k} {sum(r.passed for r in v)}/{len(v)}" for k, v in groups.items())
    row = (
        f"| {number} | {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} | {commit}{'+' if dirty else ''} "
        f"| {sum(r.passed for r in results)}/{len(results)} ({counts}) | {how} |"
    )
    with log.open("a", encoding="utf-8") as out:
        out.write(row + "\n")
    return number


SPEC_ERROR = re.compile(r"selects no|the selectors select|cannot evaluate|has no button|setup failed")


def spec_errors(result: ConversationResult) -> list[str]:
    """The reasons of a failure that are the conversation's own fault (a selector that selects nothing, an
    unknown response or FAQ entry, a check that cannot be evaluated), not the assistant's."""
    return [r for r in result.reasons if SPEC_ERROR.search(r)]


def main(argv: list[str]) -> int:
    write_known = "--write-known-failures" in argv
    argv = [a for a in argv if a != "--write-known-failures"]
    folder = FOLDER
    if "--folder" in argv:
        i = argv.index("--folder")
        if i + 1 >= len(argv):
            raise SystemExit("--folder needs a folder of conversation files")
        folder = Path(argv[i + 1]).resolve()
        argv = argv[:i] + argv[i + 2 :]
    heldout = folder == HELDOUT.resolve()
    if write_known and (argv or folder != FOLDER):
        raise SystemExit("--write-known-failures needs the whole main suite (no filters, no --folder)")
    convos = load_conversations(folder)
    if argv:
        convos = [c for c in convos if any(a in c.id or a in c.source for a in argv)]
    held = os.environ.get("CONVERSATIONS_STACK_JSON")
    stack = None
    if held:  # a stack held up by `python -m tests.conversations.stack FILE`
        from tests.conversations.stack import LiveStack

        raw = json.loads(Path(held).read_text(encoding="utf-8"))
        stack = LiveStack(
            raw["rasa_url"],
            raw["orders_url"],
            Path(raw["database"]),
            Path(raw["workdir"]),
            raw["service_token"],
            float(raw["startup_s"]),
            raw.get("rasa_api_token", ""),
        )
    results = run_suite(convos, stack, progress=not heldout)
    for r in results:
        if heldout:  # only what is the set's own fault: the assistant's failures stay unseen
            for reason in spec_errors(r):
                print(f"{r.id}: possible spec error: {reason}")
        elif not r.passed:
            print(r.explain())
    passed = sum(r.passed for r in results)
    print(f"{passed}/{len(results)} conversations passed")
    if heldout:
        number = log_heldout_scoring(results, "runner" + (f" {' '.join(argv)}" if argv else ""))
        print(f"held-out scoring #{number} logged in {SCORING_LOG.relative_to(ROOT)}")
    if write_known:
        write_known_failures(results)
        print(f"wrote {KNOWN_FAILURES}")
    out = Path("/tmp") / f"conversations-{uuid.uuid4().hex[:6]}.json"
    out.write_text(json.dumps([asdict(r) for r in results], indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"details: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
