"""Step times when the machine is busy: pydl under wait policies, and PyTorch.

    python benchmarks/neighbour.py [mlp128 cnn lstm] [--rounds N] [--policies default,0,...]

Three conditions, each in a fresh process (the wait policy is read once, when the thread
pool starts):
  alone   nothing else runs;
  busy    a process spinning in Python, pinned to CPU 1 (`taskset -c 1`);
  thread  the steps run in a Python thread while the main thread does Python work.
A policy is `default` (what pydl does when the user sets nothing), `passive` or `active`
(OMP_WAIT_POLICY) or a number N (PYDL_SPIN_US=N: an idle worker spins N microseconds, then
sleeps; Note [Wait policy] in cpp/core/parallel.cpp). PyTorch runs under its own default.
Prints each median in ms and its ratio to the same runtime's `alone`. Linux only (taskset).
"""

import argparse
import os
import statistics
import subprocess
import sys
import threading
import time

CONDITIONS = ("alone", "busy", "thread")


def child(runtime: str, workload: str, condition: str, rounds: int) -> None:
    """Run in a subprocess: print the median step time in seconds."""
    torch = None
    if runtime == "torch":
        import torch

        torch.set_num_threads(2)
    import pydl
    from pydl._workloads import WORKLOADS

    pydl.set_num_threads(2)
    step = WORKLOADS[workload].build(torch)
    times: list[float] = []

    def run():
        for _ in range(3):
            step()
        for _ in range(rounds):
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)

    if condition == "thread":
        worker = threading.Thread(target=run)
        worker.start()
        spins = 0
        while worker.is_alive():  # the host program's own Python work
            spins += sum(i * i for i in range(200))
        worker.join()
    else:
        run()
    print(statistics.median(times))


def policy_env(policy: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYDL_SPIN_US", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT")
    }
    if policy in ("passive", "active"):
        env["OMP_WAIT_POLICY"] = policy
    elif policy != "default":
        env["PYDL_SPIN_US"] = policy
    return env


def measure(runtime: str, workload: str, condition: str, policy: str, rounds: int) -> float:
    busy = None
    if condition == "busy":
        busy = subprocess.Popen(["taskset", "-c", "1", sys.executable, "-c", "while True: pass"])
    try:
        out = subprocess.run(
            [sys.executable, __file__, "--child", runtime, workload, condition, str(rounds)],
            env=policy_env(policy),
            capture_output=True,
            text=True,
            check=True,
        )
    finally:
        if busy is not None:
            busy.kill()
            busy.wait()
    return float(out.stdout.split()[-1])


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, runtime, workload, condition, rounds = sys.argv
        child(runtime, workload, condition, int(rounds))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workloads", nargs="*", default=["mlp128", "cnn", "lstm"])
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--policies", default="default,passive,active")
    parser.add_argument("--conditions", default=",".join(CONDITIONS))
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args()
    conditions = args.conditions.split(",")
    runs = [("pydl", p) for p in args.policies.split(",")]
    if not args.no_torch:
        runs.append(("torch", "default"))
    print(
        f"{'workload':8s} {'runtime':7s} {'policy':8s}" + "".join(f"{c:>18s}" for c in conditions)
    )
    for workload in args.workloads:
        for runtime, policy in runs:
            ms = [measure(runtime, workload, c, policy, args.rounds) * 1e3 for c in conditions]
            cells = "".join(f"{m:9.2f} ({m / ms[0]:5.2f}x)" for m in ms)
            print(f"{workload:8s} {runtime:7s} {policy:8s}{cells}", flush=True)


if __name__ == "__main__":
    main()
