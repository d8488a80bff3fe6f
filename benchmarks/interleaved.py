"""Training steps of pydl and PyTorch alternated in one process, for a ratio that survives
a VM whose speed drifts for minutes (pytest-benchmark times one side, then the other).

    python benchmarks/interleaved.py [lstm gru gpt cnn mlp128 mlp8 convt upsample] [--rounds N]

Each round runs one pydl step, then one PyTorch step (the same steps as the pytest
benchmarks, at 2 threads); it prints each side's median and the ratio of the medians,
and the median of the per-round ratios. PyTorch must be installed. Steps of a millisecond or
less (mlp8) measure the two runtimes waking each other's thread pools more than their
kernels: use the pytest benchmarks for those.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import torch  # noqa: E402

import pydl  # noqa: E402


def _steps(name):
    if name in ("lstm", "gru"):
        from test_sequence import _pydl_step, _torch_step

        return _pydl_step(name.upper()), _torch_step(torch, name.upper())
    if name == "gpt":
        from test_sequence import _gpt_pydl, _gpt_torch

        return _gpt_pydl(), _gpt_torch(torch)
    if name == "cnn":
        from test_cnn import _pydl_step, _torch_step

        return _pydl_step(), _torch_step(torch)
    if name in ("mlp128", "mlp8"):
        from test_gemm import _mlp_step

        batch, opt = (128, "adam") if name == "mlp128" else (8, "sgd")
        return _mlp_step("pydl", batch, opt), _mlp_step("torch", batch, opt)
    if name in ("convt", "upsample"):  # forward+backward of one layer
        from test_conv_transpose import dcgan_step, upsample_step

        make = dcgan_step if name == "convt" else upsample_step
        return make("pydl"), make("torch")
    raise SystemExit(f"unknown workload {name!r}")


def _time(step):
    t0 = time.perf_counter()
    step()
    return time.perf_counter() - t0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=["lstm", "gru", "gpt", "cnn"])
    parser.add_argument("--rounds", type=int, default=30)
    args = parser.parse_args()
    pydl.set_num_threads(2)
    torch.set_num_threads(2)
    for name in args.workloads:
        mine, theirs = _steps(name)
        for _ in range(3):  # warm-up: buffers, packed weights, lazy init
            mine()
            theirs()
        pairs = [(_time(mine), _time(theirs)) for _ in range(args.rounds)]
        m = statistics.median(p for p, _ in pairs)
        t = statistics.median(q for _, q in pairs)
        r = statistics.median(p / q for p, q in pairs)
        print(
            f"{name:7s} pydl {m * 1e3:9.2f} ms   torch {t * 1e3:9.2f} ms   "
            f"pydl/torch {m / t:5.2f} (median of round ratios {r:5.2f}, {args.rounds} rounds)"
        )


if __name__ == "__main__":
    main()
