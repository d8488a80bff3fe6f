from __future__ import annotations

from typing import Any

import numpy as np

from .. import _capture, _random, nn
from ..tensor import Tensor, no_grad
from ..nn import functional as NF


class GPT(nn.Module):
    """A decoder-only causal language model: token and learned position embeddings,
    n_layers pre-LN transformer blocks (GELU feed-forward of 4 d_model), a final LayerNorm and
    a head tied to the token embedding (or untied). Input (B, T) token ids -> logits (B, T, V).
    """

    def __init__(
        self,
        vocab_size: int = 256,
        d_model: int = 128,
        n_heads: int = 4,
        n_layers: int = 2,
        max_len: int = 256,
        dropout: float = 0.0,
        tied: bool = True,
    ) -> None:
        super().__init__()
        self.max_len, self.tied = max_len, tied
        self.tok = nn.Embedding(vocab_size, d_model)
        self.pos = nn.Embedding(max_len, d_model)
        for emb in (self.tok, self.pos):  # GPT-2's N(0, 0.02) start
            nn.init.normal_(emb.weight, 0.0, 0.02)
        self.blocks = nn.ModuleList(
            nn.TransformerEncoderLayer(
                d_model,
                n_heads,
                4 * d_model,
                dropout=dropout,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            for _ in range(n_layers)
        )
        self.ln_f = nn.LayerNorm(d_model)
        self.head = None if tied else nn.Linear(d_model, vocab_size, bias=False)

    def forward(self, idx: Any) -> Tensor:
        idx = np.asarray(idx._array if isinstance(idx, Tensor) else idx)
        if idx.ndim != 2 or idx.shape[1] > self.max_len:
            raise ValueError(
                f"GPT expects token ids (B, T) with T <= {self.max_len}, got shape {idx.shape}"
            )
        T = idx.shape[1]
        x = self.tok(idx) + self.pos(_capture.snapshot(np.arange(T)))
        for block in self.blocks:
            x = block(x, is_causal=True)
        x = self.ln_f(x)
        return NF.linear(x, self.tok.weight) if self.tied else self.head(x)

    @no_grad()
    def generate(
        self,
        idx: Any,
        max_new_tokens: int,
        temperature: float = 1.0,
        greedy: bool = False,
        top_k: int | None = None,
        top_p: float | None = None,
    ) -> np.ndarray:
        """Extend (B, T) token ids by max_new_tokens: greedily, or by sampling seed 002's
        x_t ~ softmax(W h_t / temperature) with pydl's seeded generator, restricted to the
        top_k most likely tokens and/or the nucleus of top_p probability mass
        (`sampling_probabilities`)."""
        if temperature <= 0:
            raise ValueError(f"temperature must be positive, got {temperature}")
        if top_k is not None and (not isinstance(top_k, int) or top_k < 1):
            raise ValueError(f"top_k must be a positive int, got {top_k!r}")
        if top_p is not None and not 0.0 < top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")
        was_training = self.training
        self.eval()
        out = np.array(idx, dtype=np.int64)
        for _ in range(max_new_tokens):
            logits = self(out[:, -self.max_len :]).numpy()[:, -1].astype(np.float64)
            if greedy:
                nxt = logits.argmax(axis=1)
            else:
                p = sampling_probabilities(logits, temperature, top_k, top_p)
                u = _random.uniform_(np.empty(len(out), np.float32)).astype(np.float64)
                nxt = np.minimum((p.cumsum(axis=1) < u[:, None]).sum(axis=1), p.shape[1] - 1)
            out = np.concatenate([out, nxt[:, None]], axis=1)
        self.train(was_training)
        return out


def sampling_probabilities(
    logits: np.ndarray,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
) -> np.ndarray:
    """Rows of softmax(logits / temperature), keeping only each row's top_k largest logits
    (ties with the k-th kept) and then its nucleus: the most likely tokens, in order, until
    their mass reaches top_p (at least one); the kept probabilities renormalized."""
    z = np.asarray(logits, np.float64) / temperature
    if top_k is not None and top_k < z.shape[1]:
        kth = np.partition(z, -top_k, axis=1)[:, -top_k, None]
        z = np.where(z >= kth, z, -np.inf)
    p = np.exp(z - z.max(axis=1, keepdims=True))
    p /= p.sum(axis=1, keepdims=True)
    if top_p is not None and top_p < 1.0:
        order = np.argsort(-p, axis=1, kind="stable")
        sorted_p = np.take_along_axis(p, order, axis=1)
        before = np.cumsum(sorted_p, axis=1) - sorted_p  # mass of the more likely tokens
        keep = np.zeros_like(p, dtype=bool)
        np.put_along_axis(keep, order, before < top_p, axis=1)
        p = np.where(keep, p, 0.0)
        p /= p.sum(axis=1, keepdims=True)
    return p


def text_batches(text: str, batch_size: int, length: int, steps: int) -> Any:
    """(inputs, targets) byte windows of the text, at offsets from pydl's generator."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int64)
    for _ in range(steps):
        u = _random.uniform_(np.empty(batch_size, np.float32))
        starts = (u * (len(data) - length - 1)).astype(np.int64)
        x = np.stack([data[s : s + length] for s in starts])
        y = np.stack([data[s + 1 : s + length + 1] for s in starts])
        yield x, y
