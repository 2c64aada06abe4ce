"""Answering from the FAQ retriever (faq/): a confident match, a follow-up of the FAQ answer just
given, a product question the FAQ does not know, else the closest questions as buttons.

Shared by the FAQ actions (actions.faq) and the actions whose intents a policy question is often
taken for (stock, returns), so that action modules need not import one another. A confident match is
answered with the entry's text (answers live in data/faq, both languages). Below the calibrated
threshold the bot says it is not sure and offers the closest questions as buttons plus a way to a
human, instead of guessing: a confident wrong answer is the one outcome the FAQ must avoid. A button
re-enters action_answer_faq with the chosen entry's id (`/faq{"faq_id": …}`).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import answers, references, services
from actions.common import entity_values, language
from faq.models import FaqEntry, SearchResult
from faq.retriever import FaqRetriever, get_retriever
from knowledge_graph.parse import find_attribute

SUGGESTIONS = 3
HUMAN_TOPIC = "contact.human"
HANDOFF_INTENT = "request_human"  # the hand-over intent, when the domain has it
# A follow-up ("and if the box is already opened?") is read together with the FAQ question answered
# just before; its own words must still point at the entry (one of its FOLLOW_UP_POOL closest), and
# the combined text may score a little below the threshold (FOLLOW_UP_SLACK of it): the previous
# question's words are spread over that question's neighbours, which lowers every score.
FOLLOW_UP_POOL = 3
FOLLOW_UP_SLACK = 0.8
FOLLOW_UP_OWN_MIN = 0.5  # the follow-up's own score for that entry, as a share of the threshold
# a follow-up whose own words point clearly at one entry of the topic just answered ("what if it showed
# up broken?" after the returns answer): its best entry at least this many times the runner-up's score
FOLLOW_UP_OWN_LEAD = 1.5


def faq_payload(entry_id: str) -> str:
    return "/faq" + json.dumps({"faq_id": entry_id})


def previous_faq_question(tracker: Tracker, retriever: FaqRetriever, lang: str) -> tuple[str, str] | None:
    """(question, entry id) of the FAQ turn just before this message, when the bot's last action was
    a FAQ answer: the shopper's own words, or the chosen entry's question after a button."""
    users = [i for i, e in enumerate(tracker.events) if e.get("event") == "user"]
    if len(users) < 2:
        return None
    before = tracker.events[users[-2] + 1 : users[-1]]
    actions = [
        e.get("name") for e in before if e.get("event") == "action" and e.get("name") != "action_listen"
    ]
    answered = [e for e in before if e.get("event") == "bot"]
    if not actions or actions[-1] != "action_answer_faq" or not answered:
        return None
    previous = tracker.events[users[-2]]
    parse = previous.get("parse_data") or {}
    chosen = [e.get("value") for e in parse.get("entities") or [] if e.get("entity") == "faq_id"]
    entry = retriever.entry(chosen[0]) if chosen else None
    if entry is not None:
        return entry.question(lang), entry.id
    text = (previous.get("text") or "").strip()
    if not text or text.startswith("/"):
        return None
    result = retriever.search(text, lang, 1)
    return text, (result.best.entry.id if result.confident else "")


def follow_up_answer(
    retriever: FaqRetriever, text: str, lang: str, previous: tuple[str, str], own: SearchResult
) -> FaqEntry | None:
    """The entry a follow-up asks about: the previous question and the follow-up searched together,
    the entry already answered left out unless the follow-up alone points at it first ("装好了能自提吗"
    after the assembly answer, which says when it can be picked up), and the follow-up's own closest
    entries must include it (so the previous topic alone cannot answer)."""
    question, answered = previous
    combined = retriever.search(f"{question} {text}", lang, FOLLOW_UP_POOL + 2)
    own_ids = [
        c.entry.id for c in own.candidates[:FOLLOW_UP_POOL] if c.fused >= own.threshold * FOLLOW_UP_OWN_MIN
    ]
    for candidate in combined.candidates:
        if candidate.entry.id == answered and own_ids[:1] != [answered]:
            continue
        if candidate.entry.id in own_ids and candidate.fused >= combined.threshold * FOLLOW_UP_SLACK:
            return candidate.entry
        break
    return _clear_in_topic(retriever, own, answered)


def _clear_in_topic(retriever: FaqRetriever, own: SearchResult, answered: str) -> FaqEntry | None:
    """The follow-up's own best entry when it is of the topic just answered (returns → returns.damaged),
    above FOLLOW_UP_OWN_MIN of the threshold and FOLLOW_UP_OWN_LEAD times ahead of the next one."""
    previous = retriever.entry(answered) if answered else None
    if previous is None or len(own.candidates) < 2:
        return None
    best, second = own.candidates[0], own.candidates[1]
    same_topic = best.entry.topic.split(".")[0] == previous.topic.split(".")[0]
    clear = (
        best.fused >= own.threshold * FOLLOW_UP_OWN_MIN and best.fused >= FOLLOW_UP_OWN_LEAD * second.fused
    )
    return best.entry if same_topic and clear and best.entry.id != answered else None


def fallback_buttons(
    retriever: FaqRetriever, candidates: list[FaqEntry], lang: str, domain_intents: list[str]
) -> list[dict[str, str]]:
    """The closest questions in the shopper's language, then the way to a human: the hand-over
    intent when the domain has one, otherwise the FAQ's own contact.human entry."""
    human = next((e for e in retriever.entries if e.topic == HUMAN_TOPIC), None)
    questions = [e for e in candidates if human is None or e.topic != HUMAN_TOPIC][:SUGGESTIONS]
    buttons = [{"title": e.question(lang), "payload": faq_payload(e.id)} for e in questions]
    if human is not None:
        payload = "/" + HANDOFF_INTENT if HANDOFF_INTENT in domain_intents else faq_payload(human.id)
        buttons.append({"title": human.question(lang), "payload": payload})
    return buttons


