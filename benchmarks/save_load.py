"""Checkpoint throughput: pydl.save / pydl.load beside torch.save / torch.load and
safetensors.torch on the same ~100 MB state_dict (25 float32 tensors of 1M elements).

    python benchmarks/save_load.py [--mb 100] [--rounds 5] [--dir /tmp]

Prints the best round's MB/s of each (the page cache holds the file, so this measures the
serialization and the write/read path, not the disk). PyTorch and safetensors must be
installed.
"""

import argparse
import os
import tempfile
import time

import numpy as np
import safetensors.numpy
import safetensors.torch
import torch

import pydl


def _best(fn, rounds):
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--mb", type=int, default=100)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--dir", default=tempfile.gettempdir())
    args = ap.parse_args()
    n = args.mb * (1 << 20) // (4 * 25)
    rng = np.random.default_rng(0)
    arrays = {f"layer{i}.weight": rng.standard_normal(n).astype(np.float32) for i in range(25)}
    mb = sum(a.nbytes for a in arrays.values()) / (1 << 20)
    ours = {k: pydl.tensor(v) for k, v in arrays.items()}
    theirs = {k: torch.from_numpy(v) for k, v in arrays.items()}
    path = os.path.join(args.dir, "pydl_save_load_bench")
    cases = [
        ("pydl.save", lambda: pydl.save(ours, path)),
        ("pydl.load", lambda: pydl.load(path)),
        ("pydl.load(mmap=True)", lambda: pydl.load(path, mmap=True)),
        # what pydl.save does but the fsyncs and the rename: their cost is the difference
        ("safetensors.numpy.save_file", lambda: safetensors.numpy.save_file(arrays, path)),
        ("torch.save", lambda: torch.save(theirs, path)),
        ("torch.load", lambda: torch.load(path)),
        ("torch.load(mmap=True)", lambda: torch.load(path, mmap=True)),
        ("safetensors.torch.save_file", lambda: safetensors.torch.save_file(theirs, path)),
        ("safetensors.torch.load_file", lambda: safetensors.torch.load_file(path)),
    ]
    print(f"state_dict: {len(arrays)} float32 tensors, {mb:.0f} MB; best of {args.rounds}")
    for name, fn in cases:  # each load reads what the save before it wrote
        t = _best(fn, args.rounds)
        print(f"{name:30s} {t * 1e3:8.1f} ms  {mb / t:8.0f} MB/s")
    os.unlink(path)


if __name__ == "__main__":
    main()
