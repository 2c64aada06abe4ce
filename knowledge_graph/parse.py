"""From shopper wording (English or Chinese) to typed queries: which category, brands, budget,
attribute conditions with units and comparisons, sort order, and which products are mentioned.

Used by the CLI, the benchmark and as the actions' fallback when NLU entities are incomplete; the
actions prefer the NLU entities, which use the same vocabulary (scripts/generate_nlu_lookups.py)."""

from __future__ import annotations

import re
import statistics
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from pypinyin import lazy_pinyin
from rapidfuzz import process
from rapidfuzz.distance import OSA, Indel, Levenshtein

from catalog.models import Product
from catalog.part_rules import case_types_for
from catalog.reference import load_yaml, part_types
from knowledge_graph.graph import ProductGraph
from knowledge_graph.search import AttributeFilter, SearchQuery
from knowledge_graph.vocab import attributes, tokens, zh_categories, zh_value_synonyms

_L = r"(?<![A-Za-z0-9])"  # word boundaries that also hold next to Chinese characters
_R = r"(?![A-Za-z0-9])"
NUM = r"(\d+(?:,\d{3})*(?:\.\d+)?)"
CURRENCY_EN = r"(?:\s*(?:dollars?|usd|bucks|yuan|rmb|cny))"
CURRENCY_ZH = r"(?:\s*(?:美元|美金|刀|块钱|块|人民币|元|rmb|RMB|yuan|cny))"
_DOLLAR = re.compile(r"\$|美元|美金|刀|usd|dollar|bucks", re.I)
_YUAN = re.compile(r"(?<!美)元|块|人民币|rmb|yuan|cny|¥", re.I)  # budgets in yuan are converted to USD
_NB = r"(?<![A-Za-z\d.\-])"  # a number that is not the tail of DDR4, i9, BB-1065552…
UNIT_WORDS = (
    r"(?:\s*(?:gb|tb|mb|hz|mhz|ghz|w|watts?|inch(?:es)?|in|\"|英寸|寸|mm|dpi|ms|cores?|核|g|l|va|cfm|db|rpm))"
)
STOPWORDS = set(
    """a an the some any me i my we you show find get want need looking look for with and or of in on to
is are it its that this which what who how much many do does can could would will should please pc computer
new good best great nice cheap cheaper budget under below over above less more than at least most up
between around about price priced cost costs costing dollar dollars usd bucks one ones buy recommend
only just instead those these them they but other else something anything also too same similar like
than then there here now please thanks ok okay yes no not only show more less expensive affordable""".split()
)


# words that ask about a product without naming it; never corrected into product words
ASKING_WORDS = set(
    """carry stock stocks available availability price prices cost costs much many have has got
sell sells selling deal deals review reviews spec specs detail details info information tell about
compare versus vs fit fits compatible work works with without which what where when who store stores
shop order orders cart add remove buy purchase ship shipping deliver delivery pickup pick up there here
first second third last one ones cheaper cheapest expensive better best""".split()
)


_NLU_DIR = Path(__file__).resolve().parents[1] / "data" / "nlu"


@lru_cache(maxsize=1)
def ordinary_words() -> frozenset[str]:
    """Words shoppers use in requests (the NLU training data's vocabulary): they are not typos of
    product words. Entity markup is read as plain words."""
    words: set[str] = set(ASKING_WORDS) | STOPWORDS
    for path in sorted(_NLU_DIR.glob("*.yml")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.lstrip().startswith("- "):
                words.update(tokens(re.sub(r"\{[^}]*\}|\([^)]*\)", " ", line)))
    return frozenset(words)


def _num(text: str) -> float:
    return float(text.replace(",", ""))


@dataclass(frozen=True)
class ParsedQuery:
    query: SearchQuery
    consumed: tuple[str, ...]  # what was understood, for debugging and tests
    inferred_part_type: bool = (
        False  # the part type comes from a unit or value ("DDR5", "144Hz"), not a category word
    )
    # a budget said in yuan, as (amount said, "CNY", US dollars at kg_cny_per_usd), so the reply can
    # say "¥3,000 ≈ $416.67"; None when no amount was converted
    currency_note: tuple[float, str, float] | None = None
    # category words read through a typo or a variant spelling: (as written, as understood), e.g.
    # ("moniter", "monitor"), so the reply can say what it understood
    corrected: tuple[tuple[str, str], ...] = ()
    # "highest rated", "most popular", "最受欢迎": the catalogue has no ratings; relevance order is
    # the source's popularity order, which is what the reply should call it
    popular: bool = False


_CJK_GAP = re.compile(r"(?<=[\u4e00-\u9fff])\s+(?=[\u4e00-\u9fff])")


def normalize(text: str) -> str:
    """Full-width letters, digits and signs as ASCII (ＲＴＸ４０７０, ￥, ～) and no spaces between
    Chinese characters ("显 卡"): shoppers on Chinese keyboards type both, and neither changes meaning."""
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'")
    return _CJK_GAP.sub("", text) if not text.isascii() else text


_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")


class PhraseIndex:
    """Whole-word phrase matching with the result of the regex `_L(p1|p2|…)_R` over phrases sorted
    longest first (leftmost match, then longest, non-overlapping), without its cost: a regex
    alternation of hundreds of phrases tries each one at every position of the text, this looks
    only at the phrases starting with the character found at a word start."""

    def __init__(self, phrases: Iterable[str], fold: bool):
        self.fold = fold
        self._by_first: dict[str, list[str]] = {}
        for phrase in sorted({p.lower() if fold else p for p in phrases if p}, key=len, reverse=True):
            self._by_first.setdefault(phrase[0], []).append(phrase)

    def spans(self, text: str) -> list[tuple[int, int, str]]:
        """(start, end, phrase as indexed) of every match, left to right."""
        folded = text.lower() if self.fold else text
        if len(folded) != len(text):  # a character whose lower case is longer: fold ASCII only
            folded = "".join(c.lower() if c.isascii() else c for c in text)
        found: list[tuple[int, int, str]] = []
        i, n = 0, len(folded)
        while i < n:
            candidates = self._by_first.get(folded[i])
            if candidates and (i == 0 or folded[i - 1] not in _ALNUM):
                for phrase in candidates:
                    end = i + len(phrase)
                    if folded.startswith(phrase, i) and (end == n or folded[end] not in _ALNUM):
                        found.append((i, end, phrase))
                        i = end
                        break
                else:
                    i += 1
            else:
                i += 1
        return found


@dataclass
class _Lexicon:
    """Phrase tables of one graph, built once: category words (English index, Chinese list) and
    brand names. `category_en*`/`category_zh` hold the canonical vocabulary (the NLU lookup tables
    are generated from it); `words_*` add the variants of category_variants.yaml for the parser."""

    category_en: PhraseIndex
    category_en_target: dict[str, tuple[str, str]]
    category_zh: list[tuple[str, str, str]]
    category_zh_ascii: list[tuple[str, str, str]]  # the Chinese list's Latin entries ("CPU"), in order
    brand_en: PhraseIndex
    brand_canonical: dict[str, str]
    brand_zh: list[tuple[str, str]]
    words_en: PhraseIndex = None  # type: ignore[assignment]
    words_en_target: dict[str, tuple[str, str]] = field(default_factory=dict)
    words_zh: list[tuple[str, str, str]] = field(default_factory=list)
    words_zh_ascii: list[tuple[str, str, str]] = field(default_factory=list)
    fuzzy: _FuzzyTables = None  # type: ignore[assignment]
    words_zh_by_first: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)
    vocabulary: frozenset[str] = frozenset()  # curated words (not category names): all fuzzy targets
    brand_words: list[str] = field(default_factory=list)  # one-word brands of 5+ letters: typo targets


_lexicons: dict[int, tuple[ProductGraph, _Lexicon]] = {}


def _target(value: str) -> tuple[str, str]:
    return ("part_type", value) if value in part_types() else ("category", value)


