"""What a message points at: the one place where "the first one", "第一款", "it", "这款", "the
cheaper one", a product named by (part of) its name, a card button's SKU and "there" are resolved.

Every action that needs "which product?" or "which store?" asks `resolve_products` / `store_in_focus`,
so a reference works the same in a stock question, an add-to-cart and a detail question, in either
language and across a language switch (an English list, then "第二款多少钱").

Resolution order, first that applies: SKUs from buttons; positions in the last list shown
(ordinal entities, or the wording itself when the NLU missed it); "the cheaper/cheapest one" over the
last list; products named in the message (knowledge_graph.linker: one clear match is taken, several
equal ones are returned as candidates to ask about, preferring those in the last list); then a
pronoun or no reference at all: the product in focus, the only product shown, or — after a list of
several — the list as candidates, so the caller asks which instead of guessing."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from rapidfuzz import fuzz
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import services
from actions.cards import MAX_CARDS, button_titles, cards_payload, listing
from actions.common import entity_values
from catalog import load_stores, places
from catalog.models import Product, Store
from knowledge_graph import api
from knowledge_graph.graph import ProductGraph
from knowledge_graph.linker import link
from knowledge_graph.parse import PhraseIndex, find_keywords
from order_service.client import OrderServiceError
from order_service.schemas import StoreOut

# Chinese numerals one to ten (positions here, quantities in actions.shopping_cart)
ZH_NUMBERS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
_EN_ORDINALS = {
    "first": 1,
    "1st": 1,
    "second": 2,
    "2nd": 2,
    "third": 3,
    "3rd": 3,
    "fourth": 4,
    "4th": 4,
    "fifth": 5,
    "5th": 5,
    "last": -1,
    "top": 1,
}
_EN_ORDINAL = re.compile(
    r"(?i)\b(first|1st|second|2nd|third|3rd|fourth|4th|fifth|5th|last)\b(?!\s+(?:time|order|thing))"
    r"|\b(?:number|no\.?|#|option|item)\s*([1-9])\b|\b(top)\s+one\b"
)
_ZH_ORDINAL = re.compile(
    r"第\s*([一二两三四五六七八九十\d]+)\s*(?:个|款|台|件|块|条|只|张|项|种|套|把|副|款式|家|号)?"
    r"|(最后|末尾)\s*(?:一)?\s*(?:个|款|台|件|块|家)|(头)一?(?:个|款|台)"
)
_COUNT = {"two": 2, "three": 3, "four": 4, "2": 2, "3": 3, "4": 4, "两": 2, "二": 2, "三": 3, "四": 4}
_FIRST_N = re.compile(r"(?i)\b(?:first|top)\s+(two|three|four|2|3|4)\b|前\s*([两二三四])\s*(?:个|款|台)")
_CHEAPER = re.compile(
    r"(?i)\b(cheaper|cheapest|least expensive|lower[- ]priced|less expensive)\b|便宜的?那|最便宜|便宜点的那|更便宜的那|便宜一点的那"
)
_PRICIER = re.compile(
    r"(?i)\b(pricier|priciest|more expensive|most expensive|higher[- ]priced)\b|贵的?那|最贵|贵一点的那|更贵的那"
)
_PICKS = re.compile(r"(?i)\bwhich\b|\bones?\b|哪|那个|那款|的那|这几")
_ONE = re.compile(r"(?i)\bones?\b|那个|那款|的那|哪个|哪款")


def _zh_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    if text.startswith("十"):
        return 10 + ZH_NUMBERS.get(text[1:], 0)
    if len(text) == 1:
        return ZH_NUMBERS.get(text)
    return None


def ordinal_positions(tracker: Tracker) -> list[int]:
    """1-based positions (-1 = last) the message names, in order: the NLU's ordinal entities and the
    wording ("第一和第二个", "the first two", "the 2nd"), since the NLU often tags only some of them."""
    positions: list[int] = []
    for value in entity_values(tracker, "ordinal"):
        try:
            positions.append(int(value))
        except (TypeError, ValueError):
            word = str(value).lower().strip()
            if word in _EN_ORDINALS:
                positions.append(_EN_ORDINALS[word])
    text = tracker.latest_message.get("text") or ""
    found: list[tuple[int, int]] = []  # (where in the text, position)
    for m in _EN_ORDINAL.finditer(text):
        word = (m.group(1) or m.group(3) or "").lower()
        found.append((m.start(), _EN_ORDINALS[word] if word else int(m.group(2))))
    for m in _ZH_ORDINAL.finditer(text):
        if m.group(1):
            n = _zh_number(m.group(1))
            if n:
                found.append((m.start(), n))
        elif m.group(2):
            found.append((m.start(), -1))
        elif m.group(3):
            found.append((m.start(), 1))
    if m := _FIRST_N.search(text):  # "the first two", "前两个"
        count = _COUNT.get(m.group(1) or m.group(2), 0)
        found.extend((m.start(), n) for n in range(1, count + 1))
    for _, position in sorted(found):
        if position not in positions:
            positions.append(position)
    return positions


def _at(shown: Sequence[str], position: int) -> str | None:
    index = position - 1 if position > 0 else position
    return shown[index] if -len(shown) <= index < len(shown) else None


@dataclass(frozen=True)
class Resolved:
    """The products a message points at. Empty `skus` with `candidates` means: ask which one."""

    skus: list[str]
    candidates: list[str] = field(default_factory=list)
    source: str = "none"  # sku | ordinal | superlative | mention | focus | list | none
    named: bool = False  # a product name appeared in the message, resolved or not
    line: bool = False  # the name is a product line, more models than a "which one?" can list

    @property
    def ambiguous(self) -> bool:
        return not self.skus and bool(self.candidates)


def shown_skus(tracker: Tracker, graph: ProductGraph) -> list[str]:
    return [s for s in (tracker.get_slot("shown_skus") or []) if s in graph.products]


def price_pick(text: str, skus: Sequence[str], graph: ProductGraph) -> str | None:
    """ "the cheaper one", "which is the cheapest?", "最便宜的是哪个", "the most expensive one" over a
    list: only with a word that picks one ("one", "which", 哪/那个); a bare "cheaper" asks for a
    cheaper search, not for one of these."""
    if len(skus) < 2 or not _PICKS.search(text):
        return None
    if _CHEAPER.search(text):
        return min(skus, key=lambda s: graph.products[s].price)
    if _PRICIER.search(text):
        return max(skus, key=lambda s: graph.products[s].price)
    return None


_SPEC_SAID = re.compile(r"(?i)(?<![\w.])(\d+(?:\.\d+)?)\s*(tb|t|gb|g|w|hz|mm)(?![a-z])")
_UNIT = {"t": "TB", "tb": "TB", "g": "GB", "gb": "GB", "w": "W", "hz": "Hz", "mm": "mm"}


PICK_ONE = re.compile(r"(?i)\b(?:the|that)\s+\w+\s+one\b(?!s)|那款|那个|那台|这款|这个")


def spec_pick(text: str, skus: Sequence[str], graph: ProductGraph) -> str | None:
    """ "the 2TB one", "2T的那个", "the 750 W one", "the white one": the one product of a list whose
    specs carry every amount or named value the message gives (how same-named products differ)."""
    said = _SPEC_SAID.findall(text)
    if (
        len(skus) >= 2 and not said and PICK_ONE.search(text)
    ):  # "the white one", "黑色那款" (not "white ones")
        filters, _, _ = find_keywords(text, graph.products[skus[0]].part_type)
        fits = [s for s in skus if filters and all(f.matches(graph.products[s].attributes) for f in filters)]
        return fits[0] if len(fits) == 1 else None
    if len(skus) < 2 or not said:
        return None
    wanted = [
        re.compile(r"(?<![\d.,])" + re.escape(f"{float(n):g}") + r"\s*" + _UNIT[u.lower()] + r"\b")
        for n, u in said
    ]
    fits = [s for s in skus if all(w.search(api.spec_line(graph.products[s], "en", limit=6)) for w in wanted)]
    return fits[0] if len(fits) == 1 else None


def resolve_products(tracker: Tracker, graph: ProductGraph, limit: int = 1) -> Resolved:
    """The products the latest message points at (see the module docstring for the order)."""
    text = tracker.latest_message.get("text") or ""
    shown = shown_skus(tracker, graph)
    skus = list(
        dict.fromkeys(
            str(v).upper() for v in entity_values(tracker, "sku") if str(v).upper() in graph.products
        )
    )
    if skus:
        return Resolved(skus[:limit], source="sku")
    picked = list(dict.fromkeys(s for p in ordinal_positions(tracker) if shown and (s := _at(shown, p))))
    if picked and (len(picked) >= limit or limit == 1):
        return Resolved(picked[:limit], source="ordinal")
    pick = price_pick(text, shown, graph)
    if pick:
        return Resolved([pick], source="superlative")
    pick = spec_pick(text, shown, graph) if _ONE.search(text) or len(text) <= 12 else None
    if pick:
        return Resolved([pick], source="ordinal")
    mentions = link(graph, text, limit=max(limit, 2))
    resolved: list[str] = list(picked)  # "第一个和 Asus PRIME B650-PLUS WIFI 兼容吗": a position and a name
    ambiguous: list[str] = []
    line = False
    for mention in mentions:
        in_list = [s for s in mention.candidates if s in shown]
        if mention.clear:
            resolved.append(mention.sku)
        elif len(in_list) == 1:
            resolved.append(in_list[0])
        elif not ambiguous:
            ambiguous = in_list or list(mention.candidates)
            line = mention.line and not in_list
    if ambiguous and len(resolved) < limit and (not resolved or limit == 1):
        return Resolved([], ambiguous, "mention", named=True, line=line)
    if picked and len(resolved) == len(picked):
        return Resolved(picked[:limit], source="ordinal")
    if resolved:
        focus = tracker.get_slot("product_sku")
        if len(resolved) < limit and focus in graph.products and focus not in resolved:
            resolved.append(focus)  # "will this CPU fit <board>?": the named one and the one in focus
        return Resolved(list(dict.fromkeys(resolved))[:limit], source="mention", named=True)
    focus = tracker.get_slot("product_sku")
    if focus in graph.products:
        return Resolved([focus], source="focus")
    if len(shown) == 1:
        return Resolved(shown, source="list")
    if len(shown) > 1:
        return Resolved([], shown[:MAX_CARDS], source="list")
    return Resolved([])


def product_in_focus(tracker: Tracker) -> str | None:
    """The one product the message points at without a catalogue lookup (cart lines, staff
    questions about a product already shown): a position in the last list, else the product in
    focus, else the only product shown."""
    shown = tracker.get_slot("shown_skus") or []
    for position in ordinal_positions(tracker):
        if (sku := _at(shown, position)) is not None:
            return sku
    return tracker.get_slot("product_sku") or (shown[0] if len(shown) == 1 else None)


def ask_which(
    dispatcher: CollectingDispatcher,
    graph: ProductGraph,
    candidates: Sequence[str],
    lang: str,
    intent: str | None,
) -> list[dict[str, Any]]:
    """A short clarifying question: the candidates as a numbered list with one button each, whose
    payload repeats the shopper's request (its intent) for that product. Returns the events that make
    the candidates the list "the second one" refers to."""
    products: list[Product] = [graph.products[s] for s in candidates[:MAX_CARDS]]
    target = intent if intent and not intent.startswith("nlu_") else "product_details"
    buttons = [
        {"title": title, "payload": f"/{target}{json.dumps({'sku': p.sku})}"}
        for title, p in zip(button_titles(products, lang), products)
    ]
    dispatcher.utter_message(
        response="utter_ask_which_of",
        options=listing(products, lang),
        buttons=buttons,
        json_message=cards_payload(graph, products, lang),
    )
    return [SlotSet("shown_skus", [p.sku for p in products]), SlotSet("product_sku", None)]


# one-word store names that are ordinary English words: left to the NLU's store entity
_WORDY_STORES = frozenset(
    """union spring orange reading surprise sandy brick heath bend clay moore crossing
