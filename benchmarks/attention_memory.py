"""Peak resident memory of causal attention forward+backward (batch 4, 4 heads, head dim 64),
pydl vs PyTorch, each case in a fresh process (peak RSS is per process).

    python benchmarks/attention_memory.py
"""

import subprocess
import sys

CHILD = r"""
import resource
import numpy as np
impl, T = {impl!r}, {T}
shape = (4, 4, T, 64)
data = [np.random.default_rng(i).standard_normal(shape).astype(np.float32) for i in range(3)]
if impl == "torch":
    import torch
    torch.set_num_threads(2)
    q, k, v = (torch.tensor(a, requires_grad=True) for a in data)
    f = torch.nn.functional.scaled_dot_product_attention
else:
    import pydl
    pydl.set_num_threads(2)
    q, k, v = (pydl.tensor(a, requires_grad=True) for a in data)
    f = pydl.nn.functional.scaled_dot_product_attention
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
f(q, k, v, is_causal=True).sum().backward()
after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
grown = (after - before) / 1024
print(f"{{impl:5s}} T={{T}}: forward+backward raised peak RSS by {{grown:.0f}} MiB")
"""


def main() -> None:
    for T in (512, 1024, 2048):
        for impl in ("pydl", "torch"):
            out = subprocess.run(
                [sys.executable, "-c", CHILD.format(impl=impl, T=T)], capture_output=True, text=True
            )
            print(out.stdout.strip() or out.stderr.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
