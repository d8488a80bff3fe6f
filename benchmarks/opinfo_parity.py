"""How much of PyTorch's own operator test database pydl passes: a coverage measurement,
not a test (the project's tests are tests/; this is the outside view of them).

For every OpInfo in torch.testing._internal.common_methods_invocations.op_db (PyTorch's
table of operators with sample inputs), the same-named pydl function (`torch.X` ->
`pydl.X`, `torch.nn.functional.X` -> `pydl.nn.functional.X`, `torch.linalg.X` ->
`pydl.linalg.X`) is called on the first samples (float32, converted from torch's) and
compared with torch's: forward values, then the input gradients of sum(out * w). An op
passes when every sample it ran agrees; a sample pydl rejects with a clear exception of
the kind torch raises for it counts as agreeing.

    pip install expecttest   # op_db's import needs it
    PYTHONPATH=$PWD python benchmarks/opinfo_parity.py [--samples 6] [--show-failures]
"""

from __future__ import annotations

import argparse
import collections
import sys
import warnings

import numpy as np


def _resolve(pydl, name: str):
    obj = pydl
    for part in name.split("."):
        obj = getattr(obj, part, None)
        if obj is None:
            return None
    return obj


def _to_pydl(pydl, torch, x):
    if isinstance(x, torch.Tensor):
        if x.is_complex() or x.layout != torch.strided or x.dtype == torch.bfloat16:
            raise _Unsupported(f"tensor of {x.dtype}/{x.layout}")
        t = pydl.tensor(x.detach().numpy().copy())
        if x.requires_grad and x.dtype.is_floating_point:
            t.requires_grad_(True)
        return t
    if isinstance(x, torch.dtype):
        d = getattr(pydl, str(x).split(".")[-1], None)
        if d is None:
            raise _Unsupported(f"dtype {x}")
        return d
    if isinstance(x, torch.device):
        return "cpu"
    if isinstance(x, (list, tuple)):
        return type(x)(_to_pydl(pydl, torch, v) for v in x)
    if isinstance(x, dict):
        return {k: _to_pydl(pydl, torch, v) for k, v in x.items()}
    if isinstance(x, torch.Size):
        return tuple(x)
    return x


def _method(attr):
    """A Tensor method (or property: T, mT) called as method(input, *args)."""
    if isinstance(attr, property):
        return lambda x: attr.fget(x)
    return lambda x, *args, **kwargs: attr(x, *args, **kwargs)


class _Unsupported(Exception):
    pass


# Ops whose values are random draws: theirs and ours cannot agree elementwise.
RANDOM = {"bernoulli", "cauchy", "dropout", "dropout2d", "dropout3d", "empty", "empty_like",
          "empty_strided", "exponential", "feature_alpha_dropout", "alpha_dropout",
          "geometric", "log_normal", "multinomial", "new_empty", "new_empty_strided", "normal",
          "rand_like", "randint", "randint_like", "randn", "randn_like", "rrelu", "uniform",
          "empty_permuted"}  # fmt: skip


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [o for item in out for o in _flat(item)]
    return [out]


def _close(ours, theirs) -> str | None:
    a = np.asarray(ours.numpy() if hasattr(ours, "numpy") else ours, dtype=np.float64)
    b = (
        theirs.detach().numpy().astype(np.float64)
        if hasattr(theirs, "detach")
        else np.asarray(theirs, dtype=np.float64)
    )
    if a.shape != b.shape:
        return f"shape {a.shape} != torch's {b.shape}"
    if not np.allclose(a, b, rtol=1e-3, atol=1e-4, equal_nan=True):
        return f"values differ by up to {np.nanmax(np.abs(a - b)):.3g}"
    return None