galleria center market plaza summit gateway commons village station park lake""".split()
)


@lru_cache(maxsize=1)
def _store_names() -> PhraseIndex:
    """Store names of the shop data (the same import the order service loads), for finding a store
    named in a message the NLU did not tag ("Flushing店有9800X3D吗")."""
    names = {s.name for s in load_stores()}
    names |= {
        re.sub(r"\s*\(.*\)$", "", n) for n in names
    }  # "Upper West Side (62nd and Broadway)" said without the corner
    return PhraseIndex({n for n in names if len(n) >= 4 and n.lower() not in _WORDY_STORES}, fold=True)


@lru_cache(maxsize=1)
def _city_names() -> PhraseIndex:
    """Cities with stores that no store is named after ("Brooklyn" has Kings Plaza, Atlantic Center…),
    except those that are also a state's name ("California", MD): a city counts only where the words
    around it say it is a place (_city_said), since many are also people's names or words."""
    stores = load_stores()
    names = {s.name.casefold() for s in stores}
    states = set(places.US_STATES)  # full state names, lower case
    cities = {s.city for s in stores if len(s.city) >= 4}
    return PhraseIndex(
        {c for c in cities if c.casefold() not in names | states and c.casefold() not in _WORDY_STORES},
        fold=True,
    )


def _city_said(text: str) -> str | None:
    """A store city the message names as a place: "in brooklyn", "near Miami", "the Houston store",
    the whole message, or inside a Chinese message ("Brooklyn有货吗")."""
    for start, end, _ in _city_names().spans(text):
        if (
            not text.isascii()
            or _PLACE_BEFORE.search(text[:start])
            or _PLACE_AFTER.match(text[end:])
            or not (text[:start] + text[end:]).strip(" ,.!?")
        ):
            return text[start:end]
    return None


