"""Training steps of pydl and PyTorch alternated in one process, for a ratio that survives
a VM whose speed drifts for minutes (pytest-benchmark times one side, then the other).

    python benchmarks/interleaved.py [lstm gru gpt cnn mlp128 mlp8 convt upsample op16 mrs16
                                     rl rl_act] [--rounds N] [--compile]

Each round runs one pydl step, then one PyTorch step (the same steps as the pytest
benchmarks, at 2 threads); it prints each side's median and the ratio of the medians,
and the median of the per-round ratios. PyTorch must be installed. Steps of a millisecond or
less (mlp8) measure the two runtimes waking each other's thread pools more than their
kernels: use the pytest benchmarks for those. --compile times pydl's steps under
pydl.compile (replayed kernels).
"""

import argparse
import statistics

import torch

import pydl
from pydl._workloads import WORKLOADS, measure


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=["lstm", "gru", "gpt", "cnn"])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--compile", action="store_true", help="pydl's steps under pydl.compile")
    args = parser.parse_args()
    pydl.set_num_threads(2)
    torch.set_num_threads(2)
    for name in args.workloads:
        if name not in WORKLOADS:
            raise SystemExit(f"unknown workload {name!r}")
    for name in args.workloads:
        timing = measure(name, args.rounds, torch, compiled=args.compile)
        pairs = list(zip(timing.pydl, timing.torch))
        m = statistics.median(p for p, _ in pairs)
        t = statistics.median(q for _, q in pairs)
        r = statistics.median(p / q for p, q in pairs)
        print(
            f"{name:7s} pydl {m * 1e3:9.4g} ms   torch {t * 1e3:9.4g} ms   "
            f"pydl/torch {m / t:5.2f} (median of round ratios {r:5.2f}, {args.rounds} rounds)"
        )


if __name__ == "__main__":
    main()
