"""The shopping cart in the slot `cart` (a list of {"sku", "qty"}) and what a message asks of it:
add a product, change or remove a line, leave the checkout, or start it by naming where to pick up.

Shared by the cart and checkout actions (actions.cart) and the actions whose intents such a message
is often taken for (stock, compatibility, the fallback), so that action modules need not import one
another. Prices and names come from the product graph; the order service prices the order itself.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import ValidationError
from rasa_sdk import Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import building, services
from actions.common import cart_lines, entity_values, language, previous_intent
from actions.references import ZH_NUMBERS, ask_which, product_in_focus, resolve_products
from knowledge_graph.parse import find_category
from knowledge_graph.vocab import format_price
from order_service.schemas import OrderLineIn

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


QUESTION = re.compile(r"[?？吗呢]\s*$")
# Where a message that also says how to receive the order names the store: "pick it up at Mall of
# America", "结账，自提，Blossom Hill", "我要在Flushing自提" (a Latin-script name inside Chinese).
STORE_AFTER = re.compile(
    r"(?i)\b(?:at|from|in)\s+(?:the\s+)?([A-Za-z0-9][\w .'&-]*?)\s*(?:store|shop)?\s*[.!,]*$"
)
LATIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 .'&-]*[A-Za-z0-9]|[A-Za-z]")


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
    **ZH_NUMBERS,
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
    """Whether a message right after adding to the cart names or points at one more product to add,
    whatever intent the NLU gave it ("and the Corsair RM650" reads like a compatibility question, "and
    the first one too" like nothing at all)."""
    text = tracker.latest_message.get("text") or ""
    if previous_intent(tracker) != "add_to_cart" or not MORE.search(text) or QUESTION.search(text.strip()):
        return False
    return resolve_products(tracker, services.graph()).source in ("mention", "ordinal")


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


async def add_to_cart(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """action_add_to_cart: the product named or pointed at, in the quantity said (a swap
    request replaces the line it names; "all of it" after a build adds the whole build)."""
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


async def change_cart(dispatcher: CollectingDispatcher, tracker: Tracker) -> list[dict[str, Any]]:
    """action_change_cart: remove a line ("remove the second item") or set its quantity
    ("make it 3"; 0 removes)."""
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