def lexicon(graph: ProductGraph) -> _Lexicon:
    cached = _lexicons.get(id(graph))
    if cached is not None and cached[0] is graph:
        return cached[1]
    en: dict[str, tuple[str, str]] = {}
    zh: dict[str, tuple[str, str]] = {}
    synonyms = load_yaml("category_synonyms.yaml")
    for phrase, cid in synonyms["en"].items():
        en[phrase.lower()] = ("category", cid)
    for phrase, cid in synonyms["zh"].items():
        zh[phrase] = ("category", cid)
    for pt, spec in part_types().items():
        for phrase in spec.get("synonyms_en", []) + [spec["en"]]:
            en.setdefault(str(phrase).lower(), ("part_type", pt))
        for phrase in spec.get("synonyms_zh", []) + [spec["zh"]]:
            zh.setdefault(str(phrase), ("part_type", pt))
    names = zh_categories()
    for cid in graph.used_categories:
        name = graph.categories[cid].name
        if name:
            en.setdefault(name.lower(), ("category", cid))
        if cid in names:
            zh.setdefault(names[cid], ("category", cid))
    category_zh = sorted(((p, k, t) for p, (k, t) in zh.items()), key=lambda x: -len(x[0]))
    variants = load_yaml("category_variants.yaml")
    # the parser reads normalized text (full-width signs as ASCII): its tables are normalized too
    words_en = {normalize(p): t for p, t in en.items()}

    def known(target: tuple[str, str]) -> bool:
        """A variant of a category this graph has (a small test catalogue lacks most; the real
        catalogue has all: tests/knowledge_graph/test_parse_robust.py checks it)."""
        return target[0] != "category" or target[1] in graph.categories

    for phrase, value in variants["en"].items():
        if known(_target(str(value))):
            words_en.setdefault(str(phrase).lower(), _target(str(value)))
    words_zh = {normalize(p): t for p, t in zh.items()}
    for phrase, value in variants["zh"].items():
        if known(_target(str(value))):
            words_zh.setdefault(str(phrase), _target(str(value)))
    curated = {str(p).lower() for p in synonyms["en"]} | {str(p).lower() for p in variants["en"]}
    curated |= {
        str(p).lower() for spec in part_types().values() for p in spec.get("synonyms_en", []) + [spec["en"]]
    }
    all_zh = sorted(((p, k, t) for p, (k, t) in words_zh.items()), key=lambda x: -len(x[0]))
    lex = _Lexicon(
        category_en=PhraseIndex(en, fold=False),
        category_en_target=en,
        category_zh=category_zh,
        category_zh_ascii=[entry for entry in category_zh if entry[0].isascii()],
        brand_en=PhraseIndex(_brand_aliases(graph.brands), fold=True),
        brand_canonical=_brand_aliases(graph.brands),
        brand_zh=[
            (w, b)
            for w, b in sorted(load_yaml("brands_zh.yaml").items(), key=lambda x: -len(x[0]))
            if b in graph.brands
        ],
        words_en=PhraseIndex(words_en, fold=False),
        words_en_target=words_en,
        words_zh=all_zh,
        words_zh_ascii=[entry for entry in all_zh if entry[0].isascii()],
        vocabulary=frozenset(curated),
        brand_words=sorted({b.lower() for b in graph.brands if b.isalpha() and len(b) >= 5} - _WORDY_BRANDS),
    )
    for entry in all_zh:
        lex.words_zh_by_first.setdefault(entry[0][0], []).append(entry)
    lex.fuzzy = _FuzzyTables.build(graph, lex, variants.get("not_typos") or {})
    _lexicons.clear()
    _lexicons[id(graph)] = (graph, lex)
    return lex


# brand names that are also ordinary words: only taken as a brand when written with capitals
_WORDY_BRANDS = {
    "final",
    "titan",
    "apex",
    "green",
    "trust",
    "encore",
    "galaxy",
    "deco",
    "nexus",
    "genius",
    "integral",
    "titanium",
    "shark",
    "cherry",
    "polk",
    "gear head",
    "mars gaming",
    "athena power",
    "rude gamewear",
}


def _take(text: str, span: tuple[int, int]) -> str:
    """Blank out a consumed span so later rules do not read it again."""
    return text[: span[0]] + " " * (span[1] - span[0]) + text[span[1] :]


# --- category words with typo tolerance ----------------------------------------------------------

_LATIN_WORD = re.compile(r"[A-Za-z0-9]+")
_HAN = re.compile(r"[\u4e00-\u9fff]+")


def _edit_budget(length: int) -> int:
    """Edits allowed for a phrase of this many characters: none below 5 (ssd, gpu, ram, case: any
    edit makes another word), one up to 9 (moniter, keybaord, processer; two would let "processes"
    through), two up to 13 (grafics card, motherbaord), three beyond."""
    return 0 if length < 5 else 1 if length <= 9 else 2 if length <= 13 else 3


@dataclass
class _FuzzyTables:
    """Category phrases grouped for rapidfuzz: English by (word count, first letter), Chinese by
    (first and last character, length). A typo keeps the first letter (shoppers rarely miss it, and it keeps
    "house" from becoming "mouse"), so only phrases with the same first letter are compared."""

    en: dict[tuple[int, str], list[str]]
    en_target: dict[
        str, tuple[str, str, str]
    ]  # phrase → (kind, target, phrase as the shopper should read it)
    zh: dict[tuple[str, int], list[str]]  # (first + last character, length) → phrases
    zh_target: dict[str, tuple[str, str]]
    known: frozenset[str]  # words that are never typos of a category word
    not_typos_zh: frozenset[str]
    lengths_zh: tuple[int, ...]
    sound_zh: dict[tuple[str, ...], list[str]] = field(default_factory=dict)  # toneless pinyin → phrases

    @classmethod
    def build(cls, graph: ProductGraph, lex: _Lexicon, not_typos: dict[str, list[str]]) -> _FuzzyTables:
        en: dict[tuple[int, str], list[str]] = {}
        en_target: dict[str, tuple[str, str, str]] = {}
        brands = set(lex.brand_canonical)
        for phrase, (kind, target) in lex.words_en_target.items():
            if len(phrase) < 5 or not re.fullmatch(r"[a-z]+(?: [a-z]+)*", phrase) or phrase in brands:
                continue  # acronyms, names with signs and brands are matched exactly only
            if phrase not in lex.vocabulary and len(graph.by_category.get(target, ())) < 20:
                continue  # the name of a small Best Buy category ("Irons", "Condenser")
            words = phrase.split()
            forms = [(len(words), phrase)] + ([(1, "".join(words))] if len(words) > 1 else [])
            for n, form in forms:
                if form not in en_target:
                    en.setdefault((n, form[0]), []).append(form)
                    en_target[form] = (kind, target, phrase)
        zh: dict[tuple[str, int], list[str]] = {}
        for phrase, _, _ in lex.words_zh:
            if len(phrase) >= 4 and _HAN.fullmatch(phrase):
                zh.setdefault((phrase[0] + phrase[-1], len(phrase)), []).append(phrase)
        phrase_words = {w for p in lex.words_en_target for w in p.split()}
        known = set(STOPWORDS) | _FILLER | phrase_words | {str(w).lower() for w in not_typos.get("en", [])}
        zh_target = {p: (k, t) for p, k, t in lex.words_zh}
        # sounds of the words shoppers use (not of every Best Buy category name: 家店 is not 家电)
        curated = set(load_yaml("category_synonyms.yaml")["zh"]) | {
            str(k) for k in load_yaml("category_variants.yaml")["zh"]
        }
        curated |= {
            str(p) for spec in part_types().values() for p in spec.get("synonyms_zh", []) + [spec["zh"]]
        }
        sound: dict[tuple[str, ...], list[str]] = {}
        for phrase, _, _ in lex.words_zh:
            if len(phrase) >= 2 and _HAN.fullmatch(phrase) and phrase in curated:
                sound.setdefault(tuple(lazy_pinyin(phrase)), []).append(phrase)
        return cls(
            en,
            en_target,
            zh,
            zh_target,
            frozenset(known),
            frozenset(str(w) for w in not_typos.get("zh", [])),
            tuple(sorted({n for _, n in zh})),
            sound,
        )

    def _known(self, graph: ProductGraph, word: str) -> bool:
        return word in self.known or word in graph.token_index or len(word) < 4 or not word.isalpha()

    def english(self, graph: ProductGraph, text: str) -> list[_Hit]:
        """Runs of 1–3 words holding a word neither the catalogue nor the vocabulary knows, matched
        against the category phrases of as many words (and one-word runs against multi-word phrases
        written together: "powersupply"), within the edit budget of the phrase."""
        words = [(m.start(), m.end(), m.group().lower()) for m in _LATIN_WORD.finditer(text)]
        unknown = [not self._known(graph, w) for _, _, w in words]
        if not any(unknown):
            return []
        found: list[_Hit] = []
        for i in range(len(words)):
            for n in (3, 2, 1):
                run = words[i : i + n]
                if len(run) < n or not any(unknown[i : i + n]) or not all(w.isalpha() for _, _, w in run):
                    continue
                if any(text[a[1] : b[0]] not in (" ", "  ", "-") for a, b in zip(run, run[1:])):
                    continue  # not adjacent words: something was taken between them
                said = " ".join(w for _, _, w in run)
                group = self.en.get((n, said[0]))
                if not group:
                    continue
                best = process.extractOne(
                    said, group, scorer=OSA.distance, score_cutoff=_edit_budget(len(said))
                )
                if best is None:
                    continue
                phrase, distance = best[0], int(best[1])
                if distance > _edit_budget(len(phrase)):
                    continue
                if len(phrase) <= 6 and Indel.distance(said, phrase) > 1 and sorted(said) != sorted(phrase):
                    continue  # short words: a letter missing, doubled or swapped, not replaced
                kind, target, shown = self.en_target[phrase]
                text_said = text[run[0][0] : run[-1][1]]
                found.append(_Hit(run[0][0], run[-1][1], kind, target, distance, (text_said, shown)))
        return _non_overlapping(found)

    def chinese(self, text: str) -> list[_Hit]:
        """Chinese phrases of four characters or more, one inner character off (机械建盘 → 机械键盘,
        电脑电原 → 电脑电源): the first and the last are right, the last being the thing itself (盘,
        源, 机), so 电视挂墙 does not become 电视挂架 nor 电脑配个 电脑配件. Shorter words are too easily
        another word one character away (显示我, 处理哪): their usual misspellings are listed in
        category_variants.yaml."""
        found: list[_Hit] = []
        for m in _HAN.finditer(text):
            run = m.group()
            found.extend(self._homophones(run, m.start()))
            for i in range(len(run)):
                for n in self.lengths_zh:
                    window = run[i : i + n]
                    if len(window) < n or window in self.not_typos_zh:
                        continue
                    group = self.zh.get((window[0] + window[-1], n))
                    if not group:
                        continue
                    best = process.extractOne(window, group, scorer=Levenshtein.distance, score_cutoff=1)
                    if best is not None and best[1] == 0:
                        kind, target = self.zh_target[best[0]]
                        found.append(_Hit(m.start() + i, m.start() + i + n, kind, target))
                    elif best is not None:
                        kind, target = self.zh_target[best[0]]
                        found.append(
                            _Hit(
                                m.start() + i,
                                m.start() + i + n,
                                kind,
                                target,
                                int(best[1]),
                                (window, best[0]),
                            )
                        )
        return _non_overlapping(found)

    def _homophones(self, run: str, offset: int) -> list[_Hit]:
        """Words typed with the wrong character of the same sound, as a pinyin keyboard makes them
        (现卡 → 显卡, 固太 → 固态, 散热气 → 散热器): the window sounds exactly like a category phrase
        (toneless pinyin), shares a character with it, is no word of its own (jieba's dictionary: 店员
        is not 电源), and does not cut a dictionary word in two (看见盘子 holds 见盘, not 键盘)."""
        sounds = lazy_pinyin(run)
        if len(sounds) != len(run):
            return []
        found: list[_Hit] = []
        for i in range(len(run)):
            for n in range(2, min(len(run) - i, 6) + 1):
                phrases = self.sound_zh.get(tuple(sounds[i : i + n]))
                window = run[i : i + n]
                if (
                    not phrases
                    or window in self.zh_target
                    or window in self.not_typos_zh
                    or _dictionary_word(window)
                ):
                    continue
                phrase = next((p for p in phrases if any(a == b for a, b in zip(p, window))), None)
                if phrase is None or _cuts_word(run, i, i + n):
                    continue
                kind, target = self.zh_target[phrase]
                found.append(_Hit(offset + i, offset + i + n, kind, target, 1, (window, phrase)))
        return found


