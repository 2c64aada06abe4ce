"""Loading and checking the operator-edited FAQ files (data/faq/).

Layout:
  topics.yaml                 the topic ids every entry is tagged with (ids are a stable contract)
  entries/*.yaml              the FAQ itself: a list of entries per file
  dev/paraphrases.yaml        development paraphrases (never indexed): how shoppers really ask
  dev/out_of_scope.yaml       near-domain questions the FAQ does not answer (never indexed)
  dev/tune_*.yaml             extra tuning questions (never indexed, never reported as a figure)
  synonyms.yaml               groups of interchangeable wordings per language, for BM25 (optional)
  calibration.yaml            fusion weights and thresholds written by `daogou faq calibrate`

Every problem is collected with the file and entry it concerns, so `daogou faq validate` can show an
operator all of them at once instead of failing on the first.

Routing to a transactional intent: some ways of asking are really requests the bot acts on ("where is
my order?" is order_status, "let me talk to a human" is request_human). Retrieval still needs them, but
as `faq` training examples they would pull those requests away from the intent that acts. So an entry
may carry `rasa_intent: <intent>` (every variant is such a request), or a single variant may be written
as a mapping `{text: ..., rasa_intent: <intent>}`. Only the Rasa export reads this; entries and the
retrieval index are the same either way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from faq.models import LANGUAGES, Calibration, DevQuery, FaqEntry, LanguageCalibration, Link
from faq.text import detect_language

MIN_VARIANTS = 3
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.-]*$")
INTENT_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class FaqContentError(ValueError):
    """The FAQ files are not usable; `problems` lists every issue found."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s) in the FAQ files:\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class FaqContent:
    entries: tuple[FaqEntry, ...]
    topics: dict[str, str]
    # (language, variant) -> the Rasa intent that owns it instead of `faq` (see the module docstring)
    rasa_intents: dict[tuple[str, str], str] = field(default_factory=dict)
    # language -> group name -> its terms (synonyms.yaml; faq.text.Synonyms)
    synonyms: dict[str, dict[str, tuple[str, ...]]] = field(default_factory=dict)

    def by_id(self) -> dict[str, FaqEntry]:
        return {e.id: e for e in self.entries}


def _read_yaml(path: Path, problems: list[str]) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        problems.append(f"{path}: cannot read YAML: {exc}")
        return None


def _text_list(value: Any) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        return None
    return [v.strip() for v in value]


