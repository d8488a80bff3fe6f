"""Tabulate a pytest-benchmark JSON: per group, each implementation's median, GFLOP/s when
the case recorded its flops, and the ratio to the group's peer (numpy or torch).

    python benchmarks/report.py results.json
"""

import json
import re
import sys
from collections import defaultdict


def main(path: str) -> None:
    data = json.load(open(path))
    groups = defaultdict(dict)
    peak = None
    for b in data["benchmarks"]:
        params = re.search(r"\[(.*?)\]", b["name"])
        parts = params.group(1).split("-") if params else []
        impl = next(
            (p for p in parts if p in ("pydl", "numpy", "torch", "core", "reference")), b["name"]
        )
        median = b["stats"]["median"]
        gflop = b.get("extra_info", {}).get("gflop")
        groups[b["group"]][impl] = (median, gflop)
        if b["group"].startswith("fma peak"):
            peak = gflop / median
    if peak:
        print(f"FMA peak (one core): {peak:.1f} GFLOP/s")
    print(f"{'group':44s} {'pydl':>12s} {'peer':>12s} {'peer/pydl':>10s} {'of peak':>8s}")
    for group, impls in groups.items():
        if group.startswith("fma peak") or "pydl" not in impls and "core" not in impls:
            continue
        mine = impls.get("pydl") or impls.get("core")
        peer_name = "numpy" if "numpy" in impls else "torch"
        peer = impls.get(peer_name)

        def fmt(entry):
            median, gflop = entry
            return f"{gflop / median:7.1f} GF/s" if gflop else f"{median * 1e6:9.1f} us"

        ratio = f"{peer[0] / mine[0]:10.2f}" if peer else " " * 10
        frac = ""
        if mine[1] and peak and group.endswith(" 1t"):
            frac = f"{mine[1] / mine[0] / peak * 100:7.0f}%"
        print(f"{group:44s} {fmt(mine):>12s} {fmt(peer) if peer else '':>12s} {ratio} {frac:>8s}")


if __name__ == "__main__":
    main(sys.argv[1])
