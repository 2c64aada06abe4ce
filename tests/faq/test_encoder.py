"""The fast query encoder must reproduce the model's own encode() (slow: loads the model)."""

from __future__ import annotations

import numpy as np
import pytest

from faq.encoder import get_encoder

pytestmark = pytest.mark.slow


def test_fast_path_matches_sentence_transformers_encode():
    encoder = get_encoder("", 1)
    assert encoder.path_name.startswith("lean-bert-")  # the bundled model takes the fast path
    for text in ("do u ship to canada??", "my order never arrived and tracking says delivered", "发票怎么开"):
        fast, reference = encoder.encode_one(text), encoder._encode_reference(text)
        assert fast.dtype == np.float32 and abs(float(np.linalg.norm(fast)) - 1.0) < 1e-3
        assert float(fast @ reference) > 0.999


def test_batch_encode_is_the_query_path_row_by_row():
    encoder = get_encoder("", 1)
    texts = ["return policy", "how long is the warranty"]
    rows = encoder.encode(texts)
    assert rows.shape == (2, encoder.encode_one("x").shape[0])
    assert np.allclose(rows[1], encoder.encode_one(texts[1]))
    with pytest.raises(ValueError):
        encoder.encode([])
