"""Language detection and the tokenisation behind the BM25 signal.

English: lower-cased words, a light suffix stripper (so "returns"/"returning" meet "return") and a
stop-word list. Chinese: jieba's search-mode segmentation (long words also yield their parts, so
"退货政策" still meets "退货"), punctuation and function words dropped, plus the character bigrams of
every Chinese run, and its single characters: shoppers' wording rarely segments the way the FAQ's
does ("邮费怎么收" vs "运费多少钱"); bigrams measurably recover those matches (dev set, BM25-only
top-1 0.76 → 0.83) and characters a little more (0.83 → 0.87 fused with the other changes of that
run, see docs/faq.md).
Latin words inside a Chinese query (SKU, brand, "PayPal") are kept with the English treatment.
"""

from __future__ import annotations

import re
from functools import lru_cache

EN_STOPWORDS = frozenset(
    """
a an the and or but if then so of to in on at by for from with about as into over is are was were be been
being am do does did doing have has had having i me my mine you your yours we us our ours it its they them
their this that these those there here what which who whom whose when where why how can could would should
will shall may might must just please hi hello hey thanks thank ok okay any some also too very really still
get got let im ive id dont does doesnt didnt isnt arent wont cant u ur pls plz yo hmm um
""".split()
)

ZH_STOPWORDS = frozenset(
    """
的 了 吗 呢 吧 啊 呀 哦 嘛 么 是 在 我 我们 你 你们 您 他 她 它 这 那 这个 那个 一个 什么 怎么 怎样 如何 请问 请
和 与 或 或者 还是 就 都 也 还 要 想 可以 能 能不能 可不可以 会 有 有没有 没有 吗 一下 下 个 得 地 着 过 把 被
给 让 对 从 到 为 为什么 多少 哪 哪里 哪些 几 吗 呢 嗯 好 好的 谢谢 你好 麻烦 问 问下 问一下 一些 些 自己
""".split()
)

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_CJK_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{2,}")
_LATIN_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def detect_language(text: str) -> str:
    """ "zh" as soon as a Chinese character appears (mixed "RTX 4090 有货吗" is a Chinese question)."""
    return "zh" if has_cjk(text) else "en"


def stem(word: str) -> str:
    """A deliberately small English suffix stripper: enough to join inflections, never a lemmatiser."""
    if word.endswith("'s"):
        word = word[:-2]
    word = word.replace("'", "")
    for suffix, repl, min_len in (
        ("ies", "y", 5),
        ("ing", "", 6),
        ("ed", "", 5),
        ("es", "", 6),
        ("s", "", 4),
    ):
        if len(word) >= min_len and word.endswith(suffix) and not word.endswith("ss"):
            return word[: -len(suffix)] + repl
    return word


def english_tokens(text: str) -> list[str]:
    return [stem(w) for w in _LATIN_WORD.findall(text.lower()) if w not in EN_STOPWORDS]


@lru_cache(maxsize=1)
def _jieba():
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    tokenizer = jieba.Tokenizer()
    for word in (
        "发票",
        "自提",
        "以旧换新",
        "价保",
        "保价",
        "退差价",
        "分期",
        "免息",
        "积分",
        "会员",
        "礼品卡",
        "优惠券",
        "学生优惠",
        "预售",
        "到货通知",
        "装机",
        "上门安装",
        "运费",
        "包邮",
        "退款",
        "退货",
        "换货",
        "保修",
        "质保",
        "开票",
        "增值税",
        "代取",
        "取货码",
        "物流",
        "快递单号",
    ):
        tokenizer.add_word(word)
    return tokenizer


