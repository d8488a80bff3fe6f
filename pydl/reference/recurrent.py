"""Recurrent layers over a sequence (seed 000 section 7; PyTorch's gate order and forms).

RNN:  h = act(W_ih x + b_ih + W_hh h_prev + b_hh)
LSTM: i, f, g, o = sig, sig, tanh, sig of (W_ih x + b_ih + W_hh h_prev + b_hh);
      c = f c_prev + i g; h = o tanh(c)
GRU (PyTorch, reset after): r, z = sig(...); n = tanh(W_in x + b_in + r (W_hn h_prev + b_hn));
      h = (1 - z) n + z h_prev
GRU (the spec's, reset before): n = tanh(W_in x + b_in + W_hn (r h_prev) + b_hn)
"""

import numpy as np

from ._bf16 import matmul_bf16

_GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3, "gru_reset_before": 3}


def _sig(x):
    return 1 / (1 + np.exp(-x))


def _product(bf16, x):
    """The matrix product of the layer's arithmetic: np.matmul, or sbgemm's under autocast"""
    if bf16 and x.dtype != np.float32:
        raise ValueError(f"recurrent: bf16 products take float32 operands, got {x.dtype}")
    return matmul_bf16 if bf16 else np.matmul


def _order(T, reverse):
    return range(T - 1, -1, -1) if reverse else range(T)


def recurrent_forward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, mode, reverse, save=True, bf16=False):
    """Returns (y, h_n, c_n, saved); saved holds what the backward needs per step (None
    unless save). bf16: the products as sbgemm's (Note [Autocast])."""
    mm = _product(bf16, x)
    if mode not in _GATES:
        raise ValueError(f"recurrent mode must be one of {sorted(_GATES)}; got {mode!r}")
    T, H = x.shape[0], w_hh.shape[1]
    if x.ndim != 3 or h0.shape != (x.shape[1], H):  # the core's check, also for T = 0
        raise ValueError(
            f"{mode}: initial hidden state {h0.shape} must be ({x.shape[1] if x.ndim == 3 else '?'}"
            f", {H}) for input {x.shape}"
        )
    zero = np.zeros(w_hh.shape[0], x.dtype)
    bi = zero if b_ih is None else b_ih
    bh = zero if b_hh is None else b_hh
    y = np.zeros((T,) + h0.shape, x.dtype)
    h, c = h0, c0
    saved = {}
    for t in _order(T, reverse):
        gx = mm(x[t], w_ih.T) + bi
        if mode in ("rnn_tanh", "rnn_relu"):
            pre = gx + mm(h, w_hh.T) + bh
            h = np.tanh(pre) if mode == "rnn_tanh" else np.maximum(pre, 0)
            saved[t] = (h,)
        elif mode == "lstm":
            g_all = gx + mm(h, w_hh.T) + bh
            i, f = _sig(g_all[:, :H]), _sig(g_all[:, H : 2 * H])
            g, o = np.tanh(g_all[:, 2 * H : 3 * H]), _sig(g_all[:, 3 * H :])
            c_prev = c
            c = f * c_prev + i * g
            saved[t] = (i, f, g, o, c, c_prev)
            h = o * np.tanh(c)
        else:
            hr = mm(h, w_hh[: 2 * H].T) + bh[: 2 * H]
            r = _sig(gx[:, :H] + hr[:, :H])
            z = _sig(gx[:, H : 2 * H] + hr[:, H:])
            if mode == "gru":
                hn = mm(h, w_hh[2 * H :].T) + bh[2 * H :]
                n = np.tanh(gx[:, 2 * H :] + r * hn)
                saved[t] = (r, z, n, hn, h)
            else:
                rh = r * h
                n = np.tanh(gx[:, 2 * H :] + mm(rh, w_hh[2 * H :].T) + bh[2 * H :])
                saved[t] = (r, z, n, rh, h)
            h = (1 - z) * n + z * h
        y[t] = h
    return y, h.copy(), (c.copy() if mode == "lstm" else None), (saved if save else None)


