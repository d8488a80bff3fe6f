"""Recurrent layers with PyTorch's arguments, parameter names and layouts, so weights copied
from a PyTorch model give the same outputs. Each layer and direction is one kernel call
forward and one backward (pydl.nn.functional.recurrent_layer)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from .. import _capture
from .. import functional as F
from .._ops.recurrent import check_dtype
from ..tensor import Tensor, as_tensor
from . import functional as NF
from . import _check, init
from .module import Module, Parameter

_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3, "gru_reset_before": 3}


def _add_weights(
    module: Module,
    suffix: str,
    mode: str,
    input_size: int,
    hidden_size: int,
    bias: bool,
    dtype: Any,
) -> None:
    """weight_ih, weight_hh (and bias_ih, bias_hh) + suffix, drawn from PyTorch's
    U(-1/sqrt(H), 1/sqrt(H))."""
    rows = _GATES[mode] * hidden_size
    shapes = {"weight_ih": (rows, input_size), "weight_hh": (rows, hidden_size)}
    if bias:
        shapes.update(bias_ih=(rows,), bias_hh=(rows,))
    bound = 1.0 / math.sqrt(hidden_size)
    for name, shape in shapes.items():
        p = Parameter(np.empty(shape, dtype))
        init.uniform_(p, -bound, bound)
        setattr(module, name + suffix, p)


def _state_pair(layer: str, hx: Any) -> tuple:
    """An LSTM's (h_0, c_0), or (None, None); TypeError for anything else (a lone tensor)."""
    if hx is None:
        return None, None
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        got = f"a {type(hx).__name__}" + (f" of {len(hx)}" if isinstance(hx, (tuple, list)) else "")
        raise TypeError(f"{layer} expects hx as a tuple (h_0, c_0) of two tensors, got {got}")
    return hx[0], hx[1]


class _RNNBase(Module):
    def __init__(
        self,
        mode: str,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        dtype: Any = np.float32,
    ) -> None:
        super().__init__()
        layer = type(self).__name__
        input_size = _check.size(layer, "input_size", input_size)
        hidden_size = _check.size(layer, "hidden_size", hidden_size)
        num_layers = _check.size(layer, "num_layers", num_layers)
        dropout = _check.probability(layer, "dropout", dropout)
        self.mode, self.input_size, self.hidden_size = mode, input_size, hidden_size
        self.num_layers, self.bias, self.batch_first = num_layers, bias, batch_first
        self.dropout, self.bidirectional = dropout, bidirectional
        directions = 2 if bidirectional else 1
        for layer in range(num_layers):
            for d in range(directions):
                in_size = input_size if layer == 0 else hidden_size * directions
                _add_weights(
                    self,
                    f"_l{layer}" + ("_reverse" if d else ""),
                    mode,
                    in_size,
                    hidden_size,
                    bias,
                    dtype,
                )

    def _params(self, layer: int, d: int) -> tuple:
        suffix = f"_l{layer}" + ("_reverse" if d else "")
        get = lambda name: getattr(self, name + suffix) if self.bias or "weight" in name else None  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def _run(self, x: Tensor, h0: Tensor | None, c0: Tensor | None) -> tuple:
        x = as_tensor(x)
        check_dtype(type(self).__name__, x, self.weight_ih_l0)
        batched = x.ndim == 3
        if x.ndim not in (2, 3) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}(input_size={self.input_size}) expects input "
                f"(T, B, {self.input_size}) (or batch_first / unbatched), got shape "
                f"{x.shape}"
            )
        if not batched:
            x = F.unsqueeze(x, 1)
        elif self.batch_first:
            x = F.transpose(x, 0, 1)
        directions = 2 if self.bidirectional else 1
        state_shape = (self.num_layers * directions, x.shape[1], self.hidden_size)

        def state(s: Tensor | None, what: str) -> Tensor:
            if s is None:
                return as_tensor(_capture.snapshot(np.zeros(state_shape, x.dtype)))
            s = as_tensor(s)
            if not batched:
                s = F.unsqueeze(s, 1)
            if s.shape != state_shape:
                raise ValueError(
                    f"{type(self).__name__}: expected {what} of shape "
                    f"{state_shape if batched else (state_shape[0], state_shape[2])},"
                    f" got {s.shape if batched else F.squeeze(s, 1).shape}"
                )
            return s

        h0 = state(h0, "hidden state")
        lstm = self.mode == "lstm"
        c0 = state(c0, "cell state") if lstm else None
        h_out, c_out = [], []
        inp = x
        for layer in range(self.num_layers):
            outs = []
            for d in range(directions):
                idx = layer * directions + d
                w_ih, w_hh, b_ih, b_hh = self._params(layer, d)
                y, h_n, c_n = NF.recurrent_layer(
                    inp,
                    h0[idx],
                    c0[idx] if lstm else None,
                    w_ih,
                    w_hh,
                    b_ih,
                    b_hh,
                    self.mode,
                    reverse=d == 1,
                )
                outs.append(y)
                h_out.append(h_n)
                c_out.append(c_n)
            inp = outs[0] if directions == 1 else F.cat(outs, 2)
            if self.dropout and self.training and layer < self.num_layers - 1:
                inp = NF.dropout(inp, self.dropout)
        out = inp
        h_n = F.stack(h_out, 0)
        c_n = F.stack(c_out, 0) if lstm else None
        if not batched:
            out, h_n = F.squeeze(out, 1), F.squeeze(h_n, 1)
            c_n = F.squeeze(c_n, 1) if lstm else None
        elif self.batch_first:
            out = F.transpose(out, 0, 1)
        return out, h_n, c_n

    def extra_repr(self) -> str:
        return (
            f"{self.input_size}, {self.hidden_size}, num_layers={self.num_layers}, "
            f"bias={self.bias}, batch_first={self.batch_first}, dropout={self.dropout}, "
            f"bidirectional={self.bidirectional}"
        )