@lru_cache(maxsize=1)
def _jieba() -> Any:
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    jieba.initialize()
    return jieba


def _dictionary_word(word: str) -> bool:
    return bool(_jieba().get_FREQ(word))


def _cuts_word(run: str, start: int, end: int) -> bool:
    """Whether a dictionary word of two or three characters straddles either edge of run[start:end]."""
    for edge in (start, end):
        for a in range(max(0, edge - 2), edge):
            for b in range(edge + 1, min(len(run), a + 3) + 1):
                if (a < start < b or a < end < b) and _dictionary_word(run[a:b]):
                    return True
    return False


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    kind: str
    target: str
    distance: int = 0  # edits from the phrase (0: written as in the vocabulary)
    corrected: tuple[str, str] | None = None


def _non_overlapping(hits: list[_Hit]) -> list[_Hit]:
    """Closest first, then longest; a hit overlapping a better one is dropped."""
    kept: list[_Hit] = []
    for h in sorted(hits, key=lambda h: (h.distance, -(h.end - h.start), h.start)):
        if all(h.end <= k.start or h.start >= k.end for k in kept):
            kept.append(h)
    return sorted(kept, key=lambda h: h.start)


# a category word after one of these, behind another category word, says what the first is for:
# "a mouse for my gaming PC", "a PC with 32GB RAM", "case for an ATX motherboard"; in Chinese the
# thing comes last and the purpose before 的/用/配: "游戏电脑的显卡", "给电脑配个显卡"
_FOR_EN = re.compile(
    r"(?i)(?<![a-z])(?:for|with|to|into|in|inside|on|fits?|fitting|compatible|matching|that)(?![a-z])"
)
_FOR_ZH = re.compile(r"的|用|配|装|给|适合|兼容|搭配")


@dataclass(frozen=True)
class CategoryMatch:
    category: str | None
    part_type: str | None
    text: str  # the text with every category word blanked
    corrected: tuple[tuple[str, str], ...] = ()  # typos read: (as written, phrase understood)


def match_category(graph: ProductGraph, text: str) -> CategoryMatch:
    """The category or part type the text asks for. Exact phrases (vocabulary and variants) first,
    then phrases with typos (rapidfuzz edit distance, see `_FuzzyTables`); a category word that only
    says what another is for ("… for my PC", "游戏电脑的…") gives way to that other one; among the
    rest the longest phrase wins. Consumed: the chosen thing's words, other category words and the
    purpose words; another part type's word stays, as it may be part of a brand (Cooler Master)."""
    text = normalize(text)
    lex = lexicon(graph)
    hits: list[_Hit] = []
    for start, end, phrase in lex.words_en.spans(text.lower()):
        kind, target = lex.words_en_target[phrase]
        hits.append(_Hit(start, end, kind, target))
    if text.isascii():
        for phrase, kind, target in lex.words_zh_ascii:
            i = text.find(phrase)
            if i >= 0:
                hits.append(_Hit(i, i + len(phrase), kind, target))
    else:
        # the Chinese list by first character: only phrases that can start at each position
        for i, char in enumerate(text):
            for phrase, kind, target in lex.words_zh_by_first.get(char, ()):
                if text.startswith(phrase, i):
                    hits.append(_Hit(i, i + len(phrase), kind, target))
    hits = _non_overlapping(hits)
    rest = text
    for h in hits:
        rest = _take(rest, (h.start, h.end))
    fuzzy = lex.fuzzy.english(graph, rest)
    if not text.isascii():
        # Chinese is read whole: 电脑电原 holds the word 电脑, which must not hide the longer
        # 电脑电源 one character off; an exact word inside a longer near match gives way to it
        near = lex.fuzzy.chinese(text)
        hits = [
            e
            for e in hits
            if not any(
                f.start <= e.start and e.end <= f.end and f.end - f.start > e.end - e.start for f in near
            )
        ]
        hits = _non_overlapping(hits + near)
    hits = sorted((h for h in hits + fuzzy if not _in_code(text, h)), key=lambda h: h.start)
    if not hits:
        return CategoryMatch(None, None, text)
    purpose = [_is_purpose(text, x, hits) for x in hits]
    heads = [x for x, p in zip(hits, purpose) if not p] or hits
    best = max(heads, key=lambda h: (h.end - h.start, -h.distance))
    for h, p in zip(hits, purpose):
        # the words understood: the chosen thing, other category words, and what it is for; another
        # part type's word stays ("Cooler Master … thermal paste": a brand)
        if h.target == best.target or p or h.kind == best.kind == "category":
            text = _take(text, (h.start, h.end))
    corrected = tuple(h.corrected for h in hits if h.corrected and h.target == best.target)
    if best.kind == "category":
        return CategoryMatch(best.target, None, text, corrected)
    return CategoryMatch(None, best.target, text, corrected)


