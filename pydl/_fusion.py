"""The fusions pydl.compile makes in a step's plan (Note [Fusion in the plan]).

Note [Fusion in the plan]
~~~~~~~~~~~~~~~~~~~~~~~~~
A recorded step is a list of kernel calls, and each call reads its inputs from memory and
writes its result back. When a call's result is read by the very next call only, and that
call is elementwise, the pair can be one kernel that applies the second to each block of the
first's result while the block is still in cache. pydl.compile's plan (pydl/_capture.py)
replaces such pairs, by these rules:

- conv2d_forward or batch_norm_forward, then an activation whose derivative is taken from
  its output (relu, sigmoid, tanh): the first with activation=. The activation's backward,
  which read the first's output as its x, reads the activation's output instead (the unary
  list's FromY contract: df(y, y) is the derivative at x), so the pre-activation is never
  stored.
- maxpool2d_backward or conv2d_backward, then the backward of one of those activations (the
  layer before the pool or the convolution): the first with activation=, act_x=, act_y=,
  applied plane by plane or sample by sample.
- layer_norm_backward, then the sum of its input's gradient with another (a residual
  stream's): layer_norm_backward(..., accumulate=), added row by row.

Each fused kernel is the two kernels' arithmetic, in their order, rounded as they round: the
results stay bit-identical to eager (NaN payloads aside: which operand's NaN a sum keeps is
the compiler's choice). Only calls on float32 arrays alone are fused: a bf16 intermediate is
rounded between the two kernels, and a `_core` kernel given a float64 array (an input, or a
weight) runs its NumPy twin (Note [Reference fallback]), whose activation is not the C++
one. A rule fires only on
adjacent calls (nothing between them can change their operands), only when the intermediate
is read by nothing else (and is not the step's result), and only for the kernels of one
backend (`_core` or `reference`, whose twins take the same arguments). A plan lists what it
fused in `fused`.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

from . import _core, reference

# The activations fused here: those of the kernels' fusable ones (C++'s Note [Unary op
# list]) that take their derivative from the output (UnaryFuse::FromY). GELU's is left out:
# its derivative, applied a plane or a sample at a time, is computed by the scalar tail of
# the vectorized loop for other elements than in its own kernel, and differs in the last bit.
_FROM_OUTPUT = ("relu", "sigmoid", "tanh")

Op = tuple  # (fn, argument indices, keyword names, ((result index, path), ...))


def _kernel(fn: Callable) -> tuple[Any, str] | None:
    """(its backend module, its name) if fn is a kernel of `_core` or `reference`."""
    name = getattr(fn, "__name__", None)
    for module in (_core, reference):
        if name and getattr(module, name, None) is fn:
            return module, name
    return None


def _only_result(op: Op) -> int | None:
    """The value index of an op's one whole result, or None."""
    outs = op[3]
    return outs[0][0] if len(outs) == 1 and outs[0][1] == () else None


def fuse(
    ops: list[Op], kept: set[int], constant: Callable[[Any], int], recorded: Callable
) -> tuple:
    """The plan's ops with the fusable pairs fused, and a line per fusion. kept: value
    indices that must stay (constants, inputs, the step's result); constant(value): a new
    constant's index; recorded(i): (shape, dtype) of value i if it is an array, else None."""
    ops = list(ops)  # a rule may rewrite a later op's arguments
    uses: dict[int, list[tuple[int, int]]] = {}  # value -> (op, argument position)
    for k, (_, ins, _, _) in enumerate(ops):
        for pos, i in enumerate(ins):
            uses.setdefault(i, []).append((k, pos))
    fused: list[str] = []
    out: list[Op] = []
    k = 0
    while k < len(ops):
        pair = _fuse_pair(ops, k, uses, kept, constant, recorded) if k + 1 < len(ops) else None
        if pair is None:
            out.append(ops[k])
            k += 1
            continue
        op, what = pair
        out.append(op)
        fused.append(what)
        k += 2
    return out, fused


