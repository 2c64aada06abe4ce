"""Fixtures for the FAQ tests: the real content, and a retriever built into a temporary state dir
(with the real bundled model: the slow tests exercise exactly what ships)."""

from __future__ import annotations

from pathlib import Path

import pytest

from daogou.config import ROOT
from faq.content import load_content

FAQ_DIR = ROOT / "data" / "faq"


@pytest.fixture(scope="session")
def content():
    return load_content(FAQ_DIR)


@pytest.fixture(scope="session")
def state_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("faq-state")


@pytest.fixture(scope="session")
def retriever(state_dir):
    from faq.retriever import FaqRetriever, RetrieverConfig

    return FaqRetriever.load(RetrieverConfig(faq_dir=FAQ_DIR, state_dir=state_dir))
