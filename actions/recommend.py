"""Recommendations in the conversation: "recommend me something", "what goes with this?",
"customers who bought X also bought", "something similar to X" (or cheaper, or better).

Thin async actions: read the identity (the channel names the customer, never their words), the
products in focus (slots shown_skus / product_sku) and the cart slot → call the shop recommender
(recommender.shop, CPU work, so in a thread) → reply with a domain response listing the products,
each with its one-line reason in the shopper's language, plus the product-card payload of
actions.products (each card also carries the reason). The recommender never returns items that the
knowledge graph says conflict with the cart (services.recommender injects the check).
"""

from __future__ import annotations

import asyncio
import logging
import re
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from actions import answers, events, searching, services
from actions.cards import cards_payload, listing
from actions.common import cart_lines, entity_values, language
from actions.customers import shopper_id
from actions.references import resolve_products, shown_skus
from catalog.models import Product
from catalog.reference import part_types
from knowledge_graph import api
from knowledge_graph.graph import ProductGraph
from knowledge_graph.parse import CHEAPER_WORDS, PRICIER_WORDS, find_category
from knowledge_graph.vocab import attribute_name, format_price, format_value
from order_service.client import OrderServiceError
from recommender.experiments import with_variant
from recommender.filters import cart_compatibility

log = logging.getLogger(__name__)
Events = list[dict[str, Any]]
K = 5
MAX_VIEWED = 5  # the most recent products of the conversation used as context
# "which of these would you recommend?": a pick among the list just shown, not a new list
AMONG_SHOWN = re.compile(
    r"(?i)\b(these|those|them|of the two|of the three|among|from the list)\b|这些|这几|那几|其中|里面|之中"
)
# "anything better than that?": a step up from the product, also when PRICIER_WORDS' search sense misses it
BETTER_WORDS = re.compile(
    r"(?i)\b(better|upgrade|step up|higher end|faster|stronger)\b|更好|好一点|好点|升级|高一档|更强|更快"
)


def viewed_skus(tracker: Tracker, graph: ProductGraph) -> list[str]:
    """What the shopper looked at in this conversation: the product in focus first, then the last list."""
    skus = [tracker.get_slot("product_sku"), *(tracker.get_slot("shown_skus") or [])]
    return list(dict.fromkeys(s for s in skus if s in graph.products))[:MAX_VIEWED]


def category_of_turn(tracker: Tracker, graph: ProductGraph) -> str | None:
    """The category the shopper asked for ("recommend me a monitor"): a catalogue category, or the
    category most products of the named part type belong to."""
    for text in [*map(str, entity_values(tracker, "category")), tracker.latest_message.get("text") or ""]:
        category, part_type, _ = find_category(graph, text)
        if category:
            return category
        if part_type:
            counts = Counter(
                p.category_id for p in graph.products.values() if p.part_type == part_type and p.category_id
            )
            if counts:
                return counts.most_common(1)[0][0]
    return None


def present(
    dispatcher: CollectingDispatcher,
    graph: ProductGraph,
    response: str,
    items: Sequence[Any],
    lang: str,
    **kwargs: Any,
) -> Events:
    """Utter the list (text for every channel, cards for those that render them) and remember it
    for "the first one". `items` are Recommendation / BoughtTogether records (sku + reason)."""
    pairs = [(graph.products[i.sku], i.reason.text(lang)) for i in items if i.sku in graph.products]
    products: list[Product] = [p for p, _ in pairs]
    lines = listing(products, lang).split("\n")
    text = "\n".join(f"{line}\n   {reason}" for line, (_, reason) in zip(lines, pairs))
    payload = cards_payload(graph, products, lang)
    for card, (_, reason) in zip(payload["products"], pairs):
        card["reason"] = reason
    payload["kind"] = "recommendations"
    dispatcher.utter_message(response=response, items=text, json_message=payload, **kwargs)
    return [SlotSet("shown_skus", [p.sku for p in products])]


class RecommendAction(Action, ABC):
    """Loads the graph and the recommender (in a thread), turns "not trained yet" into an answer."""

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        in_stock = await services.in_stock_filter()
        try:
            graph, rec = await asyncio.to_thread(lambda: (services.graph(), services.recommender(in_stock)))
        except FileNotFoundError as exc:
            log.warning("recommendation asked before the recommender was trained: %s", exc)
            dispatcher.utter_message(response="utter_recommend_unavailable")
            return []
        rec = with_variant(rec, events.recommendation_variant(tracker))  # the shopper's experiment arm
        cart = [line["sku"] for line in cart_lines(tracker)]
        return await self.answer(dispatcher, tracker, graph, rec, language(tracker), cart)

    @abstractmethod
    async def answer(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        graph: ProductGraph,
        rec: Any,
        lang: str,
        cart: list[str],
    ) -> Events:
        """Query the recommender and utter the answer."""