def _in_code(text: str, hit: _Hit) -> bool:
    """Whether the phrase is part of a code such as the SKU PC-3F2A9B01C4."""
    return (text[hit.end : hit.end + 1] in ("-", "_") and text[hit.end + 1 : hit.end + 2].isalnum()) or (
        text[hit.start - 1 : hit.start] in ("-", "_") and text[hit.start - 2 : hit.start - 1].isalnum()
    )


def _is_purpose(text: str, hit: _Hit, hits: list[_Hit]) -> bool:
    """Whether the hit says what another category word is for (see _FOR_EN / _FOR_ZH)."""
    for other in hits:
        if other is hit:
            continue
        if other.end <= hit.start and _FOR_EN.search(text[other.end : hit.start]):
            return True
        if hit.end <= other.start and _FOR_ZH.search(text[hit.end : other.start]):
            return True
        if other.start == hit.end and not text[hit.start : other.end].isascii():
            return True  # a Chinese compound names its thing last: cpu散热器, 显卡支架
    return False


def find_category(graph: ProductGraph, text: str) -> tuple[str | None, str | None, str]:
    """(category, part type, rest of the text): see `match_category`."""
    m = match_category(graph, text)
    return m.category, m.part_type, m.text


def _brand_aliases(brands: Iterable[str]) -> dict[str, str]:
    """Brand names as shoppers type them (lower case) → the catalogue's: the name itself and the name
    without its punctuation ("be quiet" for "be quiet!", "g skill" for "G.Skill")."""
    aliases: dict[str, str] = {}
    for brand in brands:
        for form in (brand, re.sub(r"[^\w\s]+$", "", brand), re.sub(r"[^\w\s]+", " ", brand)):
            form = " ".join(form.lower().split())
            if len(form) >= 2:
                aliases.setdefault(form, brand)
    return aliases


_WORD = re.compile(r"(?<![A-Za-z0-9])[A-Za-z]{5,}(?![A-Za-z0-9])")


def misspelt_brands(graph: ProductGraph, text: str) -> list[tuple[int, int, str]]:
    """(start, end, brand) of words that are a brand misspelt by an edit or two ("logitec",
    "corsiar", "gigabye"): only words the catalogue's names do not use and that are not ordinary
    request words (ordinary_words), so "memory" never becomes Memorex."""
    ordinary = ordinary_words()
    lex = lexicon(graph)
    found = []
    for m in _WORD.finditer(text):
        word = m.group(0).lower()
        if word in ordinary or word in graph.token_index or word in STOPWORDS:
            continue
        hit = process.extractOne(word, lex.brand_words, scorer=Indel.normalized_similarity, score_cutoff=0.85)
        if hit is not None and hit[0][0] == word[0]:
            found.append((m.start(), m.end(), lex.brand_canonical[hit[0]]))
    return found


def find_brands(graph: ProductGraph, text: str) -> tuple[list[str], str]:
    lex = lexicon(graph)
    found: list[str] = []
    for start, end, phrase in lex.brand_en.spans(text):
        word = text[start:end]
        if phrase in _WORDY_BRANDS and word == word.lower():
            continue
        found.append(lex.brand_canonical[phrase])
        text = _take(text, (start, end))
    for start, end, brand in misspelt_brands(graph, text):
        found.append(brand)
        text = _take(text, (start, end))
    for zh, brand in [] if text.isascii() else lex.brand_zh:  # Chinese brand names
        i = text.find(zh)
        if i >= 0:
            found.append(brand)
            text = _take(text, (i, i + len(zh)))
    return list(dict.fromkeys(found)), text


_AROUND_EN = r"(?:around|about|roughly|approximately|approx\.?|circa|close to|somewhere around|~|≈)"
_MAX_EN = (
    r"(?:under|below|less than|cheaper than|up to|at most|no more than|max(?:imum)?|within|not over|<=?|≤)"
)
_MIN_EN = r"(?:over|above|more than|at least|from|min(?:imum)?|starting at|>=?|≥)"
_BUDGET_EN = r"(?:budget(?:\s+(?:is|of))?\s*:?\s*)"
_AROUND_ZH = r"(?:大概|大约|差不多)"
_BUDGET_ZH = r"(?:预算(?:是|在|为|有|只有|最多)?)"
_SIGN = r"[$¥]\s*"
# a bare number that is a price, not a quantity: two digits or more and no unit after it
_BARE = r"(\d{2,4}(?:,\d{3})?(?:\.\d+)?)(?![\d.,]|\s*(?:gb|tb|mb|hz|mhz|ghz|w\b|watts?|mm|\"|inch|in\b|ms|dpi|cores?|rpm|cfm|db|va\b|x\b|%|英寸|寸|核|瓦|个|台|年|月|天))"

_PRICE_RULES: list[tuple[str, re.Pattern[str]]] = [
    (
        "range",
        re.compile(
            r"(?:between|from)\s*(?:"
            + _SIGN
            + r")?"
            + NUM
            + CURRENCY_EN
            + r"?\s*(?:and|to|-|–)\s*(?:"
            + _SIGN
            + r")?"
            + NUM
            + CURRENCY_EN
            + r"?(?!\s*(?:gb|tb|hz|w|mhz|ghz|mm|\"|inch))",
            re.I,
        ),
    ),
    ("range", re.compile(_SIGN + NUM + r"\s*(?:-|–|to)\s*(?:" + _SIGN + r")?" + NUM, re.I)),
    (
        "range",
        re.compile(
            _NB
            + NUM
            + CURRENCY_ZH
            + r"?\s*(?:到|至|-|~|～)\s*"
            + NUM
            + r"(?:"
            + CURRENCY_ZH
            + r"(?:之间)?|\s*之间)"
        ),
    ),
    (
        "around",
        re.compile(
            r"(?:"
            + _BUDGET_EN
            + r")?"
            + _AROUND_EN
            + r"\s*(?:"
            + _SIGN
            + NUM
            + "|"
            + NUM
            + CURRENCY_EN
            + "|"
            + _BARE
            + ")",
            re.I,
        ),
    ),
    (
        "around",
        re.compile(
            r"(?:"
            + _BUDGET_ZH
            + r")?(?:"
            + _AROUND_ZH
            + r"\s*)?"
            + _NB
            + r"(?:"
            + _SIGN
            + r")?"
            + NUM
            + CURRENCY_ZH
            + r"?\s*(?:左右|上下)"
        ),
    ),
    (
        "around",
        re.compile(
            r"(?:"
            + _BUDGET_ZH
            + r")?"
            + _AROUND_ZH
            + r"\s*(?:"
            + _SIGN
            + r")?"
            + NUM
            + CURRENCY_ZH
            + r"?"
            + r"(?![\d.]|\s*[a-zA-Z\"寸核瓦个台])"
        ),
    ),
    (
        "max",
        re.compile(
            r"(?:"
            + _MAX_EN
            + "|"
            + _BUDGET_EN
            + r")\s*"
            + _SIGN
            + NUM
            + "|"
            + r"(?:"
            + _MAX_EN
            + "|"
            + _BUDGET_EN
            + r")\s*"
            + NUM
            + CURRENCY_EN
            + "?"
            + r"(?![\d.]|\s*(?:gb|tb|hz|w\b|watts?|mhz|ghz|mm|\"|inch|ms|dpi|cores?))",
            re.I,
        ),
    ),
    (
        "max",
        re.compile(
            r"(?:不超过|低于|少于|不到|最多|小于|不高于|"
            + _BUDGET_ZH
            + r")\s*(?:"
            + _SIGN
            + r")?"
            + NUM
            + CURRENCY_ZH
            + "?"
            + r"(?![\d.]|\s*[a-zA-Z\"寸核瓦])"
        ),
    ),
    (
        "max",
        re.compile(
            _NB
            + r"(?:"
            + _SIGN
            + r")?"
            + NUM
            + CURRENCY_ZH
            + r"?\s*(?:以下|以内|之内|内(?!存))(?![a-zA-Z])"
            + r"|"
            + _NB
            + NUM
            + CURRENCY_ZH
        ),
    ),
    (
        "max",
        re.compile(NUM + CURRENCY_EN + r"?\s*(?:or less|or under|or below|max(?:imum)?|tops)(?![a-z])", re.I),
    ),
    (
        "min",
        re.compile(
            _MIN_EN
            + r"\s*"
            + _SIGN
            + NUM
            + "|"
            + r"(?:over|above|more than|at least)\s*"
            + NUM
            + CURRENCY_EN,
            re.I,
        ),
    ),
    (
        "min",
        re.compile(
            r"(?:超过|高于|多于|至少|不低于)\s*(?:"
            + _SIGN
            + r")?"
            + NUM
            + CURRENCY_ZH
            + r"(?![a-zA-Z])|"
            + _NB
            + NUM
            + CURRENCY_ZH
            + r"?\s*(?:以上|起)(?![a-zA-Z])"
        ),
    ),
    ("max", re.compile(_SIGN + NUM)),
    ("max", re.compile(NUM + CURRENCY_EN, re.I)),
]

