"""From shopper wording (English or Chinese) to typed queries: which category, brands, budget,
attribute conditions with units and comparisons, sort order, and which products are mentioned.

Used by the CLI, the benchmark and as the actions' fallback when NLU entities are incomplete; the
actions prefer the NLU entities, which use the same vocabulary (scripts/generate_nlu_lookups.py)."""
from __future__ import annotations

import re
import statistics
from dataclasses import dataclass, replace
from typing import Any, Iterable
from functools import lru_cache

import numpy as np

from catalog.models import Product
from catalog.reference import load_yaml, part_types
from knowledge_graph.compat import case_types_for
from knowledge_graph.graph import ProductGraph
from knowledge_graph.search import AttributeFilter, SearchQuery
from knowledge_graph.vocab import attributes, tokens, zh_categories, zh_value_synonyms

_L = r"(?<![A-Za-z0-9])"       # word boundaries that also hold next to Chinese characters
_R = r"(?![A-Za-z0-9])"
NUM = r"(\d+(?:,\d{3})*(?:\.\d+)?)"
CURRENCY_EN = r"(?:\s*(?:dollars?|usd|bucks))"
CURRENCY_ZH = r"(?:\s*(?:美元|美金|刀|块钱|块|人民币|元|rmb|RMB))"
_YUAN = re.compile(r"(?<!美)元|块|人民币|rmb", re.I)     # budgets in yuan are converted to USD
_NB = r"(?<![A-Za-z\d.])"                                 # a number that is not the tail of DDR4, i9, …
UNIT_WORDS = r"(?:\s*(?:gb|tb|mb|hz|mhz|ghz|w|watts?|inch(?:es)?|in|\"|英寸|寸|mm|dpi|ms|cores?|核|g|l|va|cfm|db|rpm))"
STOPWORDS = set("""a an the some any me i my we you show find get want need looking look for with and or of in on to
is are it its that this which what who how much many do does can could would will should please pc computer
new good best great nice cheap cheaper budget under below over above less more than at least most up
between around about price priced cost costs costing dollar dollars usd bucks one ones buy recommend
only just instead those these them they but other else something anything also too same similar like
than then there here now please thanks ok okay yes no not only show more less expensive affordable""".split())


def _num(text: str) -> float:
    return float(text.replace(",", ""))


