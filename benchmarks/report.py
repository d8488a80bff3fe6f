"""Tabulate a pytest-benchmark JSON: per group, each implementation's median, GFLOP/s when
the case recorded its flops, and the ratio to the group's peer (numpy or torch; for the bf16
GEMM groups, sgemm on the same shape, with a line for the exact bf16 kernel and one for AMX's).
One-thread GEMM rates are also given as a fraction of the matching peak loop: fp32 products
of the AVX-512 FMA loop (AVX2's where that is all the CPU has), bf16 products of the
vdpbf16ps loop, AMX's of the tdpbf16ps loop.

    python benchmarks/report.py results.json
"""

import json
import re
import sys
from collections import defaultdict


def main(path: str) -> None:
    data = json.load(open(path))
    groups = defaultdict(dict)
    peaks = {}  # peak loop -> GFLOP/s
    for b in data["benchmarks"]:
        params = re.search(r"\[(.*?)\]", b["name"])
        parts = params.group(1).split("-") if params else []
        impl = next(
            (p for p in parts
             if p in ("pydl", "numpy", "torch", "core", "reference", "bf16", "amx", "fp32")),
            b["name"],
        )  # fmt: skip
        median = b["stats"]["median"]
        gflop = b.get("extra_info", {}).get("gflop")
        groups[b["group"]][impl] = (median, gflop)
        if b["group"].startswith("fma peak"):
            peaks[parts[0] if parts else b["name"]] = gflop / median
    fp32_peak = peaks.get("fma512_peak_loop") or peaks.get("fma_peak_loop")
    bf16_peaks = {"bf16": peaks.get("bf16_dot_peak_loop"), "amx": peaks.get("amx_peak_loop")}
    if fp32_peak:
        print(f"fp32 FMA peak (one core): {fp32_peak:.1f} GFLOP/s")
    for name, what in (("bf16", "vdpbf16ps"), ("amx", "AMX tdpbf16ps")):
        if bf16_peaks[name]:
            print(f"bf16 {what} peak (one core): {bf16_peaks[name]:.1f} GFLOP/s")
    print(f"{'group':44s} {'pydl':>12s} {'peer':>12s} {'peer/pydl':>10s} {'of peak':>8s}")
    for group, impls in groups.items():
        if group.startswith("bf16 gemm"):  # sbgemm's kernels against sgemm
            rows = [(f"{group} [{k}]", impls[k], impls.get("fp32"), bf16_peaks[k])
                    for k in ("bf16", "amx") if k in impls]  # fmt: skip
        elif group.startswith("fma peak") or "pydl" not in impls and "core" not in impls:
            continue
        else:
            peer = impls.get("numpy") or impls.get("torch")
            rows = [(group, impls.get("pydl") or impls.get("core"), peer, fp32_peak)]
        for name, mine, peer, peak in rows:
            ratio = f"{peer[0] / mine[0]:10.2f}" if peer else " " * 10
            frac = ""
            if mine[1] and peak and group.endswith(" 1t"):
                frac = f"{mine[1] / mine[0] / peak * 100:7.0f}%"
            print(f"{name:44s} {_rate(mine):>12s} {_rate(peer) if peer else '':>12s} {ratio} "
                  f"{frac:>8s}")  # fmt: skip


def _rate(entry):
    median, gflop = entry
    return f"{gflop / median:7.1f} GF/s" if gflop else f"{median * 1e6:9.1f} us"


if __name__ == "__main__":
    main(sys.argv[1])