# "about $1500": a shopper with a figure in mind will look a little above it but does not want to go
# far over, and would not call a $300 item "about $1500"; so the band is 80 % to 110 % of the figure.
AROUND_FLOOR, AROUND_CEILING = 0.8, 1.1

_ZH_DIGITS = {
    "零": 0,
    "〇": 0,
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
}
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000, "万": 10000}
_ZH_AMOUNT = re.compile(
    r"(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九])(?:\d+(?:\.\d+)?|[零〇一二两三四五六七八九十百千万])*"
)
_K_AMOUNT = re.compile(r"(?i)([$¥]\s*)?(?<![A-Za-z\d.])(\d+(?:\.\d+)?)\s?k(?![A-Za-z0-9])")
_K_CUE_BEFORE = re.compile(
    r"(?i)(?:under|below|less than|up to|at most|max|within|around|about|roughly|approximately|~|over|above|"
    r"more than|at least|budget(?: is| of)?|between|from|and|to|预算|-|–)\s*$"
)
_K_CURRENCY_AFTER = re.compile(r"(?i)\s*(?:dollars?|usd|bucks|yuan|rmb|cny|美元|美金|刀|元|块|人民币)")
_K_NOT_PRICE_AFTER = re.compile(
    r"(?i)\s*(?:rpm|hz|dpi|mah|lines|colou?rs|resolution|monitor|display|screen|tv|video|gaming|oled|qled)"
)


def zh_number(text: str) -> float | None:
    """A Chinese numeral as a number: 两千 → 2000, 三千五 → 3500 (the unit after the last digit is
    left out, one below the previous one), 一万五 → 15000, 两千零五 → 2005, 1.5万 → 15000; None
    without 十/百/千/万 (一个, 第一 are not amounts)."""
    if not any(u in text for u in _ZH_UNITS):
        return None
    total = section = 0.0
    number: float | None = None
    last_unit = 0
    zero = False
    for tok in re.findall(r"\d+(?:\.\d+)?|\D", text):
        if tok[0].isdigit():
            number = float(tok)
        elif tok in _ZH_DIGITS:
            if _ZH_DIGITS[tok] == 0:
                zero = True
            else:
                number = float(_ZH_DIGITS[tok])
        elif tok == "万":
            total += ((section + (number or 0)) or 1) * 10000
            section, number, last_unit, zero = 0.0, None, 10000, False
        else:
            unit = _ZH_UNITS[tok]
            section += (1 if number is None else number) * unit
            number, last_unit, zero = None, unit, False
    if number is not None:
        section += number * last_unit / 10 if last_unit >= 100 and not zero else number
    return total + section


def _amount(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}".rstrip("0").rstrip(".")


def normalize_amounts(text: str, money_only: bool = False) -> str:
    """Amounts as digits: Chinese numerals (两千 → 2000) and thousands written with k when they are
    money: "3k", "$1.5k", "under 2k" → $3000, $1500, under $2000. A bare 2K/4K/5K/8K is a screen
    resolution unless a price word or a currency comes with it, or the text is known to be money
    (`money_only`: an NLU price entity)."""
    if not text.isascii():
        text = _ZH_AMOUNT.sub(
            lambda m: _amount(v) if (v := zh_number(m.group())) is not None else m.group(), text
        )
    if "k" not in text and "K" not in text:
        return text

    def money(m: re.Match[str]) -> str:
        sign, number = m.group(1), m.group(2)
        if (
            float(number) >= 1000
            or re.search(r"[A-Za-z][\w.]*-$", text[: m.start()])
            and not re.search(r"\d(?:\.\d+)?k-$", text[: m.start()], re.I)
        ):
            return m.group()  # a model number: i9-14900K, A10-7700K
        after = text[m.end() : m.end() + 14]
        currency = bool(_K_CURRENCY_AFTER.match(after))
        if not (sign or currency):
            if _K_NOT_PRICE_AFTER.match(after):
                return m.group()
            if (
                number in ("2", "4", "5", "8")
                and not money_only
                and not _K_CUE_BEFORE.search(text[max(0, m.start() - 24) : m.start()])
            ):
                return m.group()
        value = _amount(float(number) * 1000)
        return (sign.strip() if sign else "" if currency else "$") + value

    return _K_AMOUNT.sub(money, text)


@dataclass(frozen=True)
class Budget:
    low: float | None
    high: float | None
    text: str  # the text with the price words blanked
    currency_note: tuple[float, str, float] | None = None


def find_budget(text: str) -> Budget:
    """Price range in US dollars. Amounts in yuan (元, 块, 人民币, RMB, ¥, yuan) are converted at
    kg_cny_per_usd and reported in `currency_note` (the upper amount of a range). A bare amount is
    in US dollars in an English message and in yuan in a Chinese one ("4000以内"): that is what each
    shopper means, and the reply says the conversion. "About X" is the
    band AROUND_FLOOR·X … AROUND_CEILING·X."""
    chinese = any("\u4e00" <= ch <= "\u9fff" for ch in text)
    text = normalize_amounts(text)
    low: float | None = None
    high: float | None = None
    note: tuple[float, str, float] | None = None
    for kind, pattern in _PRICE_RULES:
        m = pattern.search(text)
        if not m:
            continue
        said = [_num(g) for g in m.groups() if g]
        if not said:
            continue
        nums = said
        # a bare amount in a Chinese message ("4000以内", "预算3000") is yuan: that is what a Chinese
        # shopper means; an amount marked as dollars ($, 美元, 刀, usd) never is
        converted = bool(_YUAN.search(m.group(0))) or (chinese and not _DOLLAR.search(m.group(0)))
        if converted:
            from daogou.config import get_settings

            nums = [round(n / get_settings().kg_cny_per_usd, 2) for n in said]
        if kind == "range" and len(nums) >= 2:
            low, high = min(nums[:2]), max(nums[:2])
        elif kind == "around" and low is None and high is None:
            low, high = round(nums[0] * AROUND_FLOOR, 2), round(nums[0] * AROUND_CEILING, 2)
        elif kind == "max" and high is None:
            high = nums[0]
        elif kind == "min" and low is None:
            low = nums[0]
        else:
            continue
        if converted and note is None:
            note = (max(said[:2]), "CNY", max(nums[:2]))
        text = _take(text, m.span())
    if low is not None and high is not None and low > high:
        low = None
    return Budget(low, high, text, note)


def find_price(text: str) -> tuple[float | None, float | None, str]:
    """(price_min, price_max, rest of the text) in US dollars: see `find_budget`."""
    b = find_budget(text)
    return b.low, b.high, b.text