@dataclass(frozen=True)
class ParsedQuery:
    query: SearchQuery
    consumed: tuple[str, ...]            # what was understood, for debugging and tests
    inferred_part_type: bool = False     # the part type comes from a unit or value ("DDR5", "144Hz"), not a category word


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
        if len(folded) != len(text):         # a character whose lower case is longer: fold ASCII only
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
    brand names."""
    category_en: PhraseIndex
    category_en_target: dict[str, tuple[str, str]]
    category_zh: list[tuple[str, str, str]]
    category_zh_ascii: list[tuple[str, str, str]]     # the Chinese list's Latin entries ("CPU"), in order
    brand_en: PhraseIndex
    brand_canonical: dict[str, str]
    brand_zh: list[tuple[str, str]]


_lexicons: dict[int, tuple[ProductGraph, _Lexicon]] = {}


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
    lex = _Lexicon(
        category_en=PhraseIndex(en, fold=False),
        category_en_target=en,
        category_zh=category_zh,
        category_zh_ascii=[entry for entry in category_zh if entry[0].isascii()],
        brand_en=PhraseIndex(graph.brands, fold=True),
        brand_canonical={b.lower(): b for b in graph.brands},
        brand_zh=[(w, b) for w, b in sorted(load_yaml("brands_zh.yaml").items(), key=lambda x: -len(x[0]))
                  if b in graph.brands])
    _lexicons.clear()
    _lexicons[id(graph)] = (graph, lex)
    return lex


# brand names that are also ordinary words: only taken as a brand when written with capitals
_WORDY_BRANDS = {"final", "titan", "apex", "green", "trust", "encore", "galaxy", "deco", "nexus", "genius",
                 "integral", "titanium", "shark", "cherry", "polk", "gear head", "mars gaming", "athena power", "rude gamewear"}


def _take(text: str, span: tuple[int, int]) -> str:
    """Blank out a consumed span so later rules do not read it again."""
    return text[:span[0]] + " " * (span[1] - span[0]) + text[span[1]:]


def find_category(graph: ProductGraph, text: str) -> tuple[str | None, str | None, str]:
    """The longest category phrase; other phrases naming the same thing are consumed too."""
    lex = lexicon(graph)
    hits: list[tuple[int, int, str, str]] = []
    for start, end, phrase in lex.category_en.spans(text.lower()):
        kind, target = lex.category_en_target[phrase]
        hits.append((start, end, kind, target))
    for phrase, kind, target in (lex.category_zh_ascii if text.isascii() else lex.category_zh):
        i = text.find(phrase)
        if i >= 0:
            hits.append((i, i + len(phrase), kind, target))
    if not hits:
        return None, None, text
    start, end, kind, target = max(hits, key=lambda h: h[1] - h[0])
    text = _take(text, (start, end))
    for s, e, k, t in hits:
        if t == target or k == kind == "category":
            text = _take(text, (s, e))
    return (target, None, text) if kind == "category" else (None, target, text)


def find_brands(graph: ProductGraph, text: str) -> tuple[list[str], str]:
    lex = lexicon(graph)
    found: list[str] = []
    for start, end, phrase in lex.brand_en.spans(text):
        word = text[start:end]
        if phrase in _WORDY_BRANDS and word == word.lower():
            continue
        found.append(lex.brand_canonical[phrase])
        text = _take(text, (start, end))
    for zh, brand in ([] if text.isascii() else lex.brand_zh):    # Chinese brand names
        i = text.find(zh)
        if i >= 0:
            found.append(brand)
            text = _take(text, (i, i + len(zh)))
    return list(dict.fromkeys(found)), text


_PRICE_RULES: list[tuple[str, re.Pattern[str]]] = [
    ("range", re.compile(r"(?:between|from)\s*\$?\s*" + NUM + CURRENCY_EN + r"?\s*(?:and|to|-|–)\s*\$?\s*" + NUM + CURRENCY_EN + r"?(?!\s*(?:gb|tb|hz|w|mhz|ghz|mm|\"|inch))", re.I)),
    ("range", re.compile(r"\$\s*" + NUM + r"\s*(?:-|–|to)\s*\$?\s*" + NUM, re.I)),
    ("range", re.compile(_NB + NUM + CURRENCY_ZH + r"?\s*(?:到|至|-|~|～)\s*" + NUM + CURRENCY_ZH + r"(?:之间)?")),
    ("around", re.compile(r"(?:around|about|roughly|approximately|~)\s*\$\s*" + NUM + "|" + r"(?:around|about|roughly)\s*" + NUM + CURRENCY_EN, re.I)),
    ("around", re.compile(_NB + NUM + CURRENCY_ZH + r"?\s*(?:左右|上下)")),
    ("max", re.compile(r"(?:under|below|less than|cheaper than|up to|at most|no more than|max(?:imum)?|within|not over|<=?|≤)\s*\$\s*" + NUM + "|" + r"(?:under|below|less than|cheaper than|up to|at most|no more than|max(?:imum)?|within)\s*" + NUM + CURRENCY_EN + "?" + r"(?![\d.]|\s*(?:gb|tb|hz|w\b|watts?|mhz|ghz|mm|\"|inch|ms|dpi|cores?))", re.I)),
    ("max", re.compile(r"(?:不超过|低于|少于|不到|最多|预算|小于|不高于)\s*" + NUM + CURRENCY_ZH + "?" + r"(?![\d.]|\s*[a-zA-Z\"寸核])")),
    ("max", re.compile(_NB + NUM + CURRENCY_ZH + r"?\s*(?:以下|以内|之内|内(?!存))(?![a-zA-Z])" + r"|" + _NB + NUM + CURRENCY_ZH)),
    ("min", re.compile(r"(?:over|above|more than|at least|from|min(?:imum)?|starting at|>=?|≥)\s*\$\s*" + NUM + "|" + r"(?:over|above|more than|at least)\s*" + NUM + CURRENCY_EN, re.I)),
    ("min", re.compile(r"(?:超过|高于|多于|至少|不低于)\s*" + NUM + CURRENCY_ZH + r"(?![a-zA-Z])|" + _NB + NUM + CURRENCY_ZH + r"?\s*(?:以上|起)(?![a-zA-Z])")),
    ("max", re.compile(r"\$\s*" + NUM)),
    ("max", re.compile(NUM + CURRENCY_EN, re.I)),
]


def find_price(text: str) -> tuple[float | None, float | None, str]:
    low: float | None = None
    high: float | None = None
    for kind, pattern in _PRICE_RULES:
        m = pattern.search(text)
        if not m:
            continue
        nums = [_num(g) for g in m.groups() if g]
        if _YUAN.search(m.group(0)):
            from daogou.config import get_settings
            nums = [round(n / get_settings().kg_cny_per_usd, 2) for n in nums]
        if kind == "range" and len(nums) >= 2:
            low, high = min(nums[:2]), max(nums[:2])
        elif kind == "around":
            low, high = round(nums[0] * 0.8, 2), round(nums[0] * 1.2, 2)
        elif kind == "max" and high is None:
            high = nums[0]
        elif kind == "min" and low is None:
            low = nums[0]
        else:
            continue
        text = _take(text, m.span())
    return low, high, text


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
_UNIT_ALIASES = {"gb": "gb", "g": "gb", "tb": "tb", "t": "tb", "hz": "hz", "mhz": "mhz", "ghz": "ghz", "w": "w", "watt": "w",
                 "watts": "w", "瓦": "w", "inch": "inch", "inches": "inch", "in": "inch", '"': "inch", "英寸": "inch",
                 "寸": "inch", "mm": "mm", "dpi": "dpi", "ms": "ms", "core": "cores", "cores": "cores", "核": "cores",
                 "核心": "cores", "va": "va"}
_UNIT_PART_HINT = {"hz": "monitor", "inch": "monitor", "dpi": "mouse", "ghz": "cpu", "cores": "cpu", "ms": "monitor"}
_DEFAULT_OP = {"refresh_rate": "gte", "speed": "gte", "boost_clock": "gte", "max_dpi": "gte",
               "capacity_w": "gte", "capacity_va": "gte", "response_time": "lte", "tdp": "lte", "max_memory": "gte"}
_GTE = r"(?:at least|min(?:imum)?|over|above|more than|greater than|>=|>|≥|至少|不低于|不少于|超过|高于|大于|最少)"
_LTE = r"(?:at most|max(?:imum)?|under|below|less than|up to|<=|<|≤|最多|不超过|低于|小于|不到)"
_GTE_AFTER = r"(?:\s*(?:or more|or higher|or above|or better|and up|\+|plus)|\s*(?:及以上|或以上|以上|起|或更高|或更多))"
_LTE_AFTER = r"(?:\s*(?:or less|or lower|or below|or fewer)|\s*(?:及以下|或以下|以下|以内|或更低|或更少))"
_MEASURE = re.compile(r"(?:(" + _GTE + r")|(" + _LTE + r"))?\s*" + NUM + r"\s*(\+)?\s*(gb|tb|ghz|mhz|hz|watts?|w|inch(?:es)?|in|\"|英寸|寸|mm|dpi|ms|cores?|核心|核|瓦|va|g|t)"
                      + r"(?:(?<=[^\x00-\x7f])|(?![A-Za-z0-9]))"     # a Chinese unit may touch the next number: 27英寸144Hz
                      + r"(?:(" + _GTE_AFTER + r")|(" + _LTE_AFTER + r"))?", re.I)


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


_RESOLUTIONS = {"720p": "720p", "1080p": "1080p", "fhd": "1080p", "full hd": "1080p", "1440p": "1440p", "2k": "1440p",
                "qhd": "1440p", "wqhd": "1440p", "2160p": "4K", "4k": "4K", "uhd": "4K", "5k": "5K", "8k": "8K"}
_EFFICIENCY = {"bronze": "80+ Bronze", "silver": "80+ Silver", "gold": "80+ Gold", "platinum": "80+ Platinum",
               "titanium": "80+ Titanium", "铜牌": "80+ Bronze", "银牌": "80+ Silver", "金牌": "80+ Gold",
               "白金": "80+ Platinum", "钛金": "80+ Titanium"}
_COLOURS = ("black", "white", "silver", "gray", "grey", "red", "green", "blue", "yellow", "pink", "gold", "orange",
            "brown", "purple")
_CASE_FF = {"eatx": "EATX", "e-atx": "EATX", "atx": "ATX", "micro atx": "Micro ATX", "micro-atx": "Micro ATX",
            "microatx": "Micro ATX", "matx": "Micro ATX", "m-atx": "Micro ATX", "mini itx": "Mini ITX",
            "mini-itx": "Mini ITX", "itx": "Mini ITX"}


@lru_cache(maxsize=1)
def _zh_colour_words() -> list[tuple[str, str]]:
    """Chinese colour words (黑色 → Black), longest first."""
    return [(word, value) for word, value in sorted(zh_value_synonyms().items(), key=lambda x: -len(x[0]))
            if value.lower() in _COLOURS]


def find_keywords(text: str, part_type: str | None) -> tuple[list[AttributeFilter], str | None, str]:
    """Named values: DDR generation, resolution, panel, socket, form factor, efficiency, colour…"""
    filters: list[AttributeFilter] = []

    def grab(pattern: str, flags: int = re.I) -> re.Match[str] | None:
        nonlocal text
        m = re.search(pattern, text, flags)
        if m:
            text = _take(text, m.span())
        return m

    if (m := grab(_L + r"ddr\s?([2345])" + _R)):
        filters.append(AttributeFilter("memory_type", "eq", f"DDR{m.group(1)}"))
    if (m := grab(_L + r"(720p|1080p|1440p|2160p|4k|5k|8k|2k|wqhd|qhd|uhd|fhd|full hd)" + _R)):
        filters.append(AttributeFilter("resolution", "eq", _RESOLUTIONS[m.group(1).lower()]))
        part_type = part_type or "monitor"
    if (m := grab(_L + r"(qd-oled|oled|mini led|nano ips|ips|va|tn)" + _R + r"(?:\s*(?:panel|面板|屏))?")):
        filters.append(AttributeFilter("panel_type", "contains", m.group(1).upper().replace("MINI LED", "Mini LED")
                                       .replace("NANO IPS", "Nano IPS")))
        part_type = part_type or "monitor"
    if (m := grab(_L + r"(am[345]\+?|lga\s?\d{3,4}|strx4|str4|str5|swrx8|fm2\+?|fm1)" + _R)):
        raw = m.group(1).replace(" ", "")
        socket = raw.upper() if not raw.lower().startswith("s") else "s" + raw[1:].upper()
        filters.append(AttributeFilter("socket", "eq", socket))
    if (m := grab(_L + r"(e-?atx|micro[- ]?atx|m-?atx|mini[- ]?itx|itx|atx)" + _R)):
        ff = _CASE_FF[m.group(1).lower().replace("micro atx", "micro atx")]
        if part_type == "case":
            filters.append(AttributeFilter("case_type", "in", case_types_for(ff)))
        else:
            filters.append(AttributeFilter("form_factor", "eq", ff))
    if (m := grab(r"(?:80\s*\+?\s*(?:plus)?\s*)?" + _L + r"(bronze|silver|gold|platinum|titanium)" + _R + r"|(铜牌|银牌|金牌|白金|钛金)")) and \
            (part_type in (None, "power-supply")):
        filters.append(AttributeFilter("efficiency", "eq", _EFFICIENCY[(m.group(1) or m.group(2)).lower()]))
        part_type = part_type or "power-supply"
    if (m := grab(r"(fully|full|semi|non)[- ]?modular|(全|半|非)模组")):
        word = (m.group(1) or m.group(2) or "").lower()
        filters.append(AttributeFilter("modular", "eq", {"fully": "Full", "full": "Full", "全": "Full", "semi": "Semi",
                                                         "半": "Semi", "non": "Non-modular", "非": "Non-modular"}[word]))
    if (m := grab(_L + r"nvme" + _R)):
        filters.append(AttributeFilter("nvme", "eq", True))
    if (m := grab(r"integrated graphics|\bigpu\b|核显|集成显卡")):
        filters.append(AttributeFilter("has_integrated_graphics", "eq", True))
    if (m := grab(_L + r"(tenkeyless|tkl)" + _R + r"|无数字键|87键")):
        filters.append(AttributeFilter("tenkeyless", "eq", True))
    if (m := grab(r"with (?:a )?(?:mic|microphone)|带麦|带麦克风")):
        filters.append(AttributeFilter("microphone", "eq", True))
    if part_type in (None, "mouse", "keyboard", "headphones"):
        if (m := grab(_L + r"(wireless|bluetooth)" + _R + r"|无线|蓝牙")):
            filters.append(AttributeFilter("wireless", "eq", True))
        elif (m := grab(_L + r"wired" + _R + r"|有线")):
            filters.append(AttributeFilter("connection_type", "contains", "Wired"))
    if (m := grab(_L + r"(" + "|".join(_COLOURS) + r")" + _R)):
        colour = m.group(1).lower().replace("grey", "gray").title()
        filters.append(AttributeFilter("color", "contains", colour))
    else:
        for word, value in _zh_colour_words():
            if (i := text.find(word)) >= 0:
                filters.append(AttributeFilter("color", "contains", value))
                text = _take(text, (i, i + len(word)))
                break
    return filters, part_type, text


def find_sort(text: str) -> tuple[str, str]:
    for pattern, sort in ((r"cheapest|lowest[- ]priced?|least expensive|lowest price|最便宜|价格最低|便宜的|性价比", "price_asc"),
                          (r"most expensive|priciest|high[- ]end|top[- ]of[- ]the[- ]line|flagship|最贵|顶级|旗舰|最好的", "price_desc")):
        m = re.search(pattern, text, re.I)
        if m:
            return sort, _take(text, m.span())
    return "relevance", text


@lru_cache(maxsize=None)
def category_part_type(category: str | None) -> str | None:
    """The part type a Best Buy category holds (Water Cooling → cpu-cooler), from part_types.yaml."""
    for pt, spec in part_types().items():
        if category == spec["category"] or any(category == r["category"] for r in spec.get("rules", [])):
            return pt
    return None


def parse_search(graph: ProductGraph, text: str, page_size: int = 5) -> ParsedQuery:
    """"an AMD CPU under $300" / "300美元以下的AMD处理器" → SearchQuery(part_type="cpu", brands=("AMD",),
    price_max=300)."""
    if not text or not text.strip():
        raise ValueError("empty search text")
    consumed: list[str] = []
    sort, rest = find_sort(text)
    low, high, rest = find_price(rest)
    category, part_type, rest = find_category(graph, rest)
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
    if (part_type or hint) == "video-card":
        makers = [b for b in brands if b in ("NVIDIA", "AMD", "Intel")]
        if makers:
            brands = [b for b in brands if b not in makers]
            filters.append(AttributeFilter("gpu_maker", "eq", makers[0]))
    words = [w for w in tokens(rest) if w not in STOPWORDS and w in graph.token_index]
    q = SearchQuery(category=category, part_type=part_type, brands=tuple(brands), price_min=low, price_max=high,
                    filters=tuple(filters), text=" ".join(words) or None, sort=sort, page_size=page_size)
    for label, value in (("category", category), ("part_type", part_type), ("brands", brands), ("price_min", low),
                         ("price_max", high), ("sort", sort if sort != "relevance" else None)):
        if value:
            consumed.append(f"{label}={value}")
    consumed.extend(f"{f.key} {f.op} {f.value}" for f in filters)
    return ParsedQuery(q, tuple(consumed), inferred)


# --- products mentioned by name ---------------------------------------------------------------

@dataclass(frozen=True)
class Mention:
    product: Product
    score: float
    matched: tuple[str, ...]


_NONE = np.zeros(0, dtype=np.int64)


def find_products(graph: ProductGraph, text: str, limit: int = 2, part_type: str | None = None) -> list[Mention]:
    """Products named in the text, best first, each from different words: "Ryzen 7 9800X3D" →
    AMD Ryzen 7 9800X3D. A mention needs at least one distinctive word (a model number or a rare
    name word).

    Scoring: the idf of the words a name shares with the text (`gained`), weighted by how much of
    the name they cover; ties go to the more popular product. It runs as array operations over the
    catalogue, since a common model word ("ddr4") makes thousands of candidates."""
    query = [t for t in dict.fromkeys(tokens(text)) if t in graph.token_index and t not in STOPWORDS]
    mentions: list[Mention] = []
    remaining = list(query)
    n = len(graph.columns.skus)
    allowed = np.ones(n, dtype=bool)
    if part_type:
        allowed[:] = False
        allowed[graph.columns.part_type_idx.get(part_type, _NONE)] = True
    while remaining and len(mentions) < limit:
        rarest = min(graph.token_df[t] for t in remaining)
        distinctive = [t for t in remaining if graph.token_df[t] <= max(60, rarest) or _model_number(t)]
        candidate = np.zeros(n, dtype=bool)
        for t in distinctive:
            candidate[graph.token_index[t]] = True
        candidate &= allowed
        positions = np.flatnonzero(candidate)
        if not len(positions):
            break
        gained = np.zeros(n)
        for t in remaining:
            gained[graph.name_index.get(t, _NONE)] += graph.token_idf[t]
        gained = gained[positions]
        total = graph.name_idf[positions]
        coverage = gained / np.where(total > 0, total, 1.0)
        score = gained * (0.5 + 0.5 * coverage)
        # first maximum = most popular among equals; rounded, so that the same words summed in
        # another order (names with the same words in another order) still tie
        best = int(np.argmax(np.round(score, 9)))
        position = int(positions[best])
        sku = graph.columns.skus[position]
        name_tokens = graph.name_tokens[sku]
        matched = tuple(t for t in remaining if t in name_tokens)
        if not any(_model_number(t) for t in matched) and (len(matched) < 2 or coverage[best] < 0.5):
            break  # ordinary words ("first", "gaming") are not a product name
        mentions.append(Mention(graph.products[sku], float(score[best]), matched))
        allowed[position] = False
        remaining = [t for t in remaining if t not in name_tokens]
    return mentions


def _model_number(token: str) -> bool:
    return any(c.isdigit() for c in token) and any(c.isalpha() for c in token)


@lru_cache(maxsize=1)
def _attribute_phrases() -> tuple[list[tuple[str, re.Pattern[str], str]], list[tuple[str, str]]]:
    data = load_yaml("attribute_synonyms.yaml")
    en = {k.lower(): v for k, v in data["en"].items()}
    zh = dict(data["zh"])
    for key, info in attributes().items():
        en.setdefault(info.en.lower(), key)
        zh.setdefault(info.zh, key)
    return ([(phrase, re.compile(_L + re.escape(phrase) + _R), key) for phrase, key in sorted(en.items(), key=lambda x: -len(x[0]))],
            sorted(zh.items(), key=lambda x: -len(x[0])))


def find_attribute(text: str, product: Product | None = None) -> str | None:
    """Which attribute a question asks about ("how many cores…" → core_count; "刷新率" →
    refresh_rate); among several, the one the product has."""
    low = text.lower()
    en, zh = _attribute_phrases()
    hits: list[tuple[int, str]] = []
    for phrase, pattern, key in en:
        if phrase in low and (m := pattern.search(low)):      # substring test first: most phrases are absent
            hits.append((m.start(), key))
    for phrase, key in zh:
        i = text.find(phrase)
        if i >= 0:
            hits.append((i, key))
    if not hits:
        return None
    if product is not None:
        for _, key in hits:
            if key in ("price", "brand") or key in product.attributes:
                return key
    return hits[0][1]



CHEAPER_WORDS = re.compile(r"(?i)\b(cheaper|less expensive|lower price|more affordable|budget)\b|便宜|实惠|低一点|少一点")
PRICIER_WORDS = re.compile(r"(?i)\b(more expensive|pricier|higher[- ]end|premium|better ones?)\b|贵一点|更好|高端|好一点")


def refine_query(previous: SearchQuery, update: SearchQuery, text: str = "",
                 shown_prices: list[float] | None = None) -> SearchQuery:
    """Follow-up to a search ("cheaper", "only Corsair", "DDR5 ones", "under $200"): the previous
    constraints, with the new ones replacing those of the same kind. A new category starts from its
    own constraints but keeps the budget."""
    if (update.part_type or update.category) and (update.part_type, update.category) != (previous.part_type, previous.category):
        base = replace(previous, category=update.category, part_type=update.part_type, brands=(), filters=(), text=None)
    else:
        base = previous
    keys = {f.key for f in update.filters}
    merged = replace(
        base, page=1, exclude=(),
        brands=update.brands or base.brands,
        price_min=update.price_min if update.price_min is not None else base.price_min,
        price_max=update.price_max if update.price_max is not None else base.price_max,
        filters=tuple(f for f in base.filters if f.key not in keys) + update.filters,
        text=update.text or base.text,
        sort=update.sort if update.sort != "relevance" else base.sort)
    if shown_prices and update.price_max is None and CHEAPER_WORDS.search(text or ""):
        # "cheaper": below the middle of what was shown, closest prices first
        ceiling = round(statistics.median(shown_prices) - 0.01, 2)
        merged = replace(merged, price_max=min(ceiling, merged.price_max or ceiling), sort="price_desc",
                         price_min=merged.price_min if merged.price_min and merged.price_min < ceiling else None)
    elif shown_prices and update.price_min is None and PRICIER_WORDS.search(text or ""):
        floor = round(statistics.median(shown_prices) + 0.01, 2)
        merged = replace(merged, price_min=max(floor, merged.price_min or floor), sort="price_asc",
                         price_max=merged.price_max if merged.price_max and merged.price_max > floor else None)
    if merged.price_min is not None and merged.price_max is not None and merged.price_min > merged.price_max:
        merged = replace(merged, price_min=None)
    return merged


def price_from_entity(value: Any) -> float | None:
    """"300", "$300", "300美元", "1,200" → the number; None when there is none."""
    m = re.search(NUM, str(value or ""))
    return _num(m.group(1)) if m else None
