"""Where a training step's time goes: Python (the engine, layers, optimizer glue) versus
calls into the kernel backend (pybind11 binding + kernel), per backend function.

    python benchmarks/step_profile.py [mlp8 rl rl_act mrs16 ...] [--steps N] [--threads T]

Each workload of pydl/_workloads.py runs `--steps` times plainly (the step time), then
again with every backend call timed (`pydl.backend.active` swapped for a timing proxy). The
step time minus the time inside backend calls is the Python between them; the proxy's own
cost (a few hundred ns a call) falls outside both. Each backend function's time is then
split by replaying its recorded calls with the same arguments: the same function on
one-element arrays of the same ranks estimates the binding's fixed cost per call, the rest
is the kernel's (work that grows with the data).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import defaultdict

import numpy as np

import pydl
from pydl import backend
from pydl._workloads import WORKLOADS


class _Timed:
    """Stands in for the backend module: every function call is timed and its arguments
    kept (the first step's) for replay."""

    def __init__(self, module: object) -> None:
        self._module = module
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.first: list[tuple[str, tuple, dict]] | None = []

    def __getattr__(self, name: str) -> object:
        fn = getattr(self._module, name)
        if not callable(fn):
            return fn

        def timed(*args: object, **kwargs: object) -> object:
            t0 = time.perf_counter()
            out = fn(*args, **kwargs)
            self.seconds[name] += time.perf_counter() - t0
            self.calls[name] += 1
            if self.first is not None:
                self.first.append((name, args, kwargs))
            return out

        return timed


def _tiny(arg: object) -> object:
    """A one-element stand-in of the same rank and dtype for an array argument."""
    if isinstance(arg, np.ndarray) and arg.size > 1:
        return np.zeros((1,) * arg.ndim, dtype=arg.dtype)
    return arg


def _fixed_cost(module: object, calls: list[tuple[str, tuple, dict]], repeat: int = 200) -> float:
    """Seconds per step of the backend calls replayed on one-element arrays (the bindings'
    fixed cost: argument conversion, checks, allocation, dispatch); calls that refuse tiny
    arrays (shapes that must agree) count at their own arguments' time instead, so this is
    an upper bound."""
    total = 0.0
    for name, args, kwargs in calls:
        fn = getattr(module, name)
        tiny_args = tuple(_tiny(a) for a in args)
        try:
            fn(*tiny_args, **kwargs)
        except Exception:  # noqa: BLE001 - shapes that must agree: time the real call
            tiny_args = args
        t0 = time.perf_counter()
        for _ in range(repeat):
            fn(*tiny_args, **kwargs)
        total += (time.perf_counter() - t0) / repeat
    return total


def profile(name: str, steps: int) -> None:
    step = WORKLOADS[name].build()
    for _ in range(5):
        step()
    plain = []
    for _ in range(steps):
        t0 = time.perf_counter()
        step()
        plain.append(time.perf_counter() - t0)
    real = backend.active
    proxy = _Timed(real)
    backend.active = proxy
    try:
        step()
        first = proxy.first
        proxy.first = None
        proxy.seconds.clear()
        proxy.calls.clear()
        for _ in range(steps):
            step()
    finally:
        backend.active = real
    step_s = statistics.median(plain)
    in_backend = sum(proxy.seconds.values()) / steps
    fixed = _fixed_cost(real, first)
    n_calls = sum(proxy.calls.values()) / steps
    print(f"{name}: {WORKLOADS[name].description}")
    print(
        f"  step {step_s * 1e6:9.1f} us | Python {max(step_s - in_backend, 0) * 1e6:8.1f} us "
        f"| backend calls {in_backend * 1e6:8.1f} us in {n_calls:.0f} calls: binding ~"
        f"{min(fixed, in_backend) * 1e6:.1f} us, kernels ~{max(in_backend - fixed, 0) * 1e6:.1f} us"
    )
    for fn, s in sorted(proxy.seconds.items(), key=lambda kv: -kv[1])[:8]:
        print(f"    {fn:28s} {s / steps * 1e6:8.1f} us  x{proxy.calls[fn] / steps:.0f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=["mlp8", "rl", "rl_act", "mrs16"])
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    pydl.set_num_threads(args.threads)
    info = pydl.build_info()
    print(f"engine {info['engine']}, {args.threads} thread(s), SIMD {info['simd']}")
    for name in args.workloads:
        if name not in WORKLOADS:
            raise SystemExit(f"unknown workload {name!r}")
        profile(name, args.steps)


if __name__ == "__main__":
    main()