async def policy_answer(dispatcher: CollectingDispatcher, tracker: Tracker, lang: str) -> bool:
    """A shop-policy question the NLU gave another intent ("how do returns work here" as help, "拆封了也
    能退吗" as a return request, "装好了能自提吗" as a stock question): answered when the FAQ is sure of
    it, or when it follows up the FAQ answer just given. False (nothing said) otherwise."""
    text = (tracker.latest_message.get("text") or "").strip()
    if not text or text.startswith("/"):
        return False
    retriever = await asyncio.to_thread(get_retriever)
    result = await asyncio.to_thread(retriever.search, text, lang, SUGGESTIONS + 1)
    entry = result.best.entry if result.confident else None
    if entry is None:
        previous = await asyncio.to_thread(previous_faq_question, tracker, retriever, lang)
        if previous is not None:
            entry = await asyncio.to_thread(follow_up_answer, retriever, text, lang, previous, result)
    if entry is None:
        return False
    dispatcher.utter_message(text=answers.faq_text(entry, lang))
    return True


async def answer_faq(
    dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
) -> list[dict[str, Any]]:
    """action_answer_faq: the entry a button chose, the confident match, the follow-up of the FAQ
    answer just given, the product the question points at, else the closest questions."""
    lang = language(tracker)
    retriever = await asyncio.to_thread(get_retriever)  # loads once per process
    chosen = [retriever.entry(x) for x in entity_values(tracker, "faq_id")]
    if chosen and chosen[0] is not None:
        dispatcher.utter_message(text=answers.faq_text(chosen[0], lang))
        return []
    text = (tracker.latest_message.get("text") or "").strip()
    if not text or text.startswith("/"):
        dispatcher.utter_message(response="utter_faq_ask_question")
        return []
    result = await asyncio.to_thread(retriever.search, text, lang, SUGGESTIONS + 1)
    if result.confident:
        dispatcher.utter_message(text=answers.faq_text(result.best.entry, lang))
        return []
    previous = await asyncio.to_thread(previous_faq_question, tracker, retriever, lang)
    if previous is not None:
        entry = await asyncio.to_thread(follow_up_answer, retriever, text, lang, previous, result)
        if entry is not None:
            dispatcher.utter_message(text=answers.faq_text(entry, lang))
            return []
    about_product = await product_question(dispatcher, tracker, lang, text)
    if about_product is not None:
        return about_product
    buttons = fallback_buttons(
        retriever, result.suggestions(SUGGESTIONS + 1), lang, domain.get("intents", [])
    )
    dispatcher.utter_message(response="utter_faq_not_sure", buttons=buttons)
    return []


async def product_question(
    dispatcher: CollectingDispatcher, tracker: Tracker, lang: str, text: str
) -> list[dict[str, Any]] | None:
    """A question the FAQ does not know that points at a product ("那第二款多少钱？", "最贵的那个呢？",
    "9800X3D 多少钱"): answered about that product, as the product actions would; None otherwise."""
    graph = await asyncio.to_thread(services.graph)
    found = await asyncio.to_thread(references.resolve_products, tracker, graph)
    if not found.skus or found.source not in ("sku", "ordinal", "superlative", "mention"):
        return None
    product = graph.products[found.skus[0]]
    if find_attribute(text, product) is not None:
        return await answers.attribute_answer(dispatcher, tracker, graph, product, lang)
    return await answers.product_answer(dispatcher, tracker, graph, product, lang)