class ActionRecommendProducts(RecommendAction):
    """Personalised when the channel identifies a customer with orders; contextual from what the
    shopper looked at and has in the cart; popular items (in the asked category) otherwise."""

    def name(self) -> str:
        return "action_recommend_products"

    async def answer(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        graph: ProductGraph,
        rec: Any,
        lang: str,
        cart: list[str],
    ) -> Events:
        update, _ = await asyncio.to_thread(searching.query_from_turn, graph, tracker)
        if (update.category or update.part_type) and (
            update.filters or update.brands or update.price_min is not None or update.price_max is not None
        ):
            # "推荐个2T的固态硬盘": a kind with constraints the recommender cannot honour is a search
            return await searching.search_answer(dispatcher, tracker, graph, "search_products")
        try:  # the channel's customer, else the one the order service maps this sender to
            customer_id: str | None = await shopper_id(tracker)
        except OrderServiceError as exc:
            log.warning("recommendations without the customer's orders: %s", exc)
            customer_id = None
        viewed = viewed_skus(tracker, graph)
        category = await asyncio.to_thread(category_of_turn, tracker, graph)
        shown = shown_skus(tracker, graph)
        items = []
        if (
            category is None
            and len(shown) >= 2
            and AMONG_SHOWN.search(tracker.latest_message.get("text") or "")
        ):
            items = await asyncio.to_thread(
                rec.recommend_for_customer, customer_id, (), cart, min(3, len(shown) - 1), None, shown
            )
            category = category or Counter(graph.products[s].category_id for s in shown).most_common(1)[0][0]
        if not items:
            items = await asyncio.to_thread(
                rec.recommend_for_customer, customer_id, viewed, cart, K, category
            )
        if not items:
            dispatcher.utter_message(response="utter_recommend_none")
            return []
        known = customer_id is not None and customer_id in rec.model.interactions.user_index
        response = (
            "utter_recommend_for_you"
            if known
            else "utter_recommend_from_context"
            if viewed or cart
            else "utter_recommend_popular"
        )
        return present(dispatcher, graph, response, items, lang)


class ItemRecommendAction(RecommendAction):
    """Answers about one product: the one the message points at (SKU, "the first one", a name, the
    product in focus, else the last one put in the cart). A message naming a kind ("what cooler goes
    well with it") keeps that kind. Where the orders show nothing, the parts and accessories the
    knowledge graph says go with it are shown after saying so: thin co-purchase data is no reason
    to leave a shopper without an answer."""

    response = ""

    async def answer(
        self,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        graph: ProductGraph,
        rec: Any,
        lang: str,
        cart: list[str],
    ) -> Events:
        found = await asyncio.to_thread(resolve_products, tracker, graph)
        skus = found.skus or ([] if found.ambiguous else [s for s in cart if s in graph.products][-1:])
        if not skus:
            dispatcher.utter_message(response="utter_ask_which_product")
            return []
        product = graph.products[skus[0]]
        wanted = await asyncio.to_thread(answers.asked_part_type, tracker, graph, product)
        try:
            items = await asyncio.to_thread(self.items, rec, product.sku, cart)
        except KeyError:  # a product the recommender has never seen (not in its catalogue)
            items = []
        items = [
            i for i in items if i.sku in graph.products and wanted in (None, graph.products[i.sku].part_type)
        ]
        focus = [SlotSet("product_sku", product.sku)]
        if not items:
            dispatcher.utter_message(response=f"{self.response}_none", product=product.name)
            fallback = CollectingDispatcher()  # shown only when the graph has something to go with it
            events = await answers.accessories_answer(fallback, tracker, graph, product, lang)
            if any(m.get("response") in ("utter_accessories", "utter_fits_with") for m in fallback.messages):
                dispatcher.messages.extend(fallback.messages)
                return events
            return focus
        return present(dispatcher, graph, self.response, items, lang, product=product.name) + focus

    @abstractmethod
    def items(self, rec: Any, sku: str, cart: list[str]) -> list[Any]:
        """The recommender's answer for one product."""


class ActionBoughtTogether(ItemRecommendAction):
    """ "What goes with this?": the strongest basket rules (lift) for the product."""

    response = "utter_recommend_together"

    def name(self) -> str:
        return "action_bought_together"

    def items(self, rec: Any, sku: str, cart: list[str]) -> list[Any]:
        return rec.bought_together(sku, K, cart, by="lift")


class ActionAlsoBought(ItemRecommendAction):
    """ "Customers who bought X also bought": the most frequent companions (confidence)."""

    response = "utter_recommend_also_bought"

    def name(self) -> str:
        return "action_also_bought"

    def items(self, rec: Any, sku: str, cart: list[str]) -> list[Any]:
        return rec.bought_together(sku, K, cart, by="confidence")