class Synonyms:
    """Groups of interchangeable Chinese wordings (data/faq/synonyms.yaml): every occurrence of a
    group's term in a text adds the group's token ("~" + group name), on both the FAQ's side and the
    shopper's, so "邮费" meets "运费" and "质保" meets "保修" although they share no character.

    Terms are matched as substrings (longest first, no overlaps): jieba's segmentation of a shopper's
    wording often differs from the FAQ's, a substring does not depend on it. Each occurrence counts
    WEIGHT times: one group token stands for a whole word that the characters and bigrams of the
    other wording cannot match (tuning split, top-1: once 0.838, twice 0.868; docs/faq.md).
    The Chinese terms also join jieba's dictionary, so "在校生" or "妥投" is segmented as one word
    (tuning split top-1 0.944 → 0.954, confident wrong answers 0.010 → 0.005).
    """

    WEIGHT = 2

    def __init__(self, groups: dict[str, tuple[str, ...]]):
        self.groups = groups
        owner = {term.lower(): name for name, terms in groups.items() for term in terms}
        self._owner = owner
        terms = sorted(owner, key=len, reverse=True)
        self._pattern = re.compile("|".join(re.escape(t) for t in terms)) if terms else None
        for term in terms:
            if len(term) >= 2 and has_cjk(term):
                _jieba().add_word(term)

    def tokens(self, text: str) -> list[str]:
        if self._pattern is None:
            return []
        found = ["~" + self._owner[m.group(0)] for m in self._pattern.finditer(text.lower())]
        return found * self.WEIGHT


def chinese_tokens(text: str, synonyms: Synonyms | None = None) -> list[str]:
    tokens: list[str] = []
    for piece in _jieba().cut_for_search(text.lower()):
        piece = piece.strip()
        if not piece or piece in ZH_STOPWORDS:
            continue
        if has_cjk(piece):
            tokens.append(piece)
        else:
            tokens.extend(english_tokens(piece))
    for run in _CJK_RUN.findall(text):
        tokens.extend("#" + run[i : i + 2] for i in range(len(run) - 1))  # '#': never equal to a word
    # single characters too ('@' prefix): one character often carries the whole meaning ("退", "修",
    # "换", "碎"), and shoppers' words share it with the FAQ's even when no bigram matches
    tokens.extend("@" + c for c in _CJK.findall(text) if c not in ZH_STOPWORDS)
    if synonyms is not None:
        tokens.extend(synonyms.tokens(text))
    return tokens


def tokenize(text: str, lang: str, synonyms: Synonyms | None = None) -> list[str]:
    return chinese_tokens(text, synonyms) if lang == "zh" else english_tokens(text)


def deletions(word: str) -> set[str]:
    """The word with one character removed, every way: two words within one edit share one of these
    (or one is the other's deletion), which makes typo lookup a dictionary hit instead of a scan."""
    return {word[:i] + word[i + 1 :] for i in range(len(word))}


class TypoCorrector:
    """Maps an unknown English token to a known one at edit distance one (transpositions included).

    Shoppers type "retrun" or "shiping"; without this the BM25 signal loses the word entirely.
    Only tokens of five or more letters are corrected (short ones are too ambiguous), and only to a
    word with the same first letter.
    """

    MIN_LENGTH = 5

    def __init__(self, vocabulary: set[str], frequency: dict[str, int] | None = None):
        self.vocabulary = vocabulary
        self.frequency = frequency or {}
        self._by_deletion: dict[str, set[str]] = {}
        for word in vocabulary:
            if len(word) >= self.MIN_LENGTH - 1:
                for key in deletions(word) | {word}:
                    self._by_deletion.setdefault(key, set()).add(word)

    def correct(self, token: str) -> str:
        if token in self.vocabulary or len(token) < self.MIN_LENGTH or not token.isalpha():
            return token
        found: set[str] = set(self._by_deletion.get(token, ()))
        for key in deletions(token):
            found |= self._by_deletion.get(key, set())
            if key in self.vocabulary:
                found.add(key)
        found = {
            w for w in found if w[0] == token[0]
        }  # typos rarely hit the first letter; "amount" ≠ "mount"
        if not found:
            return token
        return max(sorted(found), key=lambda w: self.frequency.get(w, 0))

    @classmethod
    def for_texts(cls, texts: list[str]) -> TypoCorrector:
        """A corrector over the surface words (lower-cased, unstemmed) of some English texts."""
        counts: dict[str, int] = {}
        for text in texts:
            for word in _LATIN_WORD.findall(text.lower()):
                counts[word] = counts.get(word, 0) + 1
        return cls(set(counts), counts)

    def correct_text(self, text: str) -> str:
        """The text with each misspelt word replaced: what the embedding model sees, since a
        word-piece model reads "retrun" as unrelated pieces."""
        return _LATIN_WORD.sub(lambda m: self.correct(m.group(0)), text.lower())
