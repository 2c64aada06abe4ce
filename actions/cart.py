"""Cart and checkout.

The cart lives in the slot `cart` (a list of {"sku", "qty"}), so it survives the session and needs no
storage of its own; prices and names come from the product graph, the order service prices the order
itself. Checkout is the Rasa form `checkout_form`: delivery or pick-up (at a store found through the
order service, where every item can be picked up), then an explicit yes before the order is placed.
The order is created with an Idempotency-Key derived from the conversation and the checkout it
belongs to, so a retried action never places it twice.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
from typing import Any

from pydantic import ValidationError
from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import building, events, services
from actions.cards import store_label
from actions.common import cart_lines, entity_values, language, previous_intent
from actions.customers import shopper_id
from actions.references import ask_which, product_in_focus, reference_point, resolve_products
from knowledge_graph.parse import find_category
from knowledge_graph.vocab import format_price
from order_service.client import OrderServiceError
from order_service.schemas import OrderLineIn, StoreOut
from order_service.services.geo import haversine_km

CART = "cart"
FORM = "checkout_form"
FULFILMENT_WORDS = {
    "pickup": re.compile(
        r"(?i)\bpick(?:ing)?[\s-]*(?:it\s+|them\s+)?up\b|\bpickup\b|\bcollect\b|\bin[\s-]store\b|\bin person\b"
        r"|\b(?:grab|get|fetch|take)\b.{0,20}\b(?:from|at)\s+(?:the|a|your)\s+(?:store|shop)\b"
        r"|\b(?:come|swing|stop|drop)\s+(?:by|in|over)\b|\b(?:go|come)\s+to\s+(?:the|a|your)\s+(?:store|shop)\b"
        r"|自提|自取|到店|店取|店里取|店里拿|门店拿|自己取|自己去|去店里|过去拿|门店取"
    ),
    "delivery": re.compile(
        r"(?i)\bdeliver(?:y|ed)?\b|\bship(?:ping|ped)?\b|\b(?:send|mail|bring)\s+(?:it|them)\b"
        r"|\bto my (?:house|home|door|place|address|office)\b"
        r"|送货|配送|快递|送到|送过来|送上门|邮寄|寄到|寄给|寄过来|邮到"
    ),
}
# Leaving the checkout in words the NLU may read as something else ("forget about it, I'll order
# later" looks like add_to_cart, "先不结了" like an answer): the form ends, nothing is ordered, the
# cart stays. A message that also says how to receive the order ("算了，还是自提吧") is a change of
# mind inside the checkout, not a way out.
LEAVE = re.compile(
    r"(?i)\b(?:forget\s+(?:it|about\s+it|that|this)|never\s*mind|nvm|changed\s+my\s+mind|not\s+now"
    r"|maybe\s+(?:later|not|next\s+time)|some\s+other\s+time|another\s+time|next\s+time|(?:do|buy|order|check\s*out|come\s+back|decide)\b.{0,15}\blater"
    r"|don'?t\s+want\s+(?:it|this|that|to)|no\s+longer\s+want|not\s+(?:buying|ordering|checking\s+out)"
    r"|(?:stop|cancel|quit|exit|leave|abort)\b(?!\s+(?:by|in|over)\b))"
    r"|算了|不买了|先不|不结|都不要了|不想买|不想要|取消|以后再|下次再|改天|回头再|退出"
)


def starts_pickup(tracker: Tracker) -> bool:
    """Whether a message outside the checkout starts it by saying where the cart will be picked up
    ("我要在Flushing自提", "I'll pick it up at Union Square"), whatever intent the NLU gave it (a
    stock or store question, often): a cart, a pick-up word, a store named, and no question."""
    text = (tracker.latest_message.get("text") or "").strip()
    return (
        not tracker.active_loop.get("name")
        and bool(cart_lines(tracker))
        and bool(FULFILMENT_WORDS["pickup"].search(text))
        and not QUESTION.search(text)
        and bool(next(iter(entity_values(tracker, "store")), None) or store_in_text(text))
    )


def leaves_checkout(tracker: Tracker) -> bool:
    """Whether the latest message, during the checkout, asks to leave it (see LEAVE)."""
    if tracker.active_loop.get("name") != FORM:
        return False
    text = tracker.latest_message.get("text") or ""
    if text.startswith("/") or not LEAVE.search(text):
        return False
    return not any(words.search(text) for words in FULFILMENT_WORDS.values())


FORM_SLOTS = (
    "checkout_fulfilment",
    "checkout_store",
    "pickup_store_id",
    "delivery_address",
    "checkout_confirmed",
)
# Intents a bare answer to the store or address question is often taken for ("Blossom Hill" reads
# as a store-hours question, "my house" as out of scope): while that question is open such a
# message is the answer. A question (FAQ, "?", 吗) never is.
ANSWER_INTENTS = {"inform", "find_store", "store_hours", "ask_stock", "nlu_fallback", "out_of_scope"}
QUESTION = re.compile(r"[?？吗呢]\s*$")
# Where a message that also says how to receive the order names the store: "pick it up at Mall of
# America", "结账，自提，Blossom Hill", "我要在Flushing自提" (a Latin-script name inside Chinese).
STORE_AFTER = re.compile(
    r"(?i)\b(?:at|from|in)\s+(?:the\s+)?([A-Za-z0-9][\w .'&-]*?)\s*(?:store|shop)?\s*[.!,]*$"
)
LATIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .'&-]*[A-Za-z0-9]|[A-Za-z]")


# --- the cart slot -------------------------------------------------------------------------------------
def quantity_entity(tracker: Tracker) -> int | None:
    """The quantity the shopper said: "2", "3个", or a word the NLU synonyms map to digits ("two", "两个")."""
    for value in entity_values(tracker, "quantity"):
        digits = re.search(r"\d+", str(value))
        if digits:
            return int(digits.group())
    return None


NUMBER_WORDS = {
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "一": 1,
    "两": 2,
    "二": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
    "十": 10,
}
# A quantity after a word that sets one ("make it just one", "only two", "改成两个", "只要一个"): the NLU
# often reads "one" there as a position ("the first one").
QUANTITY_CUE = re.compile(
    r"(?i)(?:\b(?:just|only|make\s+it|to)\s+|改成|改为|换成|只要|就要|要)\s*(\d{1,3}|"
    + "|".join(NUMBER_WORDS)
    + r")(?![A-Za-z0-9])"
)


def quantity_in_words(text: str) -> int | None:
    """The quantity a change request states in words the NLU did not tag as a quantity."""
    cue = QUANTITY_CUE.search(text)
    if not cue:
        return None
    word = cue.group(1).lower()
    return int(word) if word.isdigit() else NUMBER_WORDS[word]


CART_INTENTS = ("add_to_cart", "remove_from_cart", "change_cart_quantity", "view_cart")


def changes_quantity(tracker: Tracker) -> bool:
    """Whether an unclear message sets the quantity of a cart line just talked about ("make it just
    one", "改成两个就行"): right after a cart turn, with a non-empty cart and a quantity in words."""
    return (
        bool(cart_lines(tracker))
        and previous_intent(tracker) in CART_INTENTS
        and quantity_in_words(tracker.latest_message.get("text") or "") is not None
    )


# "and the Corsair RM650", "also a Noctua NH-D9L", "还有RM850x", "the 7600X too" right after an add
MORE = re.compile(
    r"(?i)^\s*(?:and|also|plus|oh and|&)\b|\b(?:too|as well)\s*[.!]?\s*$|^\s*(?:还有|再来|再加|以及|和)"
)


def continues_adding(tracker: Tracker) -> bool:
    """Whether a message right after adding to the cart names one more product to add, whatever
    intent the NLU gave it ("and the Corsair RM650" reads like a compatibility question)."""
    text = tracker.latest_message.get("text") or ""
    if previous_intent(tracker) != "add_to_cart" or not MORE.search(text) or QUESTION.search(text.strip()):
        return False
    return resolve_products(tracker, services.graph()).source == "mention"


def valid_line(sku: str, qty: int) -> bool:
    """Whether the order service would accept this line (same contract as the order body)."""
    try:
        OrderLineIn(sku=sku, quantity=qty)
    except ValidationError:
        return False
    return True


def format_cart(lines: list[dict[str, Any]], lang: str) -> tuple[str, str]:
    """The cart as numbered lines and the sum at catalogue prices (the order service prices the order)."""
    graph = services.graph()
    rows, total = [], 0.0
    for i, line in enumerate(lines, 1):
        product = graph.product(line["sku"])
        total += product.price * line["qty"]
        rows.append(
            f"{i}. {line['qty']} × {product.name} — {format_price(product.price * line['qty'], lang)}"
        )
    return "\n".join(rows), format_price(total, lang)


def product_name(sku: str) -> str:
    try:
        return services.graph().product(sku).name
    except KeyError:
        return sku


def cart_item_in_focus(tracker: Tracker, lines: list[dict[str, Any]]) -> int | None:
    """Index of the cart line the shopper means: a position in the cart ("the second item"), a SKU,
    the product the conversation is about, or the only line. Positions are resolved exactly like
    positions in a product list, with the cart as the list (actions.references.product_in_focus)."""
    skus = [line["sku"] for line in lines]
    as_list = tracker.copy()
    as_list.slots = {**tracker.slots, "shown_skus": skus, "product_sku": None}
    named = [str(v).strip().upper() for v in entity_values(tracker, "sku")]
    focus = tracker.get_slot("product_sku")
    for wanted in [product_in_focus(as_list), *named]:
        if wanted and wanted.upper() in (s.upper() for s in skus):
            return [s.upper() for s in skus].index(wanted.upper())
    kind = cart_line_of_kind(tracker, lines)
    if kind is not None:
        return kind
    text = tracker.latest_message.get("text") or ""
    if len(lines) > 1 and not POINTS_AT_FOCUS.search(text):
        return None  # "remove one" with two lines: which one?
    if focus and str(focus).upper() in (s.upper() for s in skus):
        return [s.upper() for s in skus].index(str(focus).upper())
    return None


# words that point at the product just talked about ("remove it", "make that 2", "这个不要了")
POINTS_AT_FOCUS = re.compile(
    r"(?i)\b(?:it|this|that|these|those|them|the last)\b|这个|那个|这件|那件|它|刚才|刚加"
)


def cart_line_of_kind(tracker: Tracker, lines: list[dict[str, Any]]) -> int | None:
    """The one cart line of the kind of product the message names ("remove the mouse", "散热器不要
    了", "take the ram out"), before the product last talked about (which may be another line)."""
    graph = services.graph()
    texts = [tracker.latest_message.get("text") or "", *map(str, entity_values(tracker, "category"))]
    for text in texts:
        category, part_type, _ = find_category(graph, text)
        if not (category or part_type):
            continue
        hits = [
            i
            for i, line in enumerate(lines)
            if (product := graph.products.get(line["sku"])) is not None
            and (
                (part_type and product.part_type == part_type)
                or (
                    category
                    and product.category_id in graph.categories
                    and category in graph.categories[product.category_id].path_ids
                )
            )
        ]
        if len(hits) == 1:
            return hits[0]
    return None


class ActionAddToCart(Action):
    def name(self) -> str:
        return "action_add_to_cart"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        if building.means_whole_build(tracker):  # "这套都加到购物车里" right after a PC build
            return building.add_whole_build(dispatcher, tracker)
        graph = services.graph()
        resolved = resolve_products(tracker, graph)
        if leaves_checkout(tracker) and resolved.source != "mention":
            return []  # "forget it, I'll order later" in the checkout: the form ends next (required_slots)
        if resolved.ambiguous:  # "add it" after a list of several: ask which, one button each
            return ask_which(dispatcher, graph, resolved.candidates, language(tracker), "add_to_cart")
        if not resolved.skus:
            dispatcher.utter_message(response="utter_ask_which_product")
            return []
        sku = resolved.skus[0]
        try:
            product = graph.product(sku)
        except KeyError:
            dispatcher.utter_message(response="utter_ask_which_product")
            return []
        qty = quantity_entity(tracker) or 1
        lines = cart_lines(tracker)
        swapped = swapped_line(tracker, lines, product.sku, resolved.source)
        if swapped is not None:  # "算了换成9800X3D吧": the line just talked about gives way to this one
            qty = quantity_entity(tracker) or swapped["qty"]
            lines.remove(swapped)
            dispatcher.utter_message(response="utter_cart_removed", product=product_name(swapped["sku"]))
        existing = next((line for line in lines if line["sku"] == product.sku), None)
        new_qty = qty + (existing["qty"] if existing else 0)
        if not valid_line(product.sku, new_qty):
            dispatcher.utter_message(response="utter_cart_bad_quantity")
            return []
        if existing:
            existing["qty"] = new_qty
        else:
            lines.append({"sku": product.sku, "qty": qty})
        dispatcher.utter_message(
            response="utter_cart_added",
            product=product.name,
            quantity=qty,
            items=sum(line["qty"] for line in lines),
        )
        return [SlotSet(CART, lines), SlotSet("product_sku", product.sku)]


# A product named as the replacement of another ("换成9800X3D", "swap it for the 7600X", "make it the
# 4070 instead"); a bare quantity ("换成3件") is a quantity change, handled by action_change_cart.
SWAP = re.compile(
    r"(?i)\b(?:swap|switch|change|replace|exchange)\b.{0,30}\b(?:for|to|with|into)\b|\binstead\b|\brather\b"
    r"|换成|改成|换个|换一个|改要|还是要"
)


def swapped_line(
    tracker: Tracker, lines: list[dict[str, Any]], sku: str, source: str
) -> dict[str, Any] | None:
    """The cart line a swap request replaces: the product in focus (the one added or discussed last),
    else the only line, when the message names another product as its replacement."""
    if source in ("focus", "none") or not SWAP.search(tracker.latest_message.get("text") or ""):
        return None
    focus = str(tracker.get_slot("product_sku") or "")
    line = next((x for x in lines if x["sku"] == focus), None) or (lines[0] if len(lines) == 1 else None)
    return line if line is not None and line["sku"] != sku else None


class ActionViewCart(Action):
    def name(self) -> str:
        return "action_view_cart"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        lines = cart_lines(tracker)
        if not lines:
            dispatcher.utter_message(response="utter_cart_empty")
            return []
        rows, total = format_cart(lines, language(tracker))
        dispatcher.utter_message(response="utter_cart_contents", lines=rows, total=total)
        return []


class ActionChangeCart(Action):
    """Remove a line ("remove the second item") or set its quantity ("make it 3"; 0 removes)."""

    def name(self) -> str:
        return "action_change_cart"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        lines = cart_lines(tracker)
        if not lines:
            dispatcher.utter_message(response="utter_cart_empty")
            return []
        index = cart_item_in_focus(tracker, lines)
        if index is None:
            rows, total = format_cart(lines, language(tracker))
            dispatcher.utter_message(response="utter_ask_which_cart_item", lines=rows)
            return []
        intent = (tracker.latest_message.get("intent") or {}).get("name")
        qty = (
            0
            if intent == "remove_from_cart"
            else quantity_entity(tracker) or quantity_in_words(tracker.latest_message.get("text") or "")
        )
        if qty is None:
            dispatcher.utter_message(response="utter_ask_cart_quantity")
            return []
        name = product_name(lines[index]["sku"])
        if qty == 0:
            del lines[index]
            dispatcher.utter_message(response="utter_cart_removed", product=name)
        elif not valid_line(lines[index]["sku"], qty):
            dispatcher.utter_message(response="utter_cart_bad_quantity")
            return []
        else:
            lines[index]["qty"] = qty
            dispatcher.utter_message(response="utter_cart_updated", product=name, quantity=qty)
        return [SlotSet(CART, lines)]


# --- checkout ------------------------------------------------------------------------------------------
MATCHES = 8  # stores fetched for a name, to tell a unique match from a shared name
ALTERNATIVES = 3  # stores offered instead of one that does not work out
STORE_PICK = re.compile(r"#(\d{1,10})")  # a store button's payload: {"store": "#281"}
ZIP_AT_END = re.compile(r"\b\d{5}(?:-\d{4})?\s*$")
LETTERS = re.compile(r"[^\W\d_]{2,}")
POSTCODE = re.compile(r"(?<!\d)(?:\d{5}(?:-\d{4})?|\d{6})(?!\d)")
PLACE_AFTER_COMMA = re.compile(r"[,，]\s*[^\W\d_]{2,}")
CJK_PLACE = re.compile(r"[\u4e00-\u9fff]{1,6}[省市区县镇]")


def best_matches(query: str, found: list[StoreOut]) -> list[StoreOut]:
    """The stores the shopper can mean: those whose name, city or ZIP is exactly the query, else every
    store found (the service lists exact matches first, then prefixes, then substrings)."""
    q = query.strip().lower()
    exact = [s for s in found if s.name.lower() == q] or [
        s for s in found if q in (s.city.lower(), s.zip, f"{s.city}, {s.state}".lower())
    ]  # a store called exactly so wins over other stores of the town of that name
    seen: set[tuple[str, str, str]] = set()
    distinct = []  # kiosks sharing one address (airports) are one choice
    for store in exact or found:
        if (store.name, store.address, store.city) not in seen:
            seen.add((store.name, store.address, store.city))
            distinct.append(store)
    return distinct


def store_choice_lines(
    stores: list[StoreOut], lang: str, reference: tuple[float, float] | None = None
) -> str:
    """Numbered lines that tell stores apart: name, address, city and the distance (from the store
    asked about, or from the given reference point)."""
    rows = []
    for i, store in enumerate(stores, 1):
        km = store.distance_km
        if km is None and reference is not None and store.lat is not None and store.lon is not None:
            km = haversine_km(reference[0], reference[1], store.lat, store.lon)
        rows.append(f"{i}. {store_label(store)}" + ("" if km is None else f" · {km:.1f} km"))
    return "\n".join(rows)


def offer_stores(
    dispatcher: CollectingDispatcher,
    response: str,
    stores: list[StoreOut],
    lang: str,
    reference: tuple[float, float] | None = None,
    **args: Any,
) -> None:
    """A reply that lists stores to choose from, one button each that answers the store question."""
    buttons = [
        {"title": f"{i}. {s.name}, {s.city}"[:60], "payload": f'/inform{{"store": "#{s.id}"}}'}
        for i, s in enumerate(stores[:MATCHES], 1)
    ]
    dispatcher.utter_message(
        response=response,
        stores=store_choice_lines(stores[:MATCHES], lang, reference),
        buttons=buttons,
        **args,
    )


def address_missing(address: str) -> str | None:
    """What a delivery address lacks: "number" (a house number; a trailing ZIP code does not count),
    "street" (words), or "city" (neither a ZIP / postcode, nor a place after a comma, nor a Chinese
    city or district: "Main St 123号" could be in any town), else None."""
    without_zip = ZIP_AT_END.sub("", address)
    if not any(ch.isdigit() for ch in without_zip):
        return "number"
    if not LETTERS.search(address) or len(address) < 5:
        return "street"
    if not (POSTCODE.search(address) or PLACE_AFTER_COMMA.search(address) or CJK_PLACE.search(address)):
        return "city"
    return None


def latest_intent(tracker: Tracker) -> str | None:
    return (tracker.latest_message.get("intent") or {}).get("name")


def is_answer(tracker: Tracker) -> bool:
    """Whether the latest message can answer the form's open question (not a question of its own)."""
    text = (tracker.latest_message.get("text") or "").strip()
    return latest_intent(tracker) in ANSWER_INTENTS and not QUESTION.search(text)


def store_in_text(text: str) -> str | None:
    """The store a message names besides other words: after "at"/"from" in English, else the one
    Latin-script run of a Chinese message ("SFO机场那个店" → "SFO")."""
    after = STORE_AFTER.search(text)
    if after and not re.fullmatch(r"(?i)(?:the |a |my )?(?:store|shop|home|house|place)", after.group(1)):
        return after.group(1).strip()
    if re.search(r"[\u4e00-\u9fff]", text):
        runs = [r.strip() for r in LATIN_NAME.findall(text)]
        runs = [r for r in runs if not re.fullmatch(r"(?i)checkout|check out|pick ?up|ok|yes", r)]
        if len(runs) == 1:
            return runs[0]
    return None


class ValidateCheckoutForm(FormValidationAction):
    def name(self) -> str:
        return "validate_checkout_form"

    async def required_slots(
        self, domain_slots: list[str], dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[str]:
        """Nothing to ask for an empty cart (action_place_order says so); then the way to receive
        the order, the store or the address that way needs, and the explicit yes."""
        if not cart_lines(tracker) or leaves_checkout(tracker):
            return []  # nothing asked: the form ends and action_place_order says nothing was ordered
        fulfilment = tracker.get_slot("checkout_fulfilment")
        middle = {"pickup": ["checkout_store"], "delivery": ["delivery_address"]}.get(fulfilment, [])
        return ["checkout_fulfilment", *middle, "checkout_confirmed"]

    async def extract_checkout_fulfilment(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """The way of receiving the order named in words the NLU tagged no entity in ("pickup in
        store", "ok delivery then", "那就自提吧"), as the answer to its question or as a change of mind
        at any later question ("no, I'd rather pick it up at Mall of America"). A question that
        mentions shipping ("how much is shipping?", "送货要运费吗") is a question, not an answer."""
        requested, current = tracker.get_slot("requested_slot"), tracker.get_slot("checkout_fulfilment")
        text = tracker.latest_message.get("text") or ""
        if (
            (not requested and latest_intent(tracker) != "checkout" and not starts_pickup(tracker))
            or latest_intent(tracker) == "faq"
            or QUESTION.search(text.strip())
        ):
            return {}  # outside the form's questions only the message that starts it ("结账，自提") counts
        named = [way for way, words in FULFILMENT_WORDS.items() if words.search(text)]
        if len(named) != 1 or named[0] == current:
            return {}
        if requested not in (None, "checkout_fulfilment") and not re.search(
            r"(?i)\b(?:no|rather|instead|actually)\b|算了|还是|改|换", text
        ):
            return {}  # "deliver to 42 Elm St" while the address is asked answers it, it changes nothing
        return {"checkout_fulfilment": named[0]}

    async def validate_checkout_fulfilment(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Keeps only the answers the chosen way needs; a store named in the same message ("结账，自提，
        Blossom Hill") answers the store question at once."""
        if value == "delivery":
            return {"checkout_fulfilment": value, "checkout_store": None, "pickup_store_id": None}
        if value != "pickup":
            return {"checkout_fulfilment": None}
        slots: dict[str, Any] = {"checkout_fulfilment": value, "delivery_address": None}
        named = next(iter(entity_values(tracker, "store")), None) or store_in_text(
            tracker.latest_message.get("text") or ""
        )
        if named and not tracker.get_slot("pickup_store_id"):
            slots.update(await self.validate_checkout_store(named, dispatcher, tracker, domain))
        return slots

    async def extract_checkout_store(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A bare store name while the store is asked for, whatever intent it read as ("Blossom
        Hill" looks like a store-hours question); "SFO机场那个店" is the store SFO."""
        if (
            tracker.get_slot("requested_slot") != "checkout_store"
            or not is_answer(tracker)
            or latest_intent(tracker) in ("inform", "find_store")
        ):  # the domain mappings take those
            return {}
        text = (tracker.latest_message.get("text") or "").strip()
        return {
            "checkout_store": next(iter(entity_values(tracker, "store")), None) or store_in_text(text) or text
        }

    async def extract_delivery_address(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """Whatever answers the address question is checked as an address, so "my house" or "asdf"
        hears what is missing rather than a fallback."""
        text = (tracker.latest_message.get("text") or "").strip()
        looks_like_address = not QUESTION.search(text) and address_missing(text) is None
        if (
            tracker.get_slot("requested_slot") != "delivery_address"
            or not (is_answer(tracker) or looks_like_address)  # "1600 Amphitheatre Pkwy, …" read as a build
            or latest_intent(tracker) == "inform"
        ):
            return {}
        return {"delivery_address": (tracker.latest_message.get("text") or "").strip()}

    async def validate_checkout_store(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A store that hands out pick-up orders and can hand out every item in the cart. When the
        answer does not work out, the shopper gets something to pick from rather than a bare no: the
        closest store names for an unknown name, the matching stores (with address and distance) when
        several share it, the nearest stores that can hand out the cart when this one cannot."""
        rejected = {"checkout_store": None, "pickup_store_id": None}
        if tracker.get_slot("checkout_fulfilment") != "pickup":  # "deliver it instead" answered the question
            return rejected
        query = str(next(iter(entity_values(tracker, "store")), None) or value or "").strip()
        if not query:
            return rejected
        client, lang, lines = services.orders(), language(tracker), cart_lines(tracker)
        try:
            picked = STORE_PICK.fullmatch(query)
            if picked:
                candidates = [await client.get_store(int(picked.group(1)))]
            else:
                candidates = best_matches(query, await client.find_stores(query, limit=MATCHES))
                inner = store_in_text(query)
                if not candidates and inner and inner != query:  # "SFO机场那个店": the store SFO
                    query = inner
                    candidates = best_matches(query, await client.find_stores(query, limit=MATCHES))
            if not candidates:
                suggestions = await client.suggest_stores(query, limit=ALTERNATIVES)
                offer_stores(
                    dispatcher,
                    "utter_store_not_found_suggest" if suggestions else "utter_store_not_found",
                    suggestions,
                    lang,
                    query=query,
                )
                return rejected
            if len(candidates) > 1:
                reference = await reference_point(tracker)
                offer_stores(dispatcher, "utter_ask_which_store_of", candidates, lang, reference, query=query)
                return rejected
            store = candidates[0]
            missing: list[str] = []
            if store.pickup:
                # the service weighs quantities (a shopper's stock view only says "some left")
                able = await client.nearest_pickup_stores(
                    [(line["sku"], line["qty"]) for line in lines], store_id=store.id, limit=ALTERNATIVES + 1
                )
                if store.id not in {s.id for s in able}:
                    stock = await asyncio.gather(*(client.stock_at(line["sku"], store.id) for line in lines))
                    missing = (
                        [product_name(s.sku) for s in stock if not s.pickup_available]
                        or [product_name(line["sku"]) for line in lines if line["qty"] > 1]
                        or [product_name(line["sku"]) for line in lines]
                    )
                nearby = [s for s in able if s.id != store.id][:ALTERNATIVES]
            else:
                nearby = await client.nearest_pickup_stores(
                    [(line["sku"], line["qty"]) for line in lines], store_id=store.id, limit=ALTERNATIVES
                )
        except OrderServiceError as exc:
            if exc.not_found:
                dispatcher.utter_message(response="utter_store_not_found", query=query)
            else:
                dispatcher.utter_message(response="utter_service_unavailable")
            return rejected
        if not store.pickup or missing:
            dispatcher.utter_message(
                response="utter_store_no_pickup" if not store.pickup else "utter_store_cannot_supply",
                store=store_label(store),
                products=", ".join(missing),
            )
            if nearby:
                offer_stores(dispatcher, "utter_pickup_stores_nearby", nearby, lang)
            return rejected
        return {"checkout_store": store_label(store), "pickup_store_id": float(store.id)}

    def validate_delivery_address(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        """A street address: a street and a house number (a ZIP code alone is not one). Says which
        part is missing, so the shopper need not guess what was wrong."""
        address = " ".join(str(value or "").split())
        if tracker.get_slot("checkout_fulfilment") != "delivery":
            return {"delivery_address": None}
        missing = "street" if len(address) > 500 else address_missing(address)
        if missing:
            dispatcher.utter_message(response="utter_address_invalid")
            dispatcher.utter_message(response=f"utter_address_no_{missing}")
            return {"delivery_address": None}
        return {"delivery_address": address}

    def validate_checkout_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        return {"checkout_confirmed": value if isinstance(value, bool) else None}


class ActionCheckoutUnclear(Action):
    """A message the NLU could not place during the checkout: said to be unclear only when it neither
    answers the open question (a way of receiving the order in words the NLU missed, "ill grab it at
    the store"; a store name or an address, which the form checks itself) nor leaves the checkout."""

    def name(self) -> str:
        return "action_checkout_unclear"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        text = tracker.latest_message.get("text") or ""
        requested = tracker.get_slot("requested_slot")
        named = [way for way, words in FULFILMENT_WORDS.items() if words.search(text)]
        if leaves_checkout(tracker) or len(named) == 1 or requested in ("checkout_store", "delivery_address"):
            return []
        dispatcher.utter_message(response="utter_checkout_unclear")
        return []


class ActionAskCheckoutConfirmed(Action):
    """Shows what will be ordered and how, and asks for the explicit yes."""

    def name(self) -> str:
        return "action_ask_checkout_confirmed"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        rows, total = format_cart(cart_lines(tracker), language(tracker))
        if tracker.get_slot("checkout_fulfilment") == "pickup":
            dispatcher.utter_message(
                response="utter_checkout_summary_pickup",
                lines=rows,
                total=total,
                store=tracker.get_slot("checkout_store"),
            )
        else:
            dispatcher.utter_message(
                response="utter_checkout_summary_delivery",
                lines=rows,
                total=total,
                address=tracker.get_slot("delivery_address"),
            )
        return []


def checkout_key(tracker: Tracker) -> str:
    """Idempotency-Key of this checkout: the conversation and the moment its checkout form started,
    the same however often the placing action is retried, different for the next checkout."""
    started = next(
        (
            e.get("timestamp")
            for e in reversed(tracker.events)
            if e.get("event") == "active_loop" and e.get("name") == FORM
        ),
        None,
    )
    basis = f"{tracker.sender_id}|{started}|{cart_lines(tracker)}"
    return "daogou-" + hashlib.sha256(basis.encode()).hexdigest()[:48]


def reset_checkout() -> list[dict[str, Any]]:
    return [SlotSet(slot, None) for slot in FORM_SLOTS]


class ActionPlaceOrder(Action):
    """Runs when the checkout form is done: places and confirms the order only after the yes."""

    def name(self) -> str:
        return "action_place_order"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        lines = cart_lines(tracker)
        if not lines:
            dispatcher.utter_message(response="utter_cart_empty")
            return reset_checkout()
        if tracker.get_slot("checkout_confirmed") is not True:
            dispatcher.utter_message(response="utter_checkout_cancelled")
            return reset_checkout()
        pickup = tracker.get_slot("checkout_fulfilment") == "pickup"
        store_id = tracker.get_slot("pickup_store_id")
        client = services.orders()
        try:
            customer = await shopper_id(tracker)
            order = await client.create_order(
                customer,
                [(line["sku"], line["qty"]) for line in lines],
                fulfilment="pickup" if pickup else "delivery",
                store_id=int(store_id) if pickup and store_id is not None else None,
                delivery_address=None if pickup else tracker.get_slot("delivery_address"),
                idempotency_key=checkout_key(tracker),
                conversation_id=tracker.sender_id,
            )
            order = await client.confirm_order(customer, order.id)
            events.order_placed(tracker, order)  # revenue attributed to this conversation
        except OrderServiceError as exc:
            if exc.conflict:
                dispatcher.utter_message(response="utter_order_out_of_stock")
            elif exc.status_code == 422:
                dispatcher.utter_message(response="utter_order_rejected")
            else:
                dispatcher.utter_message(response="utter_service_unavailable")
            return reset_checkout()
        total = format_price(float(order.total), language(tracker))
        if pickup:
            dispatcher.utter_message(
                response="utter_order_placed_pickup",
                order_id=order.id,
                total=total,
                store=tracker.get_slot("checkout_store"),
            )
        else:
            dispatcher.utter_message(
                response="utter_order_placed_delivery",
                order_id=order.id,
                total=total,
                address=order.delivery_address,
            )
        dispatcher.utter_message(response="utter_ask_feedback")
        return [*reset_checkout(), SlotSet(CART, []), SlotSet("order_id", float(order.id))]


class ActionStopCheckout(Action):
    """The shopper leaves the checkout ("stop", "never mind", "不买了", or no to resuming it after
    another question): nothing is ordered, the answers so far are forgotten, the cart stays."""

    def name(self) -> str:
        return "action_stop_checkout"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        items = sum(line["qty"] for line in cart_lines(tracker))
        dispatcher.utter_message(
            response="utter_checkout_stopped" if items else "utter_checkout_stopped_empty", items=items
        )
        return reset_checkout()