def _intent_name(value: Any, where: str, problems: list[str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str) or not INTENT_PATTERN.match(value) or value == "faq":
        problems.append(f"{where}: rasa_intent must name a Rasa intent other than faq (got {value!r})")
        return None
    return value


def _variants(
    value: Any, entry_intent: str | None, where: str, problems: list[str]
) -> tuple[list[str] | None, dict[str, str]]:
    """The variant texts, and which of them a transactional intent owns (the entry's, or the variant's own)."""
    if not isinstance(value, list):
        return None, {}
    items: list[Any] = []
    intents: list[str | None] = []
    for item in value:
        intent = entry_intent
        if isinstance(item, dict):
            if set(item) - {"text", "rasa_intent"}:
                problems.append(
                    f"{where}: a variant mapping has only text and rasa_intent (got {sorted(item)})"
                )
            intent = _intent_name(item.get("rasa_intent"), where, problems) or entry_intent
            item = item.get("text")
        items.append(item)
        intents.append(intent)
    texts = _text_list(items)
    if texts is None:
        return None, {}
    return texts, {text: intent for text, intent in zip(texts, intents) if intent}


def _parse_entry(
    raw: Any,
    where: str,
    topics: dict[str, str],
    problems: list[str],
    rasa_intents: dict[tuple[str, str], str],
) -> FaqEntry | None:
    if not isinstance(raw, dict):
        problems.append(f"{where}: an entry must be a mapping with id, topic, questions, answer")
        return None
    unknown = set(raw) - {"id", "topic", "questions", "answer", "links", "rasa_intent"}
    if unknown:
        problems.append(f"{where}: unknown field(s) {sorted(unknown)}")
    entry_id = raw.get("id")
    if not isinstance(entry_id, str) or not ID_PATTERN.match(entry_id):
        problems.append(f"{where}: id must be lower-case letters, digits, '.', '-' or '_' (got {entry_id!r})")
        return None
    where = f"{where} ({entry_id})"
    topic = raw.get("topic")
    if topic not in topics:
        problems.append(f"{where}: topic {topic!r} is not listed in topics.yaml")
    entry_intent = _intent_name(raw.get("rasa_intent"), where, problems)
    questions: dict[str, tuple[str, ...]] = {}
    answers: dict[str, str] = {}
    for lang in LANGUAGES:
        variants, owners = _variants((raw.get("questions") or {}).get(lang), entry_intent, where, problems)
        rasa_intents.update({(lang, text): intent for text, intent in owners.items()})
        if variants is None or len(variants) < MIN_VARIANTS:
            problems.append(f"{where}: questions.{lang} needs at least {MIN_VARIANTS} non-empty variants")
        else:
            if len(set(variants)) != len(variants):
                problems.append(f"{where}: questions.{lang} repeats a variant")
            wrong = [v for v in variants if detect_language(v) != lang]
            if wrong:
                problems.append(f"{where}: questions.{lang} has variants in another language: {wrong}")
            questions[lang] = tuple(variants)
        answer = (raw.get("answer") or {}).get(lang)
        if not isinstance(answer, str) or not answer.strip():
            problems.append(f"{where}: answer.{lang} is missing")
        else:
            answers[lang] = answer.strip()
    links = []
    for link in raw.get("links") or []:
        if not isinstance(link, dict) or not str(link.get("url", "")).startswith(
            ("https://", "http://", "/")
        ):
            problems.append(f"{where}: each link needs a title and an http(s) or site-relative url")
            continue
        links.append(Link(title=str(link.get("title") or link["url"]), url=str(link["url"])))
    if len(questions) != len(LANGUAGES) or len(answers) != len(LANGUAGES):
        return None
    return FaqEntry(
        id=entry_id, topic=str(topic), questions=questions, answers=answers, links=tuple(links), source=where
    )


def load_topics(faq_dir: Path, problems: list[str]) -> dict[str, str]:
    raw = _read_yaml(faq_dir / "topics.yaml", problems)
    if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
        problems.append(f"{faq_dir / 'topics.yaml'}: expected a mapping topic id -> description")
        return {}
    return {k: str(v) for k, v in raw.items()}


def load_content(faq_dir: Path) -> FaqContent:
    """Read and check every entry file; raise FaqContentError listing all problems."""
    problems: list[str] = []
    if not faq_dir.is_dir():
        raise FaqContentError([f"{faq_dir}: FAQ directory not found"])
    topics = load_topics(faq_dir, problems)
    entries: list[FaqEntry] = []
    rasa_intents: dict[tuple[str, str], str] = {}
    files = sorted((faq_dir / "entries").glob("*.yaml"))
    if not files:
        problems.append(f"{faq_dir / 'entries'}: no *.yaml entry files")
    for path in files:
        raw = _read_yaml(path, problems)
        if raw is None:
            continue
        if not isinstance(raw, list):
            problems.append(f"{path}: expected a list of entries")
            continue
        for i, item in enumerate(raw):
            entry = _parse_entry(item, f"{path.name}[{i}]", topics, problems, rasa_intents)
            if entry is not None:
                entries.append(entry)
    seen: dict[str, str] = {}
    for entry in entries:
        if entry.id in seen:
            problems.append(f"{entry.source}: id also used by {seen[entry.id]}")
        seen[entry.id] = entry.source
    owners: dict[tuple[str, str], str] = {}
    for entry in entries:
        for lang, variants in entry.questions.items():
            for v in variants:
                key = (lang, v.casefold())
                if key in owners and owners[key] != entry.id:
                    problems.append(f"{entry.source}: variant {v!r} also belongs to {owners[key]}")
                owners[key] = entry.id
    used = {e.topic for e in entries}
    for topic in topics:
        if topic not in used:
            problems.append(f"topics.yaml: topic {topic} has no entry")
    synonyms = load_synonyms(faq_dir / "synonyms.yaml", problems)
    if problems:
        raise FaqContentError(problems)
    return FaqContent(entries=tuple(entries), topics=topics, rasa_intents=rasa_intents, synonyms=synonyms)


def load_synonyms(path: Path, problems: list[str]) -> dict[str, dict[str, tuple[str, ...]]]:
    """`language: {group: [term, ...]}`; a term may belong to one group only. No file, no groups."""
    if not path.exists():
        return {}
    raw = _read_yaml(path, problems) or {}
    if not isinstance(raw, dict) or not set(raw) <= set(LANGUAGES):
        problems.append(f"{path}: expected a mapping language ({', '.join(LANGUAGES)}) -> groups")
        return {}
    result: dict[str, dict[str, tuple[str, ...]]] = {}
    for lang, groups in raw.items():
        owners: dict[str, str] = {}
        result[lang] = {}
        for name, terms in (groups or {}).items():
            terms = _text_list(terms)
            if not terms:
                problems.append(f"{path}: {lang}.{name}: expected a list of terms")
                continue
            for term in terms:
                key = term.strip().lower()
                if key in owners and owners[key] != name:
                    problems.append(f"{path}: {lang}: {term!r} is in both {owners[key]} and {name}")
                owners[key] = str(name)
            result[lang][str(name)] = tuple(t.strip() for t in terms)
    return result


def _paraphrases(items: Any, path: Path, known_ids: set[str] | None, problems: list[str]) -> list[DevQuery]:
    """`[{q: text, id: entry id or list}]` as dev queries; problems are collected, not raised."""
    queries: list[DevQuery] = []
    for i, item in enumerate(items if isinstance(items, list) else [items]):
        if not isinstance(item, dict) or not isinstance(item.get("q"), str):
            problems.append(f"{path}[{i}]: expected {{q: text, id: entry id or list}}")
            continue
        ids = item.get("id")
        ids = (ids,) if isinstance(ids, str) else tuple(ids or ())
        missing = [x for x in ids if known_ids is not None and x not in known_ids]
        if not ids or missing:
            problems.append(f"{path}[{i}] {item['q']!r}: unknown or missing id {missing or ids}")
            continue
        queries.append(DevQuery(text=item["q"].strip(), lang=detect_language(item["q"]), expected=ids))
    return queries


def load_dev_queries(faq_dir: Path, known_ids: set[str] | None = None) -> list[DevQuery]:
    """The development set: paraphrases (with expected entry ids) and out-of-scope questions."""
    problems: list[str] = []
    queries: list[DevQuery] = []
    para_path, oos_path = faq_dir / "dev" / "paraphrases.yaml", faq_dir / "dev" / "out_of_scope.yaml"
    queries += _paraphrases(_read_yaml(para_path, problems) or [], para_path, known_ids, problems)
    oos = _read_yaml(oos_path, problems) or {}
    if not isinstance(oos, dict):
        problems.append(f"{oos_path}: expected a mapping language -> list of questions")
        oos = {}
    for lang in LANGUAGES:
        for text in _text_list(oos.get(lang, [])) or []:
            queries.append(DevQuery(text=text, lang=detect_language(text), expected=()))
    if problems:
        raise FaqContentError(problems)
    return queries


def load_tuning_queries(faq_dir: Path, known_ids: set[str] | None = None) -> list[DevQuery]:
    """Extra tuning questions, `dev/tune_*.yaml` (`paraphrases: [{q, id}]`, `out_of_scope: [...]`):
    all of them tune, none is held out, and the benchmark never reports them."""
    problems: list[str] = []
    queries: list[DevQuery] = []
    for path in sorted((faq_dir / "dev").glob("tune_*.yaml")):
        raw = _read_yaml(path, problems) or {}
        if not isinstance(raw, dict):
            problems.append(f"{path}: expected a mapping with paraphrases and out_of_scope")
            continue
        queries += _paraphrases(raw.get("paraphrases") or [], path, known_ids, problems)
        for text in _text_list(raw.get("out_of_scope") or []) or []:
            queries.append(DevQuery(text=text.strip(), lang=detect_language(text), expected=()))
    if problems:
        raise FaqContentError(problems)
    return queries


def load_calibration(path: Path) -> Calibration | None:
    """The committed calibration, or None when it has not been written yet."""
    if not path.exists():
        return None
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    per_language = {
        lang: LanguageCalibration(dense_weight=float(v["dense_weight"]), threshold=float(v["threshold"]))
        for lang, v in (raw.get("languages") or {}).items()
    }
    return Calibration(
        per_language=per_language, model=str(raw.get("model", "")), notes=raw.get("notes") or {}
    )


def save_calibration(path: Path, calibration: Calibration) -> None:
    payload = {
        "model": calibration.model,
        "languages": {
            lang: {"dense_weight": round(c.dense_weight, 3), "threshold": round(c.threshold, 4)}
            for lang, c in calibration.per_language.items()
        },
        "notes": calibration.notes,
    }
    header = "# Written by `daogou faq calibrate` from data/faq/dev (tuning split). Re-run after changing the model.\n"
    path.write_text(header + yaml.safe_dump(payload, allow_unicode=True, sort_keys=False), encoding="utf-8")
