"""Catalogue mention linking: which products a message names, in English or Chinese, with typos.

Every action asks the same question of a message ("which product is this about?"), so it is
answered once, here, for the whole catalogue: full and partial names ("Samsung 990 Pro"), bare
model numbers ("4070", "9800X3D", "B650", "rm850x"), brand + model, Chinese brand names (三星 →
Samsung) and misspelt words ("noctau", "corsiar"). Each mention carries its SKU candidates and a
confidence, so the caller can act on one clear match, ask which one when several are equally good
("the 990 Pro": 1 TB or 2 TB?), or say that nothing matched.

Typo correction uses rapidfuzz (a maintained C++ implementation of edit-distance ratios) against
the catalogue's name vocabulary, and only for words that are neither catalogue words nor words
shoppers use in ordinary requests (the training data's vocabulary): "stock" must not become
"stick". Scoring is the idf of the words a name shares with the message, weighted by how much of the
name they cover, as array operations over the catalogue (a common word like "ddr4" makes thousands
of candidates); a message costs well under 2 ms.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import numpy as np
from rapidfuzz import fuzz, process

from catalog.reference import load_yaml
from knowledge_graph.graph import ProductGraph
from knowledge_graph.parse import ASKING_WORDS, STOPWORDS, negated_variants, ordinary_words
from knowledge_graph.vocab import tokens

_NONE = np.zeros(0, dtype=np.int64)
MAX_CANDIDATES = 5
TIE = 0.9  # candidates scoring within 10 % of the best are equally good readings
DISTINCTIVE_DF = 60  # a word naming at most this many products identifies a product line
# variant suffixes of a model: a name with one the shopper did not say is a different model
VARIANTS = frozenset({"ti", "super", "xt", "xtx"})
# amounts of money: "$300", "300 dollars", "under 300", "3000元", "预算3000", "1.5k" — never model numbers
_MONEY = re.compile(
    r"(?i)[$¥￥]\s*\d[\d,.]*k?|\d[\d,.]*\s*k?\s*(?:dollars?|usd|bucks|美元|美金|刀|块钱|块|元|人民币|rmb)"
    r"|(?:under|below|over|above|around|about|within|less than|more than|at most|at least|up to|budget(?: of)?|"
    r"预算|不超过|低于|高于|大约|大概)\s*\d[\d,.]*k?|\d[\d,.]*k?\s*(?:以下|以内|以上|左右|上下)"
)
_MEASURE = re.compile(
    r"(?<![a-z0-9.-])\d+(?:\.\d+)?\s*(?:gb|tb|mb|w|watts?|hz|mhz|ghz|inch(?:es)?|mm|cm|ms|dpi|cores?|"
    r"threads?|fps|英寸|寸|核|瓦)(?![a-z0-9])",
    re.I,
)
# words of a specification, not of a model: "4k", "1440p", "144hz", "ddr5", "gen4"
_SPEC_WORD = re.compile(
    r"[1-8]k|\d{3,4}p|\d+(?:hz|gb|tb|mb|w|mm|ms|mhz|ghz)|\d{1,3}[gt]|ddr\d|gddr\d[x]?|gen\d|pcie\d?|usb\d?"
)


# the attribute a measure said of a product names ("64GB" of a memory kit or a drive, "850W" of a supply)
_MEASURE_KEYS = {"gb": "capacity", "w": "wattage", "hz": "refresh_rate"}
_MEASURE_PARTS = re.compile(r"(?i)(\d+(?:\.\d+)?)\s*(gb|tb|w|watts?|hz)\b")


def said_measures(text: str) -> list[tuple[float, str]]:
    """The capacities, wattages and refresh rates a message gives ("64GB", "2 tb", "850w"), as (value,
    unit) with terabytes in gigabytes, the unit the catalogue records."""
    found = []
    for m in _MEASURE.finditer(text):
        if part := _MEASURE_PARTS.fullmatch(m.group().strip()):
            value, unit = float(part.group(1)), part.group(2).lower()
            unit = "w" if unit.startswith("w") else unit
            found.append((value * 1000, "gb") if unit == "tb" else (value, unit))
    return found


def _measure_column(graph: ProductGraph, key: str) -> np.ndarray:
    """One numeric attribute of every product in column order (NaN where it is not recorded)."""
    values = (graph.products[sku].attributes.get(key) for sku in graph.columns.skus)
    return np.array(
        [float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else np.nan for v in values]
    )


@dataclass(frozen=True)
class Mention:
    """Products one part of the message names. `candidates` are SKUs, best first; `clear` says
    whether the best one can be acted on without asking."""

    words: tuple[str, ...]
    candidates: tuple[str, ...]
    confidence: float
    clear: bool
    # more differently named products fit equally well than a "which one?" can list: a product line
    # ("the 4070 Ti Super", "5060 Ti"), better shown as a search than asked about
    line: bool = False

    @property
    def sku(self) -> str:
        return self.candidates[0]


def _is_model_number(token: str) -> bool:
    if _SPEC_WORD.fullmatch(token):
        return False
    has_digit = any(c.isdigit() for c in token)
    return has_digit and (any(c.isalpha() for c in token) or len(token) >= 3)


class Linker:
    """The linking tables of one graph: the name vocabulary by length for typo correction and the
    Chinese brand words."""

    def __init__(self, graph: ProductGraph):
        self.graph = graph
        ordinary = ordinary_words()
        brands = {b.lower() for b in graph.brands}
        self._by_length: dict[int, list[str]] = {}
        for tok, df in graph.token_df.items():
            # letters-only catalogue words (model numbers are matched exactly)
            if (
                len(tok) >= 5
                and tok.isalpha()
                and tok not in ASKING_WORDS
                and tok not in STOPWORDS
                and (df <= 400 or tok in brands)
            ):
                self._by_length.setdefault(len(tok), []).append(tok)
        self._ordinary = ordinary
        self._measures = {key: _measure_column(graph, key) for key in set(_MEASURE_KEYS.values())}
        # Chinese brand names (三星 → Samsung), longest first so 华硕ROG is not read as a shorter name
        self._brand_zh = [
            (zh, brand)
            for zh, brand in sorted(load_yaml("brands_zh.yaml").items(), key=lambda x: -len(x[0]))
            if brand in graph.brands
        ]

    def correct(self, token: str) -> str | None:
        """The catalogue word a misspelt word stands for, or None. Only words of five or more letters
        that are not ordinary request words; one or two character edits allowed."""
        if (
            len(token) < 5
            or token in self._ordinary
            or token in self.graph.token_index
            or any(c.isdigit() for c in token)
        ):
            return None
        choices = [w for n in range(len(token) - 1, len(token) + 2) for w in self._by_length.get(n, ())]
        if not choices:
            return None
        found = process.extractOne(token, choices, scorer=fuzz.ratio, score_cutoff=80)
        return found[0] if found else None

    def query_words(self, text: str) -> list[str]:
        """The message's words that may name a product: prices and measures removed, Chinese brand
        names turned into the catalogue's, misspellings corrected."""
        text = _MEASURE.sub(" ", _MONEY.sub(" ", text))
        words: list[str] = []
        if not text.isascii():
            for zh, brand in self._brand_zh:
                if zh in text:
                    words.extend(tokens(brand))
                    text = text.replace(zh, " ")
        said = tokens(text)
        for i, tok in enumerate(said):
            if tok in self.graph.token_index:
                words.append(tok)
            elif (fixed := self.correct(tok)) is not None:
                words.append(fixed)
            joined = f"{tok}-{said[i + 1]}" if i + 1 < len(said) else ""
            if joined in self.graph.token_index:  # "nh d15" written for "NH-D15"
                words.append(joined)
        return [w for w in dict.fromkeys(words) if w not in STOPWORDS]

    def link(self, text: str, limit: int = 2, part_type: str | None = None) -> list[Mention]:
        """Mentions in the message, most specific first, each from different words. A capacity or
        wattage said with the name ("the Ripjaws S5 64GB") keeps only the readings that have it, when
        any has."""
        graph = self.graph
        remaining = self.query_words(text)
        measures = said_measures(text) if remaining else []
        said = set(remaining)
        n = len(graph.columns.skus)
        allowed = np.ones(n, dtype=bool)
        if part_type:
            allowed[:] = False
            allowed[graph.columns.part_type_idx.get(part_type, _NONE)] = True
        mentions: list[Mention] = []
        attempts = 0
        while remaining and len(mentions) < limit and attempts < 6:
            attempts += 1
            rarest = min(graph.token_df[t] for t in remaining)
            distinctive = [
                t
                for t in remaining
                if graph.token_df[t] <= max(DISTINCTIVE_DF, rarest) or _is_model_number(t)
            ]
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
            score = np.round(gained * (0.5 + 0.5 * coverage), 9)
            # stable sort: among equal scores the catalogue order (popularity) decides
            order = np.argsort(-score, kind="stable")
            if measures:  # the readings that have the capacity said first, however far down they sort
                order = self._measured_first(order, score, positions, measures)
            order = order[:50]
            best = int(order[0])
            best_sku = graph.columns.skus[int(positions[best])]
            name_tokens = graph.name_tokens[best_sku]
            matched = tuple(t for t in remaining if t in name_tokens)
            if not any(_is_model_number(t) for t in matched) and (len(matched) < 2 or coverage[best] < 0.5):
                # ordinary words ("first", "gaming", a store's "Square") are not a product name:
                # try again without the rarest of them
                remaining.remove(min(distinctive, key=lambda t: graph.token_df[t]))
                continue
            top = float(score[best])
            full = coverage[best] >= 0.999  # every word of the best name was said: rivals must be as complete
            tied = [
                int(i)
                for i in order
                if score[i] >= TIE * top
                and (not full or coverage[i] >= 0.999)
                and set(matched) <= graph.name_tokens[graph.columns.skus[int(positions[int(i)])]]
            ]
            if measures and len(tied) > 1:
                fits = self._fits(positions[np.array(tied)], measures)
                tied = [i for i, ok in zip(tied, fits, strict=True) if ok] or tied
            every = tied  # a line is a line with its variants (the search shows them apart)
            if len(tied) > 1:  # "RX 6600" is the 6600, not the 6600 XT beside it
                base = [
                    i
                    for i in tied
                    if not (VARIANTS & graph.name_tokens[graph.columns.skus[int(positions[i])]]) - said
                ]
                tied = base or tied
            skus = tuple(graph.columns.skus[int(positions[i])] for i in tied[:MAX_CANDIDATES])
            runner_up = next((float(score[i]) for i in order[1:] if i not in tied[:1]), 0.0)
            confidence = round(min(1.0, (1 - runner_up / top) + float(coverage[best]) / 2), 3) if top else 0.0
            clear = len(tied) == 1
            names = {graph.products[graph.columns.skus[int(positions[i])]].name for i in every}
            mentions.append(Mention(matched, skus, confidence, clear, len(names) > MAX_CANDIDATES))
            allowed[positions[tied]] = False
            remaining = [t for t in remaining if t not in matched]
        return mentions

    def _fits(self, columns: np.ndarray, measures: list[tuple[float, str]]) -> np.ndarray:
        """Which of these products (column positions) have every measure said among their attributes."""
        ok = np.ones(len(columns), dtype=bool)
        for value, unit in measures:
            if unit in _MEASURE_KEYS:
                ok &= np.isclose(self._measures[_MEASURE_KEYS[unit]][columns], value)
        return ok

    def _measured_first(
        self, order: np.ndarray, score: np.ndarray, positions: np.ndarray, measures: list[tuple[float, str]]
    ) -> np.ndarray:
        """The candidate order with the equally good readings that have every measure said moved to
        the front (unchanged when none or all of them has)."""
        near = order[score[order] >= TIE * score[order[0]]]
        fit = near[self._fits(positions[near], measures)]
        if not len(fit) or len(fit) == len(near):
            return order
        return np.concatenate([fit, order[~np.isin(order, fit)]])


