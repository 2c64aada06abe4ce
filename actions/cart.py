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

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import events, services
from actions.cards import store_label
from actions.common import cart_lines, entity_values, language
from actions.customers import shopper_id
from actions.references import reference_point
from actions.shopping_cart import (
    CART,
    FORM,
    FULFILMENT_WORDS,
    QUESTION,
    add_to_cart,
    change_cart,
    format_cart,
    leaves_checkout,
    product_name,
    starts_pickup,
    store_in_text,
)
from knowledge_graph.vocab import format_price
from order_service.client import OrderServiceError
from order_service.schemas import StoreOut
from order_service.services.geo import haversine_km

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


class ActionAddToCart(Action):
    def name(self) -> str:
        return "action_add_to_cart"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[dict[str, Any]]:
        return await add_to_cart(dispatcher, tracker)


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
        return await change_cart(dispatcher, tracker)


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
