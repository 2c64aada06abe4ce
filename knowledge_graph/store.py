"""The process-wide product graph: loaded once from a pickle cache under $STATE_DIR/kg (keyed by
the catalogue's fingerprint, knowledge_graph/sources.py), then kept current without a restart.

A catalogue change reaches the bot without a restart: the action server checks the database's
catalogue fingerprint every `kg_refresh_s` seconds (in a background thread, `Refresher`), rebuilds
the graph when it changed and swaps it in atomically; conversations keep using the old graph until then.
"""

from __future__ import annotations

import gc
import logging
import pickle
import threading
import time
from pathlib import Path
from typing import cast

from catalog.models import Product
from daogou.files import atomic_path
from knowledge_graph.graph import ProductGraph, build_graph, settle
from knowledge_graph.sources import merge, source_fingerprint_for

log = logging.getLogger(__name__)


def _read_cache(path: Path) -> object | None:
    """An unpickled cache file, or None when it is missing or unreadable (then it is rebuilt)."""
    if not path.exists():
        return None
    enabled = gc.isenabled()
    gc.disable()  # unpickling a million objects: no point collecting meanwhile
    try:
        with path.open("rb") as fh:
            value: object = pickle.load(fh)
            return value
    except Exception as exc:  # a corrupt or stale cache is rebuilt, never fatal
        log.warning("ignoring unreadable cache %s: %s", path, exc)
        return None
    finally:
        if enabled:
            gc.enable()


def _write_cache(path: Path, value: object) -> None:
    """Write atomically, and drop the older files of the same kind (graph-*, import-*)."""
    # Several processes (action servers, CLI, tests) may write the same cache at once: each writes its
    # own temporary file, and a failed write only costs a rebuild next time.
    try:
        with atomic_path(path) as tmp, tmp.open("wb") as fh:
            pickle.dump(value, fh, protocol=pickle.HIGHEST_PROTOCOL)
    except OSError as exc:
        log.warning("could not write cache %s: %s", path, exc)
        return
    for old in path.parent.glob(path.name.split("-")[0] + "-*.pkl"):
        if old != path:
            old.unlink(missing_ok=True)


def _file_products(data_dir: Path, files_fingerprint: str, cache_dir: Path | None) -> list[Product]:
    """The shop files' import, cached by their fingerprint: when only the database changes (a price,
    a new product) the refresh rebuilds the graph without parsing the files again (0.04 s, not 0.4 s)."""
    from catalog import load_products

    path = cache_dir / f"import-{files_fingerprint}.pkl" if cache_dir else None
    cached = _read_cache(path) if path else None
    if isinstance(cached, tuple) and len(cached) == 2 and cached[0] == files_fingerprint:
        return cast(list[Product], cached[1])
    products = load_products(data_dir)
    if path:
        _write_cache(path, (files_fingerprint, products))
    return products


def load_graph(
    data_dir: Path | None = None, cache: bool = True, source: str | None = None, rebuild: bool = False
) -> ProductGraph:
    """The graph of the current catalogue (see source_fingerprint_for), from the pickle cache at
    $STATE_DIR/kg/graph-<fingerprint>.pkl when its inputs have not changed. `rebuild` ignores the
    cache but still writes it; `cache=False` neither reads nor writes it (nor the import cache)."""
    from catalog import load_categories
    from daogou.config import get_settings

    settings = get_settings()
    data_dir = Path(data_dir or settings.data_dir)
    fingerprint, rows = source_fingerprint_for(data_dir, source)
    cache_dir = settings.state_dir / "kg"
    path = cache_dir / f"graph-{fingerprint}.pkl"
    graph = _read_cache(path) if cache and not rebuild else None
    if isinstance(graph, ProductGraph) and graph.fingerprint == fingerprint:
        settle()
        return graph
    products = _file_products(
        data_dir, fingerprint.split("-")[0], cache_dir if cache and not rebuild else None
    )
    if rows:
        products = merge(products, rows)
    graph = build_graph(products, load_categories(data_dir), fingerprint)
    if cache:
        _write_cache(path, graph)
    settle()
    return graph


_lock = threading.Lock()
_current: ProductGraph | None = None
_refresher: Refresher | None = None


def get_graph() -> ProductGraph:
    """The process-wide graph: loaded once, then refreshed in the background when the catalogue
    changes (Refresher; every settings.kg_refresh_s seconds)."""
    global _current, _refresher
    if _current is None:
        with _lock:
            if _current is None:
                from daogou.config import get_settings

                _current = load_graph()
                _refresher = Refresher(get_settings().kg_refresh_s)
    if _refresher is not None:
        _refresher.maybe_start(_current.fingerprint)
    return _current


def set_graph(graph: ProductGraph) -> None:
    """Swap in a new graph atomically (used after a catalogue change; readers keep the old one
    until their query ends)."""
    global _current
    gc.unfreeze()  # let the previous graph be collected once no query holds it
    _current = graph
    settle()


class Refresher:
    """Checks for catalogue changes at most every `interval_s` seconds, off the caller's thread."""

    def __init__(self, interval_s: float):
        self.interval_s = interval_s
        self._last = time.monotonic()
        self._running = threading.Lock()

    def maybe_start(self, current_fingerprint: str) -> None:
        if self.interval_s <= 0 or time.monotonic() - self._last < self.interval_s:
            return
        if not self._running.acquire(blocking=False):
            return
        self._last = time.monotonic()
        threading.Thread(
            target=self._run, args=(current_fingerprint,), name="kg-refresh", daemon=True
        ).start()

    def _run(self, current_fingerprint: str) -> None:
        try:
            fingerprint, _ = source_fingerprint_for()
            if fingerprint != current_fingerprint:
                log.info(
                    "catalogue changed (%s → %s): rebuilding the product graph",
                    current_fingerprint,
                    fingerprint,
                )
                set_graph(load_graph())
        except Exception:  # a failed refresh keeps the current graph; the next check retries
            log.exception("product graph refresh failed")
        finally:
            self._running.release()