# unit -> {part type: attribute}; "*" is the default. factor converts to the canonical unit.
_UNITS: dict[str, tuple[float, dict[str, str]]] = {
    "gb": (1, {"video-card": "memory", "motherboard": "max_memory", "*": "capacity"}),
    "tb": (1000, {"*": "capacity"}),
    "hz": (1, {"*": "refresh_rate"}),
    "mhz": (1, {"memory": "speed", "*": "boost_clock"}),
    "ghz": (1000, {"*": "boost_clock"}),
    "w": (1, {"cpu": "tdp", "speakers": "wattage", "ups": "capacity_w", "*": "wattage"}),
    "inch": (1, {"*": "screen_size"}),
    "mm": (1, {"cpu-cooler": "radiator_size", "video-card": "length", "*": "fan_size"}),
    "dpi": (1, {"*": "max_dpi"}),
    "ms": (1, {"*": "response_time"}),
    "cores": (1, {"*": "core_count"}),
    "va": (1, {"*": "capacity_va"}),
}
_UNIT_ALIASES = {
    "gb": "gb",
    "g": "gb",
    "tb": "tb",
    "t": "tb",
    "hz": "hz",
    "mhz": "mhz",
    "ghz": "ghz",
    "w": "w",
    "watt": "w",
    "watts": "w",
    "瓦": "w",
    "inch": "inch",
    "inches": "inch",
    "in": "inch",
    '"': "inch",
    "英寸": "inch",
    "寸": "inch",
    "mm": "mm",
    "dpi": "dpi",
    "ms": "ms",
    "core": "cores",
    "cores": "cores",
    "核": "cores",
    "核心": "cores",
    "va": "va",
}
_UNIT_PART_HINT = {
    "hz": "monitor",
    "inch": "monitor",
    "dpi": "mouse",
    "ghz": "cpu",
    "cores": "cpu",
    "ms": "monitor",
}
_DEFAULT_OP = {
    "refresh_rate": "gte",
    "speed": "gte",
    "boost_clock": "gte",
    "max_dpi": "gte",
    "capacity_w": "gte",
    "capacity_va": "gte",
    "response_time": "lte",
    "tdp": "lte",
    "max_memory": "gte",
}
_GTE = r"(?:at least|min(?:imum)?|over|above|more than|greater than|>=|>|≥|至少|不低于|不少于|超过|高于|大于|最少)"
_LTE = r"(?:at most|max(?:imum)?|under|below|less than|up to|<=|<|≤|最多|不超过|低于|小于|不到)"
_GTE_AFTER = r"(?:\s*(?:or more|or higher|or above|or better|and up|\+|plus)|\s*(?:及以上|或以上|以上|起|或更高|或更多))"
_LTE_AFTER = r"(?:\s*(?:or less|or lower|or below|or fewer)|\s*(?:及以下|或以下|以下|以内|或更低|或更少))"
_MEASURE = re.compile(
    r"(?:("
    + _GTE
    + r")|("
    + _LTE
    + r"))?\s*"
    + NUM
    + r"\s*(\+)?\s*(gb|tb|ghz|mhz|hz|watts?|w|inch(?:es)?|in|\"|英寸|寸|mm|dpi|ms|cores?|核心|核|瓦|va|g|t)"
    + r"(?:(?<=[^\x00-\x7f])|(?![A-Za-z0-9]))"  # a Chinese unit may touch the next number: 27英寸144Hz
    + r"(?:("
    + _GTE_AFTER
    + r")|("
    + _LTE_AFTER
    + r"))?",
    re.I,
)


def find_measures(text: str, part_type: str | None) -> tuple[list[AttributeFilter], str | None, str]:
    filters: list[AttributeFilter] = []
    hinted = part_type
    for m in list(_MEASURE.finditer(text)):
        gte_before, lte_before, number, plus, unit, gte_after, lte_after = m.groups()
        unit_key = _UNIT_ALIASES.get(unit.lower())
        if unit_key is None:
            continue
        if unit_key == "inch" and unit.lower() == "in" and not re.search(r"\d\s*in\b", m.group(0)):
            continue
        hinted = hinted or _UNIT_PART_HINT.get(unit_key)
        factor, targets = _UNITS[unit_key]
        key = targets.get(hinted or "", targets["*"])
        value = _num(number) * factor
        value = int(value) if float(value).is_integer() else value
        if gte_before or gte_after or plus:
            op = "gte"
        elif lte_before or lte_after:
            op = "lte"
        else:
            op = _DEFAULT_OP.get(key, "eq")
        filters.append(AttributeFilter(key, op, value))
        text = _take(text, m.span())
    return filters, hinted, text


_RESOLUTIONS = {
    "720p": "720p",
    "1080p": "1080p",
    "fhd": "1080p",
    "full hd": "1080p",
    "1440p": "1440p",
    "2k": "1440p",
    "qhd": "1440p",
    "wqhd": "1440p",
    "2160p": "4K",
    "4k": "4K",
    "uhd": "4K",
    "5k": "5K",
    "8k": "8K",
}
_EFFICIENCY = {
    "bronze": "80+ Bronze",
    "silver": "80+ Silver",
    "gold": "80+ Gold",
    "platinum": "80+ Platinum",
    "titanium": "80+ Titanium",
    "铜牌": "80+ Bronze",
    "银牌": "80+ Silver",
    "金牌": "80+ Gold",
    "白金": "80+ Platinum",
    "钛金": "80+ Titanium",
}
_COLOURS = (
    "black",
    "white",
    "silver",
    "gray",
    "grey",
    "red",
    "green",
    "blue",
    "yellow",
    "pink",
    "gold",
    "orange",
    "brown",
    "purple",
)
_CASE_FF = {
    "eatx": "EATX",
    "e-atx": "EATX",
    "atx": "ATX",
    "micro atx": "Micro ATX",
    "micro-atx": "Micro ATX",
    "microatx": "Micro ATX",
    "matx": "Micro ATX",
    "m-atx": "Micro ATX",
    "mini itx": "Mini ITX",
    "mini-itx": "Mini ITX",
    "itx": "Mini ITX",
}


@lru_cache(maxsize=1)
def _zh_colour_words() -> list[tuple[str, str]]:
    """Chinese colour words (黑色 → Black), longest first."""
    return [
        (word, value)
        for word, value in sorted(zh_value_synonyms().items(), key=lambda x: -len(x[0]))
        if value.lower() in _COLOURS
    ]


def find_keywords(text: str, part_type: str | None) -> tuple[list[AttributeFilter], str | None, str]:
    """Named values: DDR generation, resolution, panel, socket, form factor, efficiency, colour…"""
    filters: list[AttributeFilter] = []

    def grab(pattern: str, flags: int = re.I) -> re.Match[str] | None:
        nonlocal text
        m = re.search(pattern, text, flags)
        if m:
            text = _take(text, m.span())
        return m

    if m := grab(_L + r"ddr\s?([2345])" + _R):
        filters.append(AttributeFilter("memory_type", "eq", f"DDR{m.group(1)}"))
    if m := grab(_L + r"(720p|1080p|1440p|2160p|4k|5k|8k|2k|wqhd|qhd|uhd|fhd|full hd)" + _R):
        filters.append(AttributeFilter("resolution", "eq", _RESOLUTIONS[m.group(1).lower()]))
        part_type = part_type or "monitor"
    if m := grab(_L + r"(qd-oled|oled|mini led|nano ips|ips|va|tn)" + _R + r"(?:\s*(?:panel|面板|屏))?"):
        filters.append(
            AttributeFilter(
                "panel_type",
                "contains",
                m.group(1).upper().replace("MINI LED", "Mini LED").replace("NANO IPS", "Nano IPS"),
            )
        )
        part_type = part_type or "monitor"
    if m := grab(_L + r"(am[345]\+?|lga\s?\d{3,4}|strx4|str4|str5|swrx8|fm2\+?|fm1)" + _R):
        raw = m.group(1).replace(" ", "")
        socket = raw.upper() if not raw.lower().startswith("s") else "s" + raw[1:].upper()
        filters.append(AttributeFilter("socket", "eq", socket))
    if m := grab(_L + r"(e-?atx|micro[- ]?atx|m-?atx|mini[- ]?itx|itx|atx)" + _R):
        ff = _CASE_FF[m.group(1).lower().replace("micro atx", "micro atx")]
        if part_type == "case":
            filters.append(AttributeFilter("case_type", "in", case_types_for(ff)))
        else:
            filters.append(AttributeFilter("form_factor", "eq", ff))
    if (
        m := grab(
            r"(?:80\s*\+?\s*(?:plus)?\s*)?"
            + _L
            + r"(bronze|silver|gold|platinum|titanium)"
            + _R
            + r"|(铜牌|银牌|金牌|白金|钛金)"
        )
    ) and (part_type in (None, "power-supply")):
        filters.append(AttributeFilter("efficiency", "eq", _EFFICIENCY[(m.group(1) or m.group(2)).lower()]))
        part_type = part_type or "power-supply"
    if m := grab(r"(fully|full|semi|non)[- ]?modular|(全|半|非)模组"):
        word = (m.group(1) or m.group(2) or "").lower()
        filters.append(
            AttributeFilter(
                "modular",
                "eq",
                {
                    "fully": "Full",
                    "full": "Full",
                    "全": "Full",
                    "semi": "Semi",
                    "半": "Semi",
                    "non": "Non-modular",
                    "非": "Non-modular",
                }[word],
            )
        )
    if part_type in (None, "cpu-cooler") and (
        m := grab(
            r"(?i)(?<![a-z])(?:(aio|liquid(?:[- ]cool(?:ed|ing|er)?)?|water[- ]cool(?:ed|ing|er)?)|(air|tower)[- ]cool(?:ed|ing|er)?)(?![a-z])"
            r"|(一体式水冷|水冷|一体水冷)|(风冷|下压式?|塔式)"
        )
    ):
        filters.append(AttributeFilter("cooler_type", "eq", "liquid" if m.group(1) or m.group(3) else "air"))
        part_type = part_type or "cpu-cooler"
    if m := grab(_L + r"nvme" + _R):
        filters.append(AttributeFilter("nvme", "eq", True))
    if m := grab(r"integrated graphics|\bigpu\b|核显|集成显卡"):
        filters.append(AttributeFilter("has_integrated_graphics", "eq", True))
    if m := grab(_L + r"(tenkeyless|tkl)" + _R + r"|无数字键|87键"):
        filters.append(AttributeFilter("tenkeyless", "eq", True))
    if m := grab(r"with (?:a )?(?:mic|microphone)|带麦|带麦克风"):
        filters.append(AttributeFilter("microphone", "eq", True))
    if part_type in (None, "mouse", "keyboard", "headphones"):
        if m := grab(_L + r"(wireless|bluetooth)" + _R + r"|无线|蓝牙"):
            filters.append(AttributeFilter("wireless", "eq", True))
        elif m := grab(_L + r"wired" + _R + r"|有线"):
            filters.append(AttributeFilter("connection_type", "contains", "Wired"))
    if m := grab(_L + r"(" + "|".join(_COLOURS) + r")" + _R):
        colour = m.group(1).lower().replace("grey", "gray").title()
        filters.append(AttributeFilter("color", "contains", colour))
    else:
        for word, value in _zh_colour_words():
            if (i := text.find(word)) >= 0:
                filters.append(AttributeFilter("color", "contains", value))
                text = _take(text, (i, i + len(word)))
                break
    return filters, part_type, text


_SORTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (
        re.compile(
            r"(?i)(?:which|what)(?:'s| is| are)? (?:the )?(?:cheapest|least expensive|lowest[- ]priced?)(?: ones?)?"
            r"|(?:the )?(?:cheapest|least expensive|lowest[- ]priced?|most affordable)(?: ones?| options?| first)?"
            r"|lowest (?:price|cost)|best (?:price|deal|value)|price:? low(?:est)? to high(?:est)?|sort(?:ed)? by price"
            r"|最便宜的?(?:是哪个|是哪款|是哪一款|一款|那个)?|价格最低的?|最低价|价格从低到高|从低到高|由低到高|便宜的|性价比(?:最高|高)?的?"
        ),
        "price_asc",
    ),
    (
        re.compile(
            r"(?i)(?:which|what)(?:'s| is| are)? (?:the )?(?:most expensive|priciest|highest[- ]priced?)(?: ones?)?"
            r"|(?:the )?(?:most expensive|priciest|highest[- ]priced?)(?: ones?| options?| first)?"
            r"|highest price|price:? high(?:est)? to low(?:est)?|high[- ]end|top[- ]of[- ]the[- ]line|flagship"
            r"|最贵的?(?:是哪个|是哪款|是哪一款|一款|那个)?|价格最高的?|最高价|价格从高到低|从高到低|由高到低|顶级|旗舰|最好的"
        ),
        "price_desc",
    ),
    # no ratings in the catalogue: the relevance order is the source's popularity order
    (
        re.compile(
            r"(?i)(?:which|what)(?:'s| is| are)? (?:the )?(?:highest|best|top)[- ]rated(?: ones?)?"
            r"|(?:the )?(?:highest|best|top)[- ]rated(?: ones?| options?)?|(?:the )?most popular(?: ones?)?"
            r"|(?:best|top)[- ]?sell(?:ing|ers?)|most reviewed|best reviewed|(?:highest|best|top) reviews?"
            r"|评分最高的?|评价最好的?|好评最多的?|口碑最好的?|最受欢迎的?|最热门的?|销量最高的?|销量最好的?|卖得最好的?|最畅销的?|热销的?"
        ),
        "popular",
    ),
)


def match_sort(text: str) -> tuple[str, bool, str]:
    """(sort, popularity asked, rest): the sort words and the question around them ("which is the
    cheapest", "the cheapest one", "最便宜的是哪个") are consumed, so none of it becomes search text."""
    for pattern, sort in _SORTS:
        m = pattern.search(text)
        if m:
            rest = _take(text, m.span())
            return ("relevance", True, rest) if sort == "popular" else (sort, False, rest)
    return "relevance", False, text


def find_sort(text: str) -> tuple[str, str]:
    sort, _, rest = match_sort(text)
    return sort, rest


@cache
def category_part_type(category: str | None) -> str | None:
    """The part type a Best Buy category holds (Water Cooling → cpu-cooler), from part_types.yaml."""
    for pt, spec in part_types().items():
        if category == spec["category"] or any(category == r["category"] for r in spec.get("rules", [])):
            return pt
    return None


_CONTRACTION = re.compile(r"(?i)(?<=[a-z])'(?:s|re|ve|ll|d|m)(?![a-z])|(?<=[a-z])n't(?![a-z])")
# words that are about the asking, not the product: never search text (STOPWORDS, which product
# mentions share, stay as they are)
_FILLER = frozenset(
    """whats thats wheres hows whos theres heres im ive id dont doesnt cant wont isnt arent
hi hello hey pls plz thx thank u ur guys sort sorted order ordered rated rating ratings rate review reviews
popular option options choice choices pick picks item items product products deal deals kind type model
models thing things stuff first cheap cheaper cheapest priciest expensive highest lowest lower higher
top around about roughly approximately approx circa k usd yuan rmb cny max maximum tops kit kits""".split()
)


# Chinese shoppers' names for graphics cards by chip maker: A卡 (AMD), N卡 (NVIDIA), I卡 (Intel)
_GPU_SLANG = re.compile(r"(?<![A-Za-z])([ANIani])卡")
_GPU_MAKERS = {"A": "AMD", "N": "NVIDIA", "I": "Intel"}


def parse_search(graph: ProductGraph, text: str, page_size: int = 5) -> ParsedQuery:
    """ "an AMD CPU under $300" / "300美元以下的AMD处理器" → SearchQuery(part_type="cpu", brands=("AMD",),
    price_max=300). Tolerates misspelt category words, budgets in words, k, yuan and Chinese
    numerals, and sort questions; the free text keeps only catalogue words that no rule took
    (no contraction tails, single letters or words about the asking)."""
    if not text or not text.strip():
        raise ValueError("empty search text")
    consumed: list[str] = []
    rest = _CONTRACTION.sub(lambda m: " not" if m.group().startswith("n") else " ", normalize(text))
    rest = _GPU_SLANG.sub(lambda m: _GPU_MAKERS[m.group(1).upper()] + "显卡", rest)
    excluded, rest = negated_variants(rest)
    sort, popular, rest = match_sort(rest)
    budget = find_budget(rest)
    low, high, rest = budget.low, budget.high, budget.text
    cat = match_category(graph, rest)
    category, part_type, rest = cat.category, cat.part_type, cat.text
    hint = part_type or category_part_type(category)
    keyword_filters, part_type_k, rest = find_keywords(rest, hint)
    brands, rest = find_brands(graph, rest)
    measure_filters, part_type_m, rest = find_measures(rest, hint or part_type_k)
    inferred = False
    if not part_type and not category:
        part_type = part_type_k or part_type_m
        if not part_type and any(f.key == "memory_type" for f in keyword_filters):
            part_type = "memory"
        inferred = part_type is not None
    filters = keyword_filters + measure_filters
    if (variant := _variant_filter(graph, rest, excluded)) is not None:
        filters.append(variant)
    if (part_type or hint) == "video-card":
        makers = [b for b in brands if b in ("NVIDIA", "AMD", "Intel")]
        if makers:
            brands = [b for b in brands if b not in makers]
            filters.append(AttributeFilter("gpu_maker", "eq", makers[0]))
    words = [
        w
        for w in dict.fromkeys(tokens(rest))
        if w not in STOPWORDS and w not in _FILLER and (len(w) > 1 or w.isdigit()) and w in graph.token_index
    ]
    q = SearchQuery(
        category=category,
        part_type=part_type,
        brands=tuple(brands),
        price_min=low,
        price_max=high,
        filters=tuple(filters),
        text=" ".join(words) or None,
        sort=sort,
        page_size=page_size,
    )
    for label, value in (
        ("category", category),
        ("part_type", part_type),
        ("brands", brands),
        ("price_min", low),
        ("price_max", high),
        ("sort", sort if sort != "relevance" else "popularity" if popular else None),
    ):
        if value:
            consumed.append(f"{label}={value}")
    consumed.extend(f"{f.key} {f.op} {f.value}" for f in filters)
    consumed.extend(f"read {said!r} as {meant!r}" for said, meant in cat.corrected)
    if budget.currency_note:
        amount, currency, usd = budget.currency_note
        consumed.append(f"{currency} {_amount(amount)} = USD {usd}")
    return ParsedQuery(q, tuple(consumed), inferred, budget.currency_note, cat.corrected, popular)