_linkers: dict[int, tuple[ProductGraph, Linker]] = {}
_lock = threading.Lock()


def linker(graph: ProductGraph) -> Linker:
    """The linker of this graph (built once per graph; a refreshed graph gets a new one)."""
    cached = _linkers.get(id(graph))
    if cached is not None and cached[0] is graph:
        return cached[1]
    with _lock:
        made = Linker(graph)
        _linkers.clear()
        _linkers[id(graph)] = (graph, made)
    return made


def link(graph: ProductGraph, text: str, limit: int = 2, part_type: str | None = None) -> list[Mention]:
    """Mentions of catalogue products; a variant the shopper rules out ("4060，不要ti", "(not Ti)")
    names none, and is dropped from the candidates (the 5070 and the 5070 Ti share every other word)."""
    excluded, rest = negated_variants(text)
    mentions = _link_parts(linker(graph), rest, limit, part_type)
    if (apart := _JOINED_SUFFIX.sub(r"\1 \2", rest)) != rest:  # "三星990pro", "4070ti": the surer reading
        other = _link_parts(linker(graph), apart, limit, part_type)
        if other and (not mentions or other[0].confidence > mentions[0].confidence):
            mentions = other
    return [_without(graph, m, excluded) for m in mentions] if excluded else mentions


# a model number typed together with the word after it ("990pro", "4070ti", "9070xt"): read both ways,
# the surer reading wins; one letter stays ("5600x", "b650m", "7800x3d" are model numbers)
_JOINED_SUFFIX = re.compile(r"(?<![A-Za-z0-9])(\d+)([a-zA-Z]{2,})\b")


