"""Content-based item similarity from catalogue attributes: category, part type, brand, attribute
values, name words and price band. It covers what collaborative filtering cannot: new items
nobody has bought yet, and shoppers with no history.

It accepts any product-like object with sku, name, brand, price, category_id, part_type and
attributes (catalog.Product has all of them), so it does not depend on how the catalogue is loaded.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from scipy import sparse


class ProductLike(Protocol):
    sku: str
    name: str
    brand: str | None
    price: float
    category_id: str
    part_type: str | None
    attributes: dict[str, Any]


# Token families weigh differently: sharing a part type matters more than sharing one name word.
FIELD_WEIGHTS = {"type": 3.0, "cat": 2.0, "brand": 1.5, "attr": 1.0, "word": 0.7, "price": 1.0}
_WORD = re.compile(r"[a-z0-9][a-z0-9.+-]*")


def product_tokens(p: ProductLike) -> list[tuple[str, float]]:
    """(token, field weight) pairs describing one product."""
    toks: list[tuple[str, float]] = []
    if p.part_type:
        toks.append((f"type:{p.part_type}", FIELD_WEIGHTS["type"]))
    toks.append((f"cat:{p.category_id}", FIELD_WEIGHTS["cat"]))
    if p.brand:
        toks.append((f"brand:{p.brand.lower()}", FIELD_WEIGHTS["brand"]))
    for key, value in sorted((p.attributes or {}).items()):
        if value is None or isinstance(value, (list, tuple, dict)):
            continue
        if isinstance(value, bool) or isinstance(value, str):
            toks.append((f"attr:{key}={str(value).lower()}", FIELD_WEIGHTS["attr"]))
        elif isinstance(value, (int, float)) and value > 0:
            # Numbers in octave-wide bins (log2): 16 GB and 32 GB differ, 16 and 17 do not.
            toks.append((f"attr:{key}~{int(math.floor(math.log2(value) * 2))}", FIELD_WEIGHTS["attr"]))
    brand_words = set(_WORD.findall((p.brand or "").lower()))
    for word in sorted(set(_WORD.findall(p.name.lower())) - brand_words):
        toks.append((f"word:{word}", FIELD_WEIGHTS["word"]))
    if p.price and p.price > 0:
        toks.append((f"price:{int(math.floor(math.log(p.price) / math.log(1.5)))}", FIELD_WEIGHTS["price"]))
    return toks


@dataclass
class ContentIndex:
    """TF-IDF-weighted, L2-normalised token vectors; cosine similarity by sparse dot products."""

    skus: list[str]
    matrix: sparse.csr_matrix
    groups: np.ndarray  # part type or category per item: similar items stay within one group
    sku_index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.sku_index = {s: i for i, s in enumerate(self.skus)}

    @classmethod
    def build(cls, products: Iterable[ProductLike]) -> ContentIndex:
        products = list(products)
        if not products:
            raise ValueError("no products to index")
        vocab: dict[str, int] = {}
        rows, cols, vals = [], [], []
        for i, p in enumerate(products):
            for tok, weight in product_tokens(p):
                rows.append(i)
                cols.append(vocab.setdefault(tok, len(vocab)))
                vals.append(weight)
        m = sparse.csr_matrix((np.array(vals, np.float32), (rows, cols)), shape=(len(products), len(vocab)))
        m.sum_duplicates()
        df = np.bincount(m.indices, minlength=len(vocab)).astype(np.float32)
        idf = np.log((1 + len(products)) / (1 + df)) + 1.0
        m = m @ sparse.diags(idf.astype(np.float32))
        norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
        m = sparse.diags((1.0 / np.where(norms > 0, norms, 1.0)).astype(np.float32)) @ m
        groups = np.array([p.part_type or p.category_id for p in products])
        return cls([p.sku for p in products], m.tocsr(), groups)

    def similarities(self, skus: Sequence[str]) -> np.ndarray:
        """Summed cosine similarity of every item to the given items (unknown skus are ignored)."""
        rows = [self.sku_index[s] for s in skus if s in self.sku_index]
        if not rows:
            return np.zeros(len(self.skus), np.float32)
        return np.asarray((self.matrix @ self.matrix[rows].T).sum(axis=1)).ravel().astype(np.float32)

    def similar(self, sku: str, k: int = 10, same_group: bool = True) -> list[tuple[str, float]]:
        if sku not in self.sku_index:
            raise KeyError(f"unknown sku {sku!r}")
        i = self.sku_index[sku]
        sims = self.similarities([sku])
        sims[i] = -np.inf
        if same_group:
            sims[self.groups != self.groups[i]] = -np.inf
        order = np.argsort(-sims, kind="stable")[:k]
        return [(self.skus[j], float(sims[j])) for j in order if np.isfinite(sims[j]) and sims[j] > 0]
