"""sbgemm's arithmetic in NumPy (Note [bf16 GEMM] in cpp/gemm/bf16_gemm.cpp): the reference
of autocast's products."""

import functools

import numpy as np

from .._dtypes import is_bfloat16, is_floating

BF16_KC = 1024  # sbgemm's depth block (gemm::kBf16KC)


def bf16_round(x):
    """float32 values rounded to bf16 (to nearest even), as float32: a denormal becomes a zero
    of its sign, a NaN stays NaN (as vcvtneps2bf16 rounds, Note [bf16 GEMM])"""
    bits = np.ascontiguousarray(x, dtype=np.float32).view(np.uint32)
    rounded = (bits + np.uint32(0x7FFF) + ((bits >> 16) & 1)) & np.uint32(0xFFFF0000)
    rounded = np.where((bits & 0x7F800000) == 0, bits & 0x80000000, rounded)
    nan = (bits | 0x00400000) & 0xFFFF0000
    rounded = np.where((bits & 0x7FFFFFFF) > 0x7F800000, nan, rounded)
    return rounded.astype(np.uint32).view(np.float32)


def matmul_bf16(a, b, alpha=1.0, c=None):
    """alpha * (a @ b) + c (float32, batch dims broadcast; c optional) as sbgemm computes it
    with beta 0 (no c) or 1: operands rounded to bf16; then for each depth block of BF16_KC,
    k in pairs, the odd element's product added before the even one's, each sum rounded to
    fp32 and a denormal sum flushed to zero (the products of bf16 values are exact in fp32);
    each block's sum times alpha is added to the result (to c first, when given)"""
    a, b = bf16_round(a), bf16_round(b)
    k = a.shape[-1]
    shape = np.broadcast_shapes(a.shape[:-1] + (1,), b.shape[:-2] + (1, b.shape[-1]))
    out = None if c is None else np.asarray(c, np.float32)
    tiny = np.finfo(np.float32).tiny

    def add(acc, p):
        s = (acc + a[..., :, p, None] * b[..., p, None, :]).astype(np.float32)
        return np.where(np.abs(s) < tiny, np.float32(0) * s, s)

    for p0 in range(0, k, BF16_KC):
        end = min(p0 + BF16_KC, k)
        acc = np.zeros(shape, np.float32)
        for p in range(p0, end, 2):
            if p + 1 < end:
                acc = add(acc, p + 1)
            acc = add(acc, p)
        block = (np.float32(alpha) * acc).astype(np.float32)
        out = block if out is None else (block + out).astype(np.float32)
    return np.zeros(shape, np.float32) if out is None else out


def _is_bfloat16_array(x):
    return isinstance(x, np.ndarray) and is_bfloat16(x.dtype)


def _holds_bfloat16(values):
    return any(
        _is_bfloat16_array(v) or (type(v) in (list, tuple) and _holds_bfloat16(v)) for v in values
    )


def _floating_arrays(values):
    """The floating arrays among values (and in lists and tuples of them), in order."""
    for v in values:
        if isinstance(v, np.ndarray) and is_floating(v.dtype):
            yield v
        elif type(v) in (list, tuple):
            yield from _floating_arrays(v)


def in_float32(fn):
    """fn, computing a call on bfloat16 arrays in float32 (Note [bfloat16] in pydl/_dtypes.py):
    each bfloat16 array among the arguments (or in a list or tuple of them) is copied to
    float32 and fn runs on the copies. Each float32 array it returns takes the dtype of the
    first floating argument of its shape, or, when none has its shape, of the first
    floating argument; to bfloat16 it is rounded once, to nearest even. So a pure bfloat16
    call returns bfloat16, and a call that mixes in float32 (a float32 LayerNorm's weight
    beside bfloat16 activations) returns the activations' results in bfloat16 and the
    weight's gradient in float32, as PyTorch's mixed norms do. A copy fn wrote into (an
    optimizer step's parameters, an `out` buffer) is rounded back into its array; fn
    returning such a copy returns the array. Calls without bfloat16 go straight to fn."""

    @functools.wraps(fn)
    def call(*args, **kwargs):
        if not (_holds_bfloat16(args) or _holds_bfloat16(kwargs.values())):
            return fn(*args, **kwargs)
        copies = []  # (bfloat16 array, its float32 copy)

        def up(x):
            if _is_bfloat16_array(x):
                copies.append((x, x.astype(np.float32)))
                return copies[-1][1]
            return type(x)(map(up, x)) if type(x) in (list, tuple) else x

        result = fn(*map(up, args), **{k: up(v) for k, v in kwargs.items()})
        # Which copies fn wrote is decided before any is written back: two arguments may be
        # views of one array, and the second's stale copy must not undo the first's write.
        # Bits, not values: a -0.0 written over 0.0 is a write (the upcast is exact).
        written = [
            (a, c)
            for a, c in copies
            if a.flags.writeable
            and not np.array_equal(c.view(np.uint32), a.astype(np.float32).view(np.uint32))
        ]
        for a, c in written:
            a[...] = c
        originals = {id(c): a for a, c in copies}
        floating = list(_floating_arrays([*args, *kwargs.values()]))  # the callers' arrays

        def down(r):
            if isinstance(r, np.ndarray):
                if id(r) in originals:
                    return originals[id(r)]
                if r.dtype != np.float32:
                    return r
                like = next((f for f in floating if f.shape == r.shape), floating[0])
                return r.astype(like.dtype) if _is_bfloat16_array(like) else r
            return type(r)(map(down, r)) if type(r) in (list, tuple) else r

        return down(result)

    return call