@lru_cache(maxsize=1)
def _attribute_phrases() -> tuple[list[tuple[str, re.Pattern[str], str]], list[tuple[str, str]]]:
    data = load_yaml("attribute_synonyms.yaml")
    en = {k.lower(): v for k, v in data["en"].items()}
    zh = dict(data["zh"])
    for key, info in attributes().items():
        en.setdefault(info.en.lower(), key)
        zh.setdefault(info.zh, key)
    return (
        [
            (phrase, re.compile(_L + re.escape(phrase) + _R), key)
            for phrase, key in sorted(en.items(), key=lambda x: -len(x[0]))
        ],
        sorted(zh.items(), key=lambda x: -len(x[0])),
    )


_QUESTION_WORD_S = re.compile(r"\b(how|what)'?s\b")


def find_attribute(text: str, product: Product | None = None) -> str | None:
    """Which attribute a question asks about ("how many cores…" → core_count; "刷新率" →
    refresh_rate); among several, the one the product has. "hows"/"how's" read as "how"."""
    low = _QUESTION_WORD_S.sub(r"\1", text.lower())
    en, zh = _attribute_phrases()
    hits: list[tuple[int, str]] = []
    for phrase, pattern, key in en:
        if phrase in low and (m := pattern.search(low)):  # substring test first: most phrases are absent
            hits.append((m.start(), key))
    for phrase, key in zh:
        i = text.find(phrase)
        if i >= 0:
            hits.append((i, key))
    if not hits:
        return next((key for key, _, pattern in _UNRECORDED if pattern.search(text)), None)
    if product is not None:
        for _, key in hits:
            if key in ("price", "brand") or key in product.attributes:
                return key
            # one word, two attributes by kind of part: 接口/"interface" of a CPU or board is its socket
            if (other := _SAME_WORD.get(key)) and other in product.attributes:
                return other
    return hits[0][1]


_SAME_WORD = {"interface": "socket", "socket": "interface"}

# what shoppers ask about that the catalogue does not record: the question is understood (and the
# answer is that the data lacks it), not taken for a request to show the product
_UNRECORDED: tuple[tuple[str, tuple[str, str], re.Pattern[str]], ...] = (
    (
        "height",
        ("height", "高度"),
        re.compile(r"(?i)\bhow (?:tall|high)\b|\bheight\b|多高|高度|有多高|高多少"),
    ),
    ("weight", ("weight", "重量"), re.compile(r"(?i)\bhow heavy\b|\bweigh(?:t|s)?\b|多重|重量|多少克|几克")),
    ("width", ("width", "宽度"), re.compile(r"(?i)\bhow wide\b|\bwidth\b|多宽|宽度")),
)


def unrecorded_attribute_name(key: str, lang: str) -> str | None:
    """The name of an attribute `find_attribute` understood but the catalogue does not record."""
    return next((names[lang == "zh"] for k, names, _ in _UNRECORDED if k == key), None)


# "4060, not the Ti", "4060显卡，不要ti", "non-Ti": a variant suffix the shopper rules out
NEGATED_VARIANT = re.compile(
    r"(?i)(?:不要|不是|别要?|非|(?<![a-z])(?:not?(?: the| a| an)?|non|without|except(?: the)?))"
    r"[\s-]*(ti|super|xtx|xt)(?![a-z])(?:\s*(?:版|的|version|ones?))?"
)
_MODEL_NUMBER = re.compile(r"(?<![\w.])\d{3,5}(?![\w.])")


def negated_variants(text: str) -> tuple[tuple[str, ...], str]:
    """(suffixes ruled out, the text without those phrases), only beside a model number ("not
    super expensive" rules nothing out)."""
    if not _MODEL_NUMBER.search(text):
        return (), text
    said = tuple(m.group(1).lower() for m in NEGATED_VARIANT.finditer(text))
    return said, NEGATED_VARIANT.sub(" ", text) if said else text


def _variant_filter(graph: ProductGraph, text: str, excluded: tuple[str, ...]) -> AttributeFilter | None:
    """The chipsets a model number names without the excluded suffixes ("4060" but not "Ti" →
    GeForce RTX 4060), as the catalogue spells them."""
    numbers = set(_MODEL_NUMBER.findall(text))
    if not numbers or not excluded:
        return None
    chipsets = graph_values(graph, "chipset")
    keep = tuple(
        c
        for c in chipsets
        if numbers & set(re.findall(r"\d{3,5}", c))
        and not any(re.search(r"(?i)(?<![a-z])" + x + r"(?![a-z])", c) for x in excluded)
    )
    return AttributeFilter("chipset", "in", keep) if keep else None


_values_cache: dict[tuple[int, str], tuple[str, ...]] = {}


def graph_values(graph: ProductGraph, key: str) -> tuple[str, ...]:
    """Every value of one attribute in the catalogue (cached per graph)."""
    cached = _values_cache.get((id(graph), key))
    if cached is None:
        cached = tuple(
            sorted({str(p.attributes[key]) for p in graph.products.values() if key in p.attributes})
        )
        _values_cache.clear()
        _values_cache[(id(graph), key)] = cached
    return cached


CHEAPER_WORDS = re.compile(
    r"(?i)\b(cheaper|less expensive|lower price|more affordable|budget)\b|便宜|实惠|低一点|少一点"
)
PRICIER_WORDS = re.compile(
    r"(?i)\b(more expensive|pricier|higher[- ]end|premium|better ones?)\b|贵一点|更好|高端|好一点"
)


def refine_query(
    previous: SearchQuery, update: SearchQuery, text: str = "", shown_prices: list[float] | None = None
) -> SearchQuery:
    """Follow-up to a search ("cheaper", "only Corsair", "DDR5 ones", "under $200"): the previous
    constraints, with the new ones replacing those of the same kind. A new category starts from its
    own constraints but keeps the budget."""
    if (update.part_type or update.category) and (update.part_type, update.category) != (
        previous.part_type,
        previous.category,
    ):
        base = replace(
            previous, category=update.category, part_type=update.part_type, brands=(), filters=(), text=None
        )
    else:
        base = previous
    keys = {f.key for f in update.filters}
    merged = replace(
        base,
        page=1,
        exclude=(),
        brands=update.brands or base.brands,
        price_min=update.price_min if update.price_min is not None else base.price_min,
        price_max=update.price_max if update.price_max is not None else base.price_max,
        filters=tuple(f for f in base.filters if f.key not in keys) + update.filters,
        text=update.text or base.text,
        sort=update.sort if update.sort != "relevance" else base.sort,
    )
    if shown_prices and update.price_max is None and CHEAPER_WORDS.search(text or ""):
        # "cheaper": below the middle of what was shown, closest prices first
        ceiling = round(statistics.median(shown_prices) - 0.01, 2)
        merged = replace(
            merged,
            price_max=min(ceiling, merged.price_max or ceiling),
            sort="price_desc",
            price_min=merged.price_min if merged.price_min and merged.price_min < ceiling else None,
        )
    elif shown_prices and update.price_min is None and PRICIER_WORDS.search(text or ""):
        floor = round(statistics.median(shown_prices) + 0.01, 2)
        merged = replace(
            merged,
            price_min=max(floor, merged.price_min or floor),
            sort="price_asc",
            price_max=merged.price_max if merged.price_max and merged.price_max > floor else None,
        )
    if merged.price_min is not None and merged.price_max is not None and merged.price_min > merged.price_max:
        merged = replace(merged, price_min=None)
    return merged


def price_from_entity(value: Any) -> float | None:
    """ "300", "$300", "300美元", "1,200", "1.5k", "两千" → the amount in US dollars ("3000元" is
    converted at kg_cny_per_usd, as in find_budget); None when there is none."""
    text = normalize_amounts(normalize(str(value or "")), money_only=True)
    m = re.search(NUM, text)
    if not m:
        return None
    amount = _num(m.group(1))
    if _YUAN.search(text):
        from daogou.config import get_settings

        return round(amount / get_settings().kg_cny_per_usd, 2)
    return amount
