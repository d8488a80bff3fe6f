"""Peak resident memory of 20 training steps of seed 001's CIFAR network (batch 64), pydl
vs PyTorch, each in a fresh process (peak RSS is per process).

    python benchmarks/cnn_memory.py
"""

import os
import subprocess
import sys

CHILD = r"""
import resource, sys
sys.path.insert(0, {bench!r})
import numpy as np
impl = {impl!r}
if impl == "torch":
    import torch
    torch.set_num_threads(2)
    from test_cnn import _torch_step
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step = _torch_step(torch)
else:
    import pydl
    pydl.set_num_threads(2)
    from test_cnn import _pydl_step
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step = _pydl_step()
for _ in range(20):
    step()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(f"{{impl}}: peak RSS {{after / 1024:.0f}} MiB, of which the 20 steps added "
      f"{{(after - before) / 1024:.0f}} MiB")
"""


def main() -> None:
    bench = os.path.dirname(os.path.abspath(__file__))
    for impl in ("pydl", "torch"):
        code = CHILD.format(bench=bench, impl=impl)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        print(out.stdout.strip() or out.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
