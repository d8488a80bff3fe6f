"""Run an op-table row on a backend and collect its output and input gradients."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import pydl
from pydl import optim


# One of each optimizer, with the options that give it the most state to carry over.
OPTIMIZERS = {
    "SGD": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "Adam": lambda p: optim.Adam(p, lr=0.01, amsgrad=True),
    "AdamW": lambda p: optim.AdamW(p, lr=0.01),
    "NAdam": lambda p: optim.NAdam(p, lr=0.01),
    "LAMB": lambda p: optim.LAMB(p, lr=0.01),
    "Adagrad": lambda p: optim.Adagrad(p, lr=0.1),
    "RMSprop": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5, centered=True),
    "Adadelta": lambda p: optim.Adadelta(p),
    "Adafactor": lambda p: optim.Adafactor(p),
    "Lion": lambda p: optim.Lion(p, lr=0.001),
    "Lookahead": lambda p: optim.Lookahead(optim.Adam(p, lr=0.01), k=2),
}


def run_row(row, arrays, backend: str, dtype, upstream_seed: int = 99):
    """(output, [grad of each input]) for loss = sum(output * w), w fixed random."""
    pydl.set_backend(backend)
    ts = [
        pydl.tensor(a.astype(dtype), requires_grad=i not in row.nondiff)
        for i, a in enumerate(arrays)
    ]
    out = row.fn(*ts)
    w = np.random.default_rng(upstream_seed).uniform(0.5, 1.5, size=out.shape).astype(dtype)
    out.backward(w)
    grads = [t.grad.numpy() if t.grad is not None else None for t in ts]
    return out.numpy().copy(), grads


def numeric_grads(row, arrays, eps: float = 1e-6, upstream_seed: int = 99):
    """Central finite differences of sum(fn(inputs) * w) on the reference backend, float64."""
    pydl.set_backend("reference")
    with pydl.no_grad():
        out = row.fn(*[pydl.tensor(a) for a in arrays])
    w = np.random.default_rng(upstream_seed).uniform(0.5, 1.5, size=out.shape)

    def f(xs):
        with pydl.no_grad():
            return float((row.fn(*[pydl.tensor(a) for a in xs]).numpy() * w).sum())

    grads = []
    for i, a in enumerate(arrays):
        g = np.zeros_like(a)
        for idx in np.ndindex(a.shape):
            plus = [x.copy() for x in arrays]
            minus = [x.copy() for x in arrays]
            plus[i][idx] += eps
            minus[i][idx] -= eps
            g[idx] = (f(plus) - f(minus)) / (2 * eps)
        grads.append(g)
    return grads


def fresh_interpreter_prints(expression: str, **env: str) -> str:
    """What `print(expression)` shows in a new Python that imported pydl under extra env vars.

    It runs beside the package this test session imported, so both see the same pydl.
    """
    package_parent = os.path.dirname(os.path.dirname(pydl.__file__))
    out = subprocess.run(
        [sys.executable, "-c", f"import pydl; print({expression})"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        cwd=package_parent,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def train_on_digits(model, steps: int, lr: float = 1e-2):
    """model after `steps` Adam steps on batches of 64 of the first 256 training digits (17
    levels), in eval mode, and the losses: a small trained model for the generative tests."""
    from pydl.models.evaluation import digit_levels

    opt = pydl.optim.Adam(model.parameters(), lr=lr)
    x = digit_levels("train")[0][:256]
    losses = []
    for i in range(steps):
        loss = model.loss(x[(i % 4) * 64 : (i % 4 + 1) * 64])
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return model.eval(), losses


PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(pydl.__file__)))


def run_script(
    tmp_path, code: str, *args: str, timeout: float = 120, env: dict | None = None
) -> subprocess.CompletedProcess:
    """Runs `code` as a script file in a new interpreter that imports this pydl; a hang is
    a failure (its whole process group is killed), not a blocked test session."""
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent(code))
    env = {**os.environ, **(env or {}), "PYTHONPATH": PACKAGE_PARENT}
    proc = subprocess.Popen(
        [sys.executable, str(script), *args],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"timed out after {timeout} s (a hang)\n{out[-2000:]}\n{err[-2000:]}")
    return subprocess.CompletedProcess(proc.args, proc.returncode, out, err)
