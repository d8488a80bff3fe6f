"""Peak resident memory of 20 training steps of seed 001's CIFAR network (batch 64), pydl
vs PyTorch, each in a fresh process (peak RSS is per process).

    python benchmarks/cnn_memory.py
"""

import subprocess
import sys

CHILD = r"""
import resource
import numpy as np
impl = {impl!r}
if impl == "torch":
    import torch
    torch.set_num_threads(2)
    from pydl import _workloads
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step = _workloads.cnn(torch)
else:
    import pydl
    pydl.set_num_threads(2)
    from pydl import _workloads
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step = _workloads.cnn()
for _ in range(20):
    step()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{{impl}}: peak RSS {{after / 1024:.0f}} MiB, of which the 20 steps added "
      f"{{(after - before) / 1024:.0f}} MiB")
"""


def main() -> None:
    for impl in ("pydl", "torch"):
        code = CHILD.format(impl=impl)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        print(out.stdout.strip() or out.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
