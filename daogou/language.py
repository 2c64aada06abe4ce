"""Which language the shopper is speaking, message by message.

Pure Python with no dependencies: it is imported both by the Rasa server (bot/nlg.py, in
.venv-rasa) and by the action server, so both sides always agree on the language of a turn.
"""
from __future__ import annotations

from typing import Iterable

LANGUAGES = ("en", "zh")
DEFAULT = "en"


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff"


def detect(text: str | None) -> str | None:
    """"zh" when the message contains Chinese characters, "en" when it contains Latin letters
    only, None when it carries no evidence (digits, emoji, a button payload such as "/affirm").

    One Chinese character is enough: shoppers mix English product names into Chinese sentences
    ("AMD的CPU有货吗"), never the other way round."""
    if not text or text.startswith("/"):
        return None
    if any(_is_cjk(ch) for ch in text):
        return "zh"
    if any(ch.isascii() and ch.isalpha() for ch in text):
        return "en"
    return None


def conversation_language(user_texts_newest_first: Iterable[str | None], default: str = DEFAULT) -> str:
    """The language of the latest user message that shows one, so a bare "2" or a button click
    keeps the language the shopper was using."""
    for text in user_texts_newest_first:
        found = detect(text)
        if found:
            return found
    return default