# a one-word store name typed in lower case is still a place when the words around it say so ("a store
# in tacoma", "near kenosha", "the tacoma store"), or when it is the whole message (the answer to "where?")
_PLACE_BEFORE = re.compile(r"(?i)\b(?:in|at|near|around|to|from|by)\s+(?:the\s+)?$")
_PLACE_AFTER = re.compile(r"(?i)\s*(?:store|shop|branch|location|best ?buy|one)\b")


def _named_in(text: str, entities: list[Any]) -> str | None:
    value = next(iter(entities), None)
    spans = _store_names().spans(text)
    if value:
        # the NLU often tags part of a store's name ("square" of "brookdale square"): the whole name
        said = str(value).casefold()
        whole = (text[s:e] for s, e, _ in spans if said in text[s:e].casefold() and e - s > len(said))
        return next(whole, None) or places.english_place(str(value))
    for start, end, phrase in spans:
        said = text[start:end]
        if (
            " " in phrase
            or not text.isascii()
            or said[:1].isupper()
            or _PLACE_BEFORE.search(text[:start])
            or _PLACE_AFTER.match(text[end:])
            or not (text[:start] + text[end:]).strip(" ,.!?")
        ):
            return said
    said_places = places.places_in(text).places
    return said_places[0] if said_places else _city_said(text) or places.zip_said(text)