# The first kernel of each rule: where its result read by the second is (the whole result,
# or an item of the tuple it returns), and how many parameters precede the fused ones (the
# fused arguments go by keyword, so the recorded call must not reach them positionally).
_FIRST = {
    "conv2d_forward": ((), 8),
    "batch_norm_forward": ((0,), 8),
    "maxpool2d_backward": ((), 8),
    "conv2d_backward": ((0,), 11),
    "layer_norm_backward": ((0,), 9),
}


def _fuse_pair(ops, k, uses, kept, constant, recorded) -> tuple[Op, str] | None:
    first, second = ops[k], ops[k + 1]
    a, b = _kernel(first[0]), _kernel(second[0])
    if a is None or b is None or a[0] is not b[0] or second[2] or a[1] not in _FIRST:
        return None  # not kernels of one backend, or the second called with keywords
    name_a, name_b = a[1], b[1]
    fn, ins, names, outs = first
    path, before_fused = _FIRST[name_a]
    if len(ins) - len(names) > before_fused:
        return None
    mid = next((i for i, p in outs if p == path), None)
    if mid is None or mid in kept or [u[0] for u in uses.get(mid, [])][:1] != [k + 1]:
        return None
    # Every float array of the two calls float32 (indices may be integers): other dtypes
    # round each kernel's result, or send the call to the NumPy twin (a float64 weight does),
    # whose activation is not C++'s.
    arrays = [recorded(i) for i in (*ins, *second[1])]
    if not _float32(recorded(mid)) or any(
        r and r[1] != np.float32 and r[1].kind not in "biu" for r in arrays
    ):
        return None
    later = [u for u in uses[mid] if u[0] != k + 1]  # reads of the intermediate after the pair
    result = _only_result(second)
    if result is None:
        return None

    def fused(extra: tuple, keywords: tuple, what: str) -> tuple[Op, str]:
        new_outs = tuple((result, p) if p == path else (i, p) for i, p in outs)
        return (fn, (*ins, *extra), (*names, *keywords), new_outs), f"{name_a} + {what}"

    if name_a.endswith("_forward") and name_b.removesuffix("_forward") in _FROM_OUTPUT:
        act = name_b.removesuffix("_forward")
        if "activation" in names or second[1] != (mid,):
            return None
        # The intermediate may still be read as x by this activation's backward only.
        backward = getattr(a[0], act + "_backward")
        if any(ops[j][0] is not backward or ops[j][2] or pos != 1 or ops[j][1][2:3] != (result,)
               for j, pos in later):  # fmt: skip
            return None
        for j, _ in later:  # Note [Fusion in the plan]: df(y, y) is df at x
            f, j_ins, j_names, j_outs = ops[j]
            ops[j] = (f, (j_ins[0], result, *j_ins[2:]), j_names, j_outs)
        return fused((constant(act),), ("activation",), name_b)
    if later:
        return None
    if name_a in ("maxpool2d_backward", "conv2d_backward") and (
        name_b.removesuffix("_backward") in _FROM_OUTPUT
    ):
        g, x, y = second[1] if len(second[1]) == 3 else (None, None, None)
        if g != mid or mid in (x, y) or "activation" in names:
            return None
        if not (_float32(recorded(x)) and _float32(recorded(y))):
            return None
        act = constant(name_b.removesuffix("_backward"))
        return fused((act, x, y), ("activation", "act_x", "act_y"), name_b)
    if name_a == "layer_norm_backward" and name_b == "add_forward":
        other = [i for i in second[1] if i != mid]
        if len(second[1]) != 2 or len(other) != 1 or "accumulate" in names:
            return None
        if other[0] in {i for i, _ in outs}:
            return None  # the sum of dx with the same call's weight gradient
        if recorded(other[0]) != recorded(mid):
            return None  # add broadcasts and promotes; accumulate takes its own shape only
        return fused((other[0],), ("accumulate",), name_b)
    return None


def _float32(recorded: tuple | None) -> bool:
    return recorded is not None and recorded[1] == np.float32
