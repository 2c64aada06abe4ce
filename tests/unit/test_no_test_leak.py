"""No test utterance may also be a training example.

A user line of the frozen NLU test set (tests/nlu_test), of the conversation tests
(tests/conversations) or of the Rasa test stories (tests/stories) that the NLU learnt verbatim
measures memory, not understanding. Lines are compared after normalisation — Unicode NFKC
(full-width forms), case folding, entity markup reduced to its text, and every character that is
not a letter or digit (ASCII and Chinese punctuation, symbols, whitespace) dropped — so a copy that
differs only in a question mark or a space is still caught. Button payloads ("/intent{...}") are
not utterances and are skipped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

from daogou.config import ROOT

NLU_DIR = ROOT / "data" / "nlu"
NLU_TEST_DIR = ROOT / "tests" / "nlu_test"
CONVERSATIONS_DIR = ROOT / "tests" / "conversations"
STORIES_DIR = ROOT / "tests" / "stories"

# [text](entity), [text](entity:value) or [text]{"entity": ...} -> text
MARKUP = re.compile(r"\[([^\]]*)\](?:\([^)]*\)|\{[^}]*\})")


def normalise(text: str) -> str:
    """The comparison key of an utterance (see the module docstring)."""
    text = MARKUP.sub(r"\1", unicodedata.normalize("NFKC", text)).casefold()
    return "".join(ch for ch in text if ch.isalnum())


def _is_payload(text: str) -> bool:
    return text.strip().startswith("/")


def _load(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8")) or {}


def nlu_examples(path: Path) -> Iterator[str]:
    """The intent examples of one Rasa NLU YAML file (synonyms, lookups and regexes are not utterances)."""
    for item in _load(path).get("nlu") or []:
        if not isinstance(item, dict) or "intent" not in item:
            continue
        examples = item.get("examples") or ""
        if isinstance(examples, str):
            lines = [line.strip() for line in examples.splitlines()]
            yield from (line[2:].strip() for line in lines if line.startswith("- "))
        else:  # the list form: [{text: ..., metadata: ...}, ...]
            yield from (e["text"] if isinstance(e, dict) else str(e) for e in examples)


def conversation_turns(path: Path) -> Iterator[str]:
    """Shopper (`user:`) and staff (`staff:`) turns of one conversation test file."""
    for convo in _load(path).get("conversations") or []:
        for turn in (convo or {}).get("turns") or []:
            for key in ("user", "staff"):
                if isinstance(turn, dict) and isinstance(turn.get(key), str):
                    yield turn[key]


def story_turns(path: Path) -> Iterator[str]:
    """The user steps of one Rasa test story file (stories and rules)."""
    data = _load(path)
    for story in (data.get("stories") or []) + (data.get("rules") or []):
        for step in (story or {}).get("steps") or []:
            if isinstance(step, dict) and isinstance(step.get("user"), str):
                yield step["user"]


def test_utterances() -> list[tuple[str, str]]:
    """(where, utterance) for every user line of the three kinds of test files."""
    found: list[tuple[str, str]] = []
    sources = [
        (sorted(NLU_TEST_DIR.glob("*.yml")), nlu_examples),
        (sorted(CONVERSATIONS_DIR.rglob("*.yml")) if CONVERSATIONS_DIR.is_dir() else [], conversation_turns),
        (sorted(STORIES_DIR.glob("*.yml")), story_turns),
    ]
    for paths, reader in sources:
        for path in paths:
            where = str(path.relative_to(ROOT))
            found += [
                (where, text.strip()) for text in reader(path) if text.strip() and not _is_payload(text)
            ]
    return found


test_utterances.__test__ = False  # a helper, not a test (its name starts with "test")


def training_index() -> dict[str, str]:
    """Normalised training example -> 'file: original line'."""
    index: dict[str, str] = {}
    for path in sorted(NLU_DIR.glob("*.yml")):
        for line in nlu_examples(path):
            index.setdefault(normalise(line), f"{path.relative_to(ROOT)}: {line}")
    return index


def leaks() -> list[str]:
    index = training_index()
    return [
        f"{where}: {text!r} == {index[key]}"
        for where, text in test_utterances()
        if (key := normalise(text)) and key in index
    ]


def test_normalise_catches_cosmetic_copies() -> None:
    """The key ignores what does not change an utterance for the NLU, and keeps what does."""
    assert (
        normalise('Show me [Corsair](brand) [RAM]{"entity": "category", "value": "memory"}!')
        == "showmecorsairram"
    )
    assert normalise("  show me  corsair ram ") == normalise("Show me Corsair RAM?")
    assert normalise("有更便宜的吗？") == normalise("有 更便宜的吗?") == "有更便宜的吗"
    assert normalise("ＲＴＸ４０７０多少钱") == normalise("rtx 4070 多少钱")  # full-width forms
    assert normalise("“退货”要多久。") == normalise('"退货"要多久.')  # Chinese punctuation
    assert normalise("show me corsair ram") != normalise("show me corsair rom")


def test_readers_find_the_test_lines() -> None:
    """The guard would pass vacuously if the readers found nothing: the stories alone have user turns."""
    stories = [t for w, t in test_utterances() if w.startswith("tests/stories/")]
    assert len(stories) >= 100
    assert len(training_index()) >= 1000


def test_no_test_utterance_is_a_training_example() -> None:
    found = leaks()
    assert not found, (
        f"{len(found)} test utterance(s) are also training examples in data/nlu "
        "(rewrite the test line, never the training data to hide it):\n  " + "\n  ".join(found)
    )