def store_mentioned(tracker: Tracker) -> str | None:
    """The store the message names: the NLU's store entity, else a store name found in the text (a
    one-word name in an English message only when capitalised: "at Flushing", not "flushing"), else a
    place said in Chinese ("法拉盛" → Flushing, data/catalog/places_zh.yaml) or a ZIP said as a place
    ("我在11354"). A store picked among the last ones listed ("加州那家", "第一家") comes as "#<id>"."""
    text = tracker.latest_message.get("text") or ""
    said = places.places_in(text)
    if not (said.states or said.streets) and (named := _named_in(text, entity_values(tracker, "store"))):
        return named
    picked = store_picked(tracker)
    return f"#{picked}" if picked is not None else _named_in(text, entity_values(tracker, "store"))


@lru_cache(maxsize=1)
def _stores_by_id() -> dict[int, Store]:
    return {s.id: s for s in load_stores()}


STORE_TYPO_SCORE = 85  # rapidfuzz ratio above which a store name that matched nothing is taken as misspelt
# responses that show a list of stores, so "the first one" / "第一家" after them means a store
STORE_LISTS = frozenset(
    {
        "utter_stores_found",
        "utter_ask_which_store_of",
        "utter_stores_with_item",
        "utter_store_not_found_suggest",
        "utter_stock_elsewhere",
    }
)


def stores_listed_last(tracker: Tracker) -> bool:
    """Whether the latest list the bot showed was of stores rather than of products (cards)."""
    for event in reversed(tracker.events):
        if event.get("event") != "bot":
            continue
        if (event.get("metadata") or {}).get("utter_action") in STORE_LISTS:
            return True
        if (event.get("data") or {}).get("custom"):
            return False
    return False