@dataclass(frozen=True)
class CatalogueReason:
    """The one-line reason of an alternative the knowledge graph found, shaped like the recommender's
    Reason so that `present` lists both the same way."""

    en: str
    zh: str

    def text(self, lang: str = "en") -> str:
        return self.zh if lang == "zh" else self.en


@dataclass(frozen=True)
class Alternative:
    sku: str
    reason: CatalogueReason


def alternative_reason(product: Product, other: Product, mode: str) -> CatalogueReason:
    """Why `other` is offered instead of `product`: the price gap for "cheaper", the primary spec and
    the extra cost for "better", closeness in specs and price for "similar"."""
    gap = abs(product.price - other.price)
    if mode == "cheaper":
        return CatalogueReason(
            f"{format_price(gap, 'en')} less than {product.name}",
            f"比{product.name}便宜{format_price(gap, 'zh')}",
        )
    primary = part_types().get(product.part_type or "", {}).get("primary_spec")
    if mode == "better" and primary in other.attributes and primary in product.attributes:
        theirs, mine = other.attributes[primary], product.attributes[primary]
        return CatalogueReason(
            f"{attribute_name(primary, 'en')} {format_value(primary, theirs, 'en')} vs "
            f"{format_value(primary, mine, 'en')} on {product.name}, for {format_price(gap, 'en')} more",
            f"{attribute_name(primary, 'zh')}{format_value(primary, theirs, 'zh')}"
            f"（{product.name}为{format_value(primary, mine, 'zh')}），贵{format_price(gap, 'zh')}",
        )
    return CatalogueReason(f"Close to {product.name} in specs and price", f"规格和价格与{product.name}接近")


def recommender_similar(sku: str, cart: list[str], in_stock: Callable[[str], bool]) -> list[Any]:
    """The recommender's alternatives (catalogue content plus co-purchase, in stock, fitting the cart);
    empty when it is not trained yet or has never seen the product, so the graph answers instead."""
    try:
        return services.recommender(in_stock).similar_items(sku, K, cart)
    except FileNotFoundError as exc:
        log.info("similar products from the knowledge graph: the recommender is not trained (%s)", exc)
    except KeyError:
        pass
    return []


def graph_alternatives(
    graph: ProductGraph, product: Product, mode: str, cart: list[str], in_stock: Callable[[str], bool]
) -> list[Alternative]:
    """Nearest products of the same type on key specs and price (or cheaper / step-up ones), minus
    those available nowhere and those the compatibility rules say conflict with the cart."""
    fits = cart_compatibility(graph.products)
    found = api.similar(graph, product.sku, mode, 3 * K)
    return [
        Alternative(p.sku, alternative_reason(product, p, mode))
        for p in found
        if p.sku not in cart and in_stock(p.sku) and fits(p.sku, cart)
    ][:K]


class ActionShowSimilar(Action):
    """ "Something similar to X" / "show me similar ones" / "a cheaper alternative" / "something
    better": similar products come from the recommender (catalogue similarity and what the same
    customers bought) and from the knowledge graph's spec neighbours when the recommender cannot
    answer; cheaper and step-up alternatives need the graph's specs. Each product gets its reason."""

    responses = {
        "similar": "utter_similar_alternatives",
        "cheaper": "utter_cheaper_alternatives",
        "better": "utter_better_alternatives",
    }

    def name(self) -> str:
        return "action_show_similar"

    async def run(self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]) -> Events:
        graph = await asyncio.to_thread(services.graph)
        skus = (await asyncio.to_thread(resolve_products, tracker, graph)).skus
        if not skus:
            dispatcher.utter_message(response="utter_ask_which_product")
            return []
        product = graph.products[skus[0]]
        text = tracker.latest_message.get("text") or ""
        mode = (
            "cheaper"
            if CHEAPER_WORDS.search(text)
            else "better"
            if PRICIER_WORDS.search(text) or BETTER_WORDS.search(text)
            else "similar"
        )
        cart = [line["sku"] for line in cart_lines(tracker)]
        in_stock = await services.in_stock_filter()
        items: list[Any] = []
        if mode == "similar":
            items = await asyncio.to_thread(recommender_similar, product.sku, cart, in_stock)
        if not items:
            items = await asyncio.to_thread(graph_alternatives, graph, product, mode, cart, in_stock)
        focus = [SlotSet("product_sku", product.sku)]
        if not items:
            dispatcher.utter_message(response="utter_no_similar", product=product.name)
            return focus
        return (
            present(dispatcher, graph, self.responses[mode], items, language(tracker), product=product.name)
            + focus
        )