# words that join two products in a Chinese message ("华硕TUF的4070 Ti和技嘉WINDFORCE 4070", "A跟B比"):
# catalogue names never contain them, so each side names its own product
_ZH_JOINER = re.compile(r"\s*(?:和|跟|与|同|还是|或者|对比|比较|vs\.?|、|，)\s*", re.I)


def _link_parts(made: Linker, text: str, limit: int, part_type: str | None) -> list[Mention]:
    """Mentions in a message of several products, one side of a joining word at a time, so the words
    of one product do not make a reading of another; the whole message when the sides name fewer
    than two different products."""
    parts = [p for p in _ZH_JOINER.split(text) if p.strip()] if limit > 1 and not text.isascii() else []
    if len(parts) > 1:
        found: list[Mention] = []
        for part in parts:
            for mention in made.link(part, 1, part_type):
                if all(set(mention.candidates).isdisjoint(m.candidates) for m in found):
                    found.append(mention)
        if len(found) > 1:
            return found[:limit]
    return made.link(text, limit, part_type)


def _without(graph: ProductGraph, mention: Mention, excluded: tuple[str, ...]) -> Mention:
    kept = tuple(s for s in mention.candidates if not set(excluded) & graph.name_tokens[s])
    if not kept or len(kept) == len(mention.candidates):
        return mention
    return Mention(mention.words, kept, mention.confidence, len(kept) == 1, mention.line)