def previous_store_query(tracker: Tracker) -> str | None:
    """The store, city or ZIP the shopper's previous message named (what a reply to "which one?" goes on with)."""
    users = [e for e in reversed(tracker.events) if e.get("event") == "user"][1:2]
    for event in users:
        entities = [
            e.get("value")
            for e in (event.get("parse_data") or {}).get("entities", [])
            if e.get("entity") == "store"
        ]
        return _named_in(event.get("text") or "", entities)
    return None


def store_picked(tracker: Tracker) -> int | None:
    """The one store the message picks among the stores just listed (slot `shown_stores`, else those
    sharing the name the previous message gave): "第一家" / "the first one" after a store list, "加州那家",
    "the Tennessee one" (a state), "14街那家" (a street), a city or neighbourhood. None otherwise."""
    by_id = _stores_by_id()
    shown = [by_id[int(i)] for i in tracker.get_slot("shown_stores") or [] if int(i) in by_id]
    text = tracker.latest_message.get("text") or ""
    said = places.places_in(text)
    if shown and stores_listed_last(tracker):
        for position in ordinal_positions(tracker):
            index = position - 1 if position > 0 else position
            if -len(shown) <= index < len(shown):
                return shown[index].id
    if not said.states and not said.streets:
        return None  # a city alone is a new place to search, not a pick
    if not shown and (query := previous_store_query(tracker)):
        q = query.lower()
        shown = [s for s in by_id.values() if q in (s.name.lower(), s.city.lower())]
    fitting = {(s.name, s.address, s.city): s for s in places.pick(shown, said)}
    return next(iter(fitting.values())).id if len(fitting) == 1 else None


async def find_store(query: str, limit: int = 20, correct_typos: bool = False) -> list[StoreOut]:
    """The distinct stores a name, city or ZIP means, best first: "#<id>" is that store; a store
    whose name is the query before stores merely in a city of that name (Flushing, not the LaGuardia
    kiosks in Flushing); exact matches before partial ones. With `correct_typos` (a question that
    needs one store, such as stock) a misspelt name ("Misson Viejo") is taken for the store close
    enough to it (rapidfuzz ratio ≥ STORE_TYPO_SCORE) when that is only one; the store finder offers
    the close names instead."""
    client = services.orders()
    if m := re.fullmatch(r"#(\d{1,10})", query.strip()):
        return [await client.get_store(int(m.group(1)))]
    found = await client.find_stores(query, limit=limit)
    q = query.strip().lower()
    named = [s for s in found if s.name.lower() == q]
    exact = [s for s in found if q in (s.name.lower(), s.city.lower(), s.zip, f"{s.city}, {s.state}".lower())]
    found = named or exact or found
    if not found and correct_typos:
        close = [
            s
            for s in await client.suggest_stores(query, limit=3)
            if fuzz.ratio(q, s.name.lower()) >= STORE_TYPO_SCORE
        ]
        found = close if len(close) == 1 else []  # several close names: the caller offers them
    seen: set[tuple[str, str, str]] = set()
    out = []
    for store in found:
        if (store.name, store.address, store.city) not in seen:
            seen.add((store.name, store.address, store.city))
            out.append(store)
    return out


def pending_intent(tracker: Tracker) -> str | None:
    """The request the bot's last question continues: the intent its buttons repeat ("/ask_stock{...}"
    after "which one do you mean?"), so the answer "2T的那个" goes on with the stock question."""
    users = 0
    for event in reversed(tracker.events):
        if event.get("event") == "user":
            users += 1
            if users == 2:  # only the bot's reply to the previous message
                return None
        elif event.get("event") == "bot" and users == 1:
            for button in (event.get("data") or {}).get("buttons") or []:
                if m := re.match(r"/(\w+)", str(button.get("payload") or "")):
                    return m.group(1)
    return None


def store_in_focus(tracker: Tracker) -> int | None:
    """The store the conversation is about ("is it in stock there?"): the last store found or asked
    about, kept in the `store_id` slot."""
    value = tracker.get_slot("store_id")
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


async def reference_point(tracker: Tracker) -> tuple[float, float] | None:
    """Where distances are measured from when the shopper gave no place: the store talked about last."""
    store_id = store_in_focus(tracker)
    if store_id is None:
        return None
    try:
        store = await services.orders().get_store(store_id)
    except OrderServiceError:
        return None
    return (store.lat, store.lon) if store.lat is not None and store.lon is not None else None
