"""Which language the shopper is speaking, message by message.

Pure Python with no dependencies: it is imported both by the Rasa server (bot/nlg.py, in
.venv-rasa) and by the action server, so both sides always agree on the language of a turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

LANGUAGES = ("en", "zh")
DEFAULT = "en"


_WORD = re.compile(r"[a-z']+")
# Words that only an English sentence has: a short message without any of them is a name (a store, a
# product, a street) or a word Chinese shoppers type too ("ok", "thx"): it keeps the language.
ENGLISH_WORDS = frozenset(
    """a an the i i'm im me my you your we our it it's its this that these those is are was be
do does did can could would will should have has got get want need like please
not and or but with without for to of in on at from by about what which who where when
why how much many some any more less than then there here one ones too also just only instead else all
hi hello hey thanks thank yes no show find tell give add remove buy pick pickup
deliver delivery ship shipping stock cart checkout order orders price cost cheap cheaper cheapest best
other another same first second third last next previous stop cancel help""".split()
)


def _is_cjk(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u3400" <= ch <= "\u4dbf" or "\uf900" <= ch <= "\ufaff"


def detect(text: str | None) -> str | None:
    """ "zh" when the message contains Chinese characters, "en" when it contains Latin letters
    only, None when it carries no evidence (digits, emoji, a button payload such as "/affirm").

    One Chinese character is enough: shoppers mix English product names into Chinese sentences
    ("AMD的CPU有货吗"), never the other way round."""
    if not text or text.startswith("/"):
        return None
    if any(_is_cjk(ch) for ch in text):
        return "zh"
    words = _WORD.findall(text.lower())
    if not words:
        return None
    if len(words) <= 4 and not any(w in ENGLISH_WORDS for w in words):
        return None  # a bare name ("Walden Galleria", "RM850x") says nothing about the language
    return "en"


def conversation_language(user_texts_newest_first: Iterable[str | None], default: str = DEFAULT) -> str:
    """The language of the latest user message that shows one, so a bare "2" or a button click
    keeps the language the shopper was using."""
    for text in user_texts_newest_first:
        found = detect(text)
        if found:
            return found
    return default
