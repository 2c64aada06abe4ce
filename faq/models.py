"""Typed records of the FAQ: entries an operator edits, development queries, retrieval results.

Plain frozen dataclasses so that tests, the benchmark and the Rasa action share one vocabulary.
"""

from __future__ import annotations

from dataclasses import dataclass, field

LANGUAGES = ("en", "zh")


@dataclass(frozen=True)
class Link:
    title: str
    url: str


@dataclass(frozen=True)
class FaqEntry:
    """One question the shop answers, with the ways shoppers ask it and the answer, per language."""

    id: str
    topic: str
    questions: dict[str, tuple[str, ...]]
    answers: dict[str, str]
    links: tuple[Link, ...] = ()
    source: str = ""  # file the entry came from, for error messages

    def question(self, lang: str) -> str:
        """The canonical wording (the first variant), used as a button title."""
        return self.questions[lang][0]


@dataclass(frozen=True)
class DevQuery:
    """A development paraphrase: what a shopper might type and the entries that answer it."""

    text: str
    lang: str
    expected: tuple[str, ...]  # acceptable entry ids; empty for an out-of-scope question

    @property
    def in_scope(self) -> bool:
        return bool(self.expected)


@dataclass(frozen=True)
class Candidate:
    """One FAQ entry scored for a query: each signal in [0, 1] and their weighted fusion."""

    entry: FaqEntry
    dense: float
    bm25: float
    fused: float


@dataclass(frozen=True)
class SearchResult:
    """The ranked candidates for one query and whether the best one may be answered directly."""

    query: str
    lang: str
    candidates: tuple[Candidate, ...]
    confident: bool
    threshold: float
    elapsed_ms: float = 0.0

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def suggestions(self, n: int = 3) -> list[FaqEntry]:
        """The n closest distinct entries, offered as buttons when the retriever is not sure."""
        return [c.entry for c in self.candidates[:n]]

    def as_json(self) -> dict:
        """The stable line format of `daogou faq search --json` (other tooling parses it)."""
        best = self.best
        return {
            "query": self.query,
            "lang": self.lang,
            "topic": best.entry.topic if best else None,
            "id": best.entry.id if best else None,
            "score": round(best.fused, 4) if best else 0.0,
            "confident": self.confident,
            "answer": best.entry.answers[self.lang] if best and self.confident else None,
        }


@dataclass(frozen=True)
class LanguageCalibration:
    """Fusion weight of the dense signal (BM25 gets the rest) and the confidence threshold."""

    dense_weight: float
    threshold: float


@dataclass
class Calibration:
    per_language: dict[str, LanguageCalibration]
    model: str = ""
    notes: dict = field(default_factory=dict)
