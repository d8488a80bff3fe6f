"""Recurrent layers, one kernel call per layer and direction each way
(cpp/kernels/recurrent, pydl/reference/recurrent)."""

from __future__ import annotations

from typing import Any

import numpy as np

from .. import _capture
from .. import backend as _b
from ..amp import bf16_kwargs
from ..tensor import Tensor, as_tensor, grad_needed, record
from ._util import data_or_none
from .registry import op
from .._dtypes import is_floating


RECURRENT_MODES = ("rnn_tanh", "rnn_relu", "lstm", "gru", "gru_reset_before")


def _recurrent_backward(node: Any, grads: tuple) -> tuple:
    dy, dh_n, dc_n = grads
    y, saved, mode, reverse, has_c0, has_bias, bf16 = node.saved
    x, h0 = node.inputs[:2]
    c0 = node.inputs[2] if has_c0 else None
    w_ih, w_hh = node.inputs[2 + has_c0 : 4 + has_c0]
    dx, dh0, dc0, dwi, dwh, dbi, dbh = _b.active.recurrent_backward(
        _capture.snapshot(np.zeros_like(y)) if dy is None else dy,  # only h_n was used
        dh_n,
        dc_n,
        x._array,
        h0._array,
        data_or_none(c0),
        w_ih._array,
        w_hh._array,
        has_bias,
        y,
        saved,
        mode,
        reverse,
        x.requires_grad,
        h0.requires_grad or (c0 is not None and c0.requires_grad),
        # The kernels compute the bias gradients with the weights'; a trainable bias beside
        # frozen weights asks for both (the engine drops what no input needs).
        any(t.requires_grad for t in node.inputs[2 + has_c0 :]),
        **bf16,
    )
    grads = (dx, dh0) + ((dc0,) if has_c0 else ()) + (dwi, dwh)
    return grads + ((dbi, dbh) if has_bias else ())


def check_dtype(layer: str, x: Tensor, weight: Tensor) -> None:
    """An integer or bool input cannot meet the float weights (ValueError, as PyTorch's
    RNNs: the kernels would compute in the input's dtype, truncating)."""
    if not is_floating(x._array.dtype):
        raise ValueError(
            f"{layer}: input dtype ({x._array.dtype}) does not match weight dtype "
            f"({weight._array.dtype}); convert the input to a floating point dtype"
        )


@op(kernels=("recurrent",))
def recurrent_layer(
    x: Tensor,
    h0: Tensor,
    c0: Tensor | None,
    w_ih: Tensor,
    w_hh: Tensor,
    b_ih: Tensor | None,
    b_hh: Tensor | None,
    mode: str,
    reverse: bool = False,
) -> tuple[Tensor, Tensor, Tensor | None]:
    """One recurrent layer over (T, B, I) input in one kernel call forward and one backward:
    returns (y (T, B, H), h_n, c_n (LSTM) or None), the three outputs of one node.
    `reverse` runs from the last step."""
    if mode not in RECURRENT_MODES:
        raise ValueError(f"mode must be one of {RECURRENT_MODES}, got {mode!r}")
    if (b_ih is None) != (b_hh is None):
        raise ValueError("recurrent_layer: pass both biases (b_ih and b_hh) or neither")
    x, h0 = as_tensor(x), as_tensor(h0)
    check_dtype("recurrent_layer", x, w_ih)
    c0 = None if c0 is None else as_tensor(c0)
    bf16 = bf16_kwargs(x._array)  # Note [Autocast]
    y, h_n, c_n, saved = _b.active.recurrent_forward(
        x._array, h0._array, data_or_none(c0), w_ih._array, w_hh._array, data_or_none(b_ih),
        data_or_none(b_hh), mode, reverse, save=grad_needed(x, h0, c0, w_ih, w_hh, b_ih, b_hh),
        **bf16,
    )  # fmt: skip
    inputs = tuple(t for t in (x, h0, c0, w_ih, w_hh, b_ih, b_hh) if t is not None)
    saved_for_backward = (y, saved, mode, reverse, c0 is not None, b_ih is not None, bf16)
    y_t, h_t, c_t = record((y, h_n, c_n), inputs, _recurrent_backward, saved_for_backward)
    return y_t, h_t, c_t