def recurrent_backward(
    dy,
    dh_n,
    dc_n,
    x,
    h0,
    c0,
    w_ih,
    w_hh,
    has_bias,
    y,
    saved,
    mode,
    reverse,
    need_x,
    need_h0,
    need_w,
    bf16=False,
):
    """Backpropagation through time with the saved gates (the formulas' derivatives)."""
    mm = _product(bf16, x)
    T, H = x.shape[0], w_hh.shape[1]
    dgx = np.zeros((T, x.shape[1], w_hh.shape[0]), x.dtype)
    dhg = np.zeros_like(dgx)
    dw_hh = np.zeros_like(w_hh)
    dh = np.zeros_like(h0) if dh_n is None else dh_n.copy()
    dc = (np.zeros_like(h0) if dc_n is None else dc_n.copy()) if mode == "lstm" else None
    order = list(_order(T, reverse))
    for k in range(T - 1, -1, -1):
        t = order[k]
        h_prev = h0 if k == 0 else y[order[k - 1]]
        d = dy[t] + dh
        if mode in ("rnn_tanh", "rnn_relu"):
            (h,) = saved[t]
            dpre = d * ((1 - h * h) if mode == "rnn_tanh" else (h > 0))
            dgx[t] = dhg[t] = dpre
            dh = mm(dpre, w_hh)
            dw_hh += mm(dpre.T, h_prev)
        elif mode == "lstm":
            i, f, g, o, c, c_prev = saved[t]
            tc = np.tanh(c)
            dct = d * o * (1 - tc * tc) + dc
            dpre = np.concatenate(
                [
                    dct * g * i * (1 - i),
                    dct * c_prev * f * (1 - f),
                    dct * i * (1 - g * g),
                    d * tc * o * (1 - o),
                ],
                axis=1,
            )
            dc = dct * f
            dgx[t] = dhg[t] = dpre
            dh = mm(dpre, w_hh)
            dw_hh += mm(dpre.T, h_prev)
        else:
            r, z, n, extra, hp = saved[t]
            dpn = d * (1 - z) * (1 - n * n)
            dpz = d * (hp - n) * z * (1 - z)
            dh = d * z
            if mode == "gru":
                dpr = dpn * extra * r * (1 - r)
                dgx[t] = np.concatenate([dpr, dpz, dpn], axis=1)
                dhg[t] = np.concatenate([dpr, dpz, dpn * r], axis=1)
                dh = dh + mm(dhg[t], w_hh)
                dw_hh += mm(dhg[t].T, hp)
            else:
                drh = mm(dpn, w_hh[2 * H :])
                dpr = drh * hp * r * (1 - r)
                dgx[t] = np.concatenate([dpr, dpz, dpn], axis=1)
                dhg[t] = np.concatenate([dpr, dpz, dpn], axis=1)
                dh = dh + drh * r + mm(dhg[t][:, : 2 * H], w_hh[: 2 * H])
                dw_hh[: 2 * H] += mm(dhg[t][:, : 2 * H].T, hp)
                dw_hh[2 * H :] += mm(dpn.T, extra)
    flat_gx = dgx.reshape(-1, dgx.shape[2])
    dx = mm(flat_gx, w_ih).reshape(x.shape).astype(x.dtype) if need_x else None
    dw_ih = mm(flat_gx.T, x.reshape(-1, x.shape[2])).astype(x.dtype) if need_w else None
    db_ih = flat_gx.sum(axis=0) if need_w and has_bias else None
    db_hh = dhg.reshape(-1, dhg.shape[2]).sum(axis=0) if need_w and has_bias else None
    return (
        dx,
        dh if need_h0 else None,
        dc if need_h0 and mode == "lstm" else None,
        dw_ih,
        dw_hh if need_w else None,
        db_ih,
        db_hh,
    )
