"""pydl beside the runtimes a user would pick instead: PyTorch eager, torch.compile and JAX
(jit + optax), on the standard training workloads, with each one's peak memory.

    python benchmarks/peers.py [mlp128 cnn lstm gru gpt] [--rounds N] [--threads N]
                               [--runtimes pydl,pydl_compile,torch,torch_compile,jax]
                               [--alone]

Time ("ms"): in this process, each round runs one step of every runtime in turn (after each
has compiled and run 3 warm-up rounds); the median per runtime, and pydl's ratio to it (the
median of the rounds' ratios; * marks the fastest peer; in the row of pydl_compile, the
pydl step under pydl.compile, the ratio is its time over the fastest peer's). With --alone
also each runtime
alone, the median of --rounds steps in a fresh process of its own: a thread pool that has
just run (XLA's, PyTorch's OpenMP) can slow the next runtime's step, so the two differ.

Memory, from one fresh process per runtime and workload, which imports the runtime, builds
and compiles the step, runs 3 warm-up steps, then its steps (the --alone ones, else 3):
"peak" is the peak RSS during those steps (the kernel's high-water mark reset after warm-up
through /proc/self/clear_refs), "+" that peak less the RSS after the imports (model,
optimizer state, activations, compiled code and what compiling left resident), "build" the
peak RSS up to the end of warm-up (compilers included; Inductor's compile workers are other
processes, not counted). MiB throughout. pydl/_peers.py builds every step.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=["mlp128", "cnn", "lstm", "gru", "gpt"])
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--runtimes", default="pydl,torch,torch_compile,jax")
    parser.add_argument("--alone", action="store_true", help="also time each runtime alone")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)  # runtime workload steps
    args = parser.parse_args()
    if args.child:
        return _child(*args.child, threads=args.threads)

    from pydl import _peers
    from pydl._workloads import WORKLOADS

    runtimes = [r.strip() for r in args.runtimes.split(",") if r.strip()]
    for r in runtimes:
        if r not in _peers.RUNTIMES:
            parser.error(f"unknown runtime {r!r} (choose from {', '.join(_peers.RUNTIMES)})")
    for name in args.workloads:
        if name not in WORKLOADS:
            parser.error(f"unknown workload {name!r} (choose from {', '.join(WORKLOADS)})")
    _peers.set_num_threads(args.threads)
    print(" | ".join([_peers.version(r) for r in runtimes] + [f"{args.threads} threads"]))
    for r in runtimes:
        why = _peers.unavailable(r)
        if why is not None:
            print(f"{r}: left out ({why})")
    runtimes = [r for r in runtimes if _peers.unavailable(r) is None]
    alone = ("alone ms", "pydl/") if args.alone else ()
    head = ("workload", "runtime", "ms", "pydl/", *alone, "peak", "+", "build")
    widths = (9, 14, 9, 7) + ((10, 7) if args.alone else ()) + (7, 6, 7)
    print(
        "".join(
            f"{h:<{w}s}" if i < 2 else f"{h:>{w}s}" for i, (h, w) in enumerate(zip(head, widths))
        )
    )
    notes = []
    for name in args.workloads:
        steps_alone = args.rounds if args.alone else 3
        children = {r: _run_child(r, name, steps_alone, args.threads) for r in runtimes}
        steps = {}
        for r in runtimes:
            step = _peers.build(r, name)  # compiled here, before any timed step
            if step is None:
                notes.append(f"{r} {name}: {_peers.unavailable(r, name)}")
            else:
                steps[r] = step
        times = _peers.measure(steps, args.rounds, WORKLOADS[name].calls)
        del steps  # a compiled model's memory, before the next workload's
        median = {r: statistics.median(t) for r, t in times.items()}
        peers = [r for r in median if r in _peers.PEERS]
        fastest = min(peers, key=median.get) if peers else None
        alone_ms = {r: c["ms"] for r, c in children.items() if c.get("ms") is not None}
        alone_peers = [r for r in alone_ms if r in _peers.PEERS]
        alone_fastest = min(alone_peers, key=alone_ms.get, default=None)
        for i, r in enumerate(runtimes):
            child = children[r]
            cells = [name if i == 0 else "", r]
            if r in times:
                cells.append(f"{median[r] * 1e3:.4g}")
                ours, theirs = (r, fastest) if r == "pydl_compile" else ("pydl", r)
                ratios = [p / q for p, q in zip(times.get(ours, []), times.get(theirs, []))]
                mark = "*" if r == fastest else ""
                cells.append(
                    f"{statistics.median(ratios):.2f}{mark}" if ratios and r != "pydl" else ""
                )
            else:
                cells += ["-", ""]
            if args.alone:
                ms = alone_ms.get(r)
                cells.append(f"{ms:.4g}" if ms is not None else "-")
                ours, theirs = (r, alone_fastest) if r == "pydl_compile" else ("pydl", r)
                ok = ours in alone_ms and theirs in alone_ms and r != "pydl"
                mark = "*" if r == alone_fastest else ""
                cells.append(f"{alone_ms[ours] / alone_ms[theirs]:.2f}{mark}" if ok else "")
            if "peak" in child:
                cells += [f"{child['peak']:.0f}", f"{child['peak'] - child['base']:.0f}"]
                cells.append(f"{child['build']:.0f}")
            else:
                cells += ["-", "-", "-"]
                if r in times:  # it ran here, so the failure is the measuring process's
                    why = child.get("error") or child.get("unavailable")
                    notes.append(f"{r} {name}: memory not measured ({why})")
            print(
                "".join(
                    f"{c:<{w}s}" if j < 2 else f"{c:>{w}s}"
                    for j, (c, w) in enumerate(zip(cells, widths))
                ),
                flush=True,
            )
    for note in dict.fromkeys(notes):
        print(note)
    print("ms: median step, the runtimes alternated in one process (3 warm-up rounds)")
    print("pydl/: pydl's step time over the runtime's (* the fastest peer); pydl_compile's")
    print("row: its step time over the fastest peer's")
    if args.alone:
        print(f"alone ms: median of {args.rounds} steps, the runtime alone in a process of its own")
    print("peak: peak RSS during the steps, +: that less the RSS after imports, build: peak RSS")
    print("of building, compiling and 3 warm-up steps; MiB, each in a process of its own")


def _run_child(runtime: str, workload: str, steps: int, threads: int) -> dict:
    """What _child reports for runtime and workload: peak memory (and times), from a fresh
    process; {"error": why} when it did not report."""
    command = [sys.executable, os.path.abspath(__file__), "--child", runtime, workload, str(steps)]
    out = subprocess.run(command + ["--threads", str(threads)], capture_output=True, text=True)
    for line in reversed(out.stdout.splitlines()):
        if line.startswith("{"):
            return json.loads(line)
    tail = (out.stderr.strip().splitlines() or [f"exit status {out.returncode}"])[-1]
    return {"error": tail}


def _child(runtime: str, workload: str, steps: str, threads: int) -> None:
    from pydl import _peers

    _peers.set_num_threads(threads)
    _peers.prepare(runtime)
    base = _status("VmRSS")
    step = _peers.build(runtime, workload)
    if step is None:
        print(json.dumps({"unavailable": _peers.unavailable(runtime, workload)}))
        return
    for _ in range(3):
        step()
    build = _status("VmHWM")
    reset = _reset_peak()
    times = []
    for _ in range(int(steps)):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    # without a reset (not Linux), the peak of the whole process, compiling included
    peak = _status("VmHWM") if reset else build
    print(
        json.dumps(
            {"base": base, "build": build, "peak": peak, "ms": statistics.median(times) * 1e3}
        )
    )


def _status(key: str) -> float:
    """A /proc/self/status memory line (VmRSS, VmHWM) in MiB; ru_maxrss where there is none."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(key + ":"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024  # bytes there, KiB here


def _reset_peak() -> bool:
    """Reset the process's peak RSS to its current RSS (Linux 4.0 and later)."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


if __name__ == "__main__":
    main()