def _check_sample(pydl, torch, fn, tfn, sample) -> str | None:
    """None when pydl agrees with torch on this sample, else the reason."""
    targs = (sample.input, *sample.args)
    tkwargs = dict(sample.kwargs)
    try:
        args = _to_pydl(pydl, torch, targs)
        kwargs = _to_pydl(pydl, torch, tkwargs)
    except _Unsupported:
        raise
    try:
        texp = tfn(*targs, **tkwargs)
    except Exception:
        texp = None
    try:
        out = fn(*args, **kwargs)
    except Exception as e:
        if texp is None:
            return None  # both reject it
        return f"{type(e).__name__}: {str(e).splitlines()[0][:100] if str(e) else ''}"
    if texp is None:
        return "accepted what torch rejects"
    outs, touts = _flat(out), _flat(texp)
    if len(outs) != len(touts):
        return f"{len(outs)} outputs, torch {len(touts)}"
    for o, t in zip(outs, touts):
        if isinstance(t, torch.Tensor) and (t.is_complex() or t.dtype == torch.bfloat16):
            raise _Unsupported("complex output")
        why = _close(o, t)
        if why:
            return "forward: " + why
    # backward: sum(out * w) over the floating outputs
    t_in = [x for x in _flat(targs) if isinstance(x, torch.Tensor) and x.requires_grad]
    p_in = [x for x in _flat(args) if isinstance(x, pydl.Tensor) and x.requires_grad]
    pairs = [
        (o, t)
        for o, t in zip(outs, touts)
        if isinstance(t, torch.Tensor) and t.requires_grad and t.dtype.is_floating_point
    ]
    if not t_in or not pairs or len(t_in) != len(p_in):
        return None
    rng = np.random.default_rng(0)
    tloss, ploss = 0, 0
    for o, t in pairs:
        w = rng.uniform(0.5, 1.5, tuple(t.shape)).astype(np.float32)
        if not isinstance(o, pydl.Tensor) or not o.requires_grad:
            return "backward: output does not require grad"
        tloss = tloss + (t * torch.tensor(w)).sum()
        ploss = ploss + (o * pydl.tensor(w)).sum()
    try:
        tgrads = torch.autograd.grad(tloss, t_in, allow_unused=True)
    except Exception:
        return None  # torch has no backward for it either
    try:
        pgrads = pydl.autograd.grad(ploss, p_in, allow_unused=True)
    except Exception as e:
        return f"backward {type(e).__name__}: {str(e).splitlines()[0][:100] if str(e) else ''}"
    for pg, tg in zip(pgrads, tgrads):
        if tg is None:
            continue
        if tg._is_zerotensor():  # torch's efficient zeros (sgn's gradient) have no numpy()
            tg = torch.zeros_like(tg)
        if pg is None:
            if tg.abs().sum().item() != 0:
                return "backward: no gradient where torch has one"
            continue
        why = _close(pg, tg)
        if why:
            return "backward: " + why
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=6, help="samples per op (first ones)")
    parser.add_argument("--show-failures", action="store_true")
    opts = parser.parse_args()
    warnings.filterwarnings("ignore")
    import torch
    from torch.testing._internal.common_methods_invocations import op_db

    import pydl

    results = collections.Counter()
    failures = []
    for info in op_db:
        name = info.name
        label = name + (f".{info.variant_test_name}" if info.variant_test_name else "")
        namespaced = "." in name and name.split(".")[0] not in ("nn", "linalg", "special")
        if name.startswith("_") or namespaced:
            results["skipped (private or other namespace)"] += 1
            continue
        if name.split(".")[-1] in RANDOM:
            results["skipped (random values)"] += 1
            continue
        # the function (torch.X -> pydl.X), else the method (Tensor.X); OpInfos whose op is
        # an adapter lambda (reordering the arguments) are left out
        tfn = _resolve(torch, name)
        if tfn is not None and tfn is info.op and not isinstance(tfn, torch.dtype):
            fn = _resolve(pydl, name)
        elif tfn is None or isinstance(tfn, torch.dtype):
            fn = pydl.Tensor.__dict__.get(name)
            if fn is not None:
                fn = _method(fn)
        else:
            results["skipped (adapter around the op)"] += 1
            continue
        if fn is None:
            results["missing in pydl"] += 1
            failures.append((label, "missing"))
            continue
        if not info.supports_dtype(torch.float32, "cpu"):
            results["skipped (no float32)"] += 1
            continue
        reasons, ran = [], 0
        try:
            samples = info.sample_inputs("cpu", torch.float32, requires_grad=info.supports_autograd)
            for sample in samples:
                if ran >= opts.samples:
                    break
                try:
                    why = _check_sample(pydl, torch, fn, info.op, sample)
                except _Unsupported:
                    continue
                ran += 1
                if why:
                    reasons.append(why)
        except Exception as e:  # a sample generator torch itself cannot run here
            reasons.append(f"harness: {type(e).__name__}: {e}"[:120])
        if ran == 0 and not reasons:
            results["skipped (no supported sample)"] += 1
        elif reasons:
            results["fail"] += 1
            failures.append((label, reasons[0]))
        else:
            results["pass"] += 1
    tested = results["pass"] + results["fail"] + results["missing in pydl"]
    print(f"PyTorch {torch.__version__} op_db: {len(op_db)} OpInfos")
    for k, v in sorted(results.items()):
        print(f"  {k}: {v}")
    rate = results["pass"] / max(tested, 1)
    print(f"pass rate over the ops compared: {results['pass']}/{tested} = {rate:.1%}")
    if opts.show_failures:
        for label, why in failures:
            print(f"  {label}: {why}")
    sys.stdout.flush()
    return None


if __name__ == "__main__":
    main()