class RNN(_RNNBase):
    """Elman RNN: h = tanh (or relu) (W_ih x + b_ih + W_hh h + b_hh), as torch.nn.RNN."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        **kwargs: Any,
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(
                f"Unknown nonlinearity '{nonlinearity}'. Select from 'tanh' or 'relu'."
            )
        super().__init__(f"rnn_{nonlinearity}", input_size, hidden_size, num_layers, **kwargs)

    def forward(self, x: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out, h_n, _ = self._run(x, hx, None)
        return out, h_n


class LSTM(_RNNBase):
    """LSTM with gates (i, f, g, o), as torch.nn.LSTM: returns (output, (h_n, c_n))."""

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, **kwargs: Any
    ) -> None:
        super().__init__("lstm", input_size, hidden_size, num_layers, **kwargs)

    def forward(self, x: Tensor, hx: tuple | None = None) -> tuple[Tensor, tuple[Tensor, Tensor]]:
        h0, c0 = _state_pair("LSTM", hx)
        out, h_n, c_n = self._run(x, h0, c0)
        return out, (h_n, c_n)


class GRU(_RNNBase):
    """GRU with gates (r, z, n) and h = (1 - z) n + z h_prev.

    reset_after=True (default) is PyTorch's (and cuDNN's) candidate
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn)); reset_after=False is the spec's,
    n = tanh(W_in x + b_in + W_hn (r * h) + b_hn) (Keras's name for the switch). The spec
    writes h = (1 - z) h_prev + z n: the same model with z relabelled 1 - z.
    """

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        reset_after: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            "gru" if reset_after else "gru_reset_before",
            input_size,
            hidden_size,
            num_layers,
            **kwargs,
        )
        self.reset_after = reset_after

    def forward(self, x: Tensor, hx: Tensor | None = None) -> tuple[Tensor, Tensor]:
        out, h_n, _ = self._run(x, hx, None)
        return out, h_n


class _CellBase(Module):
    """One step of a recurrent layer: the T = 1 case of the same kernels."""

    def __init__(
        self, mode: str, input_size: int, hidden_size: int, bias: bool, dtype: Any = np.float32
    ) -> None:
        super().__init__()
        input_size = _check.size(type(self).__name__, "input_size", input_size)
        hidden_size = _check.size(type(self).__name__, "hidden_size", hidden_size)
        self.mode, self.input_size, self.hidden_size, self.bias = (
            mode,
            input_size,
            hidden_size,
            bias,
        )
        _add_weights(self, "", mode, input_size, hidden_size, bias, dtype)
        if not bias:
            self.bias_ih = self.bias_hh = None

    def _step(self, x: Tensor, h: Tensor | None, c: Tensor | None) -> tuple:
        x = as_tensor(x)
        check_dtype(type(self).__name__, x, self.weight_ih)
        if x.ndim not in (1, 2) or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{type(self).__name__}(input_size={self.input_size}) expects input "
                f"(B, {self.input_size}) or ({self.input_size},), got {x.shape}"
            )
        batched = x.ndim == 2
        xb = x if batched else F.unsqueeze(x, 0)
        shape = (xb.shape[0], self.hidden_size)
        zeros = lambda: as_tensor(_capture.snapshot(np.zeros(shape, x.dtype)))  # noqa: E731
        h = zeros() if h is None else (as_tensor(h) if batched else F.unsqueeze(as_tensor(h), 0))
        if c is not None or self.mode == "lstm":
            c = (
                zeros()
                if c is None
                else (as_tensor(c) if batched else F.unsqueeze(as_tensor(c), 0))
            )
        if h.shape != (xb.shape[0], self.hidden_size):
            raise ValueError(
                f"{type(self).__name__}: hidden state of shape {h.shape} does not "
                f"match input {x.shape} (expected {(xb.shape[0], self.hidden_size)})"
            )
        _, h_n, c_n = NF.recurrent_layer(
            F.unsqueeze(xb, 0),
            h,
            c,
            self.weight_ih,
            self.weight_hh,
            self.bias_ih,
            self.bias_hh,
            self.mode,
        )
        if not batched:
            h_n = F.squeeze(h_n, 0)
            c_n = None if c_n is None else F.squeeze(c_n, 0)
        return h_n, c_n


class RNNCell(_CellBase):
    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh"
    ) -> None:
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"Unknown nonlinearity: {nonlinearity}")
        super().__init__(f"rnn_{nonlinearity}", input_size, hidden_size, bias)

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(x, hx, None)[0]


class LSTMCell(_CellBase):
    def __init__(self, input_size: int, hidden_size: int, bias: bool = True) -> None:
        super().__init__("lstm", input_size, hidden_size, bias)

    def forward(self, x: Tensor, hx: tuple | None = None) -> tuple[Tensor, Tensor]:
        h, c = _state_pair("LSTMCell", hx)
        return self._step(x, h, c)


class GRUCell(_CellBase):
    def __init__(
        self, input_size: int, hidden_size: int, bias: bool = True, reset_after: bool = True
    ) -> None:
        super().__init__(
            "gru" if reset_after else "gru_reset_before", input_size, hidden_size, bias
        )

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        return self._step(x, hx, None)[0]
