"""Soak: GPT training for a long time, a checkpoint every minute, a second process loading
each checkpoint as it appears. Not a test: run it by hand and read the table.

    python benchmarks/soak.py [--minutes 30] [--every 60] [--dir DIR]

The trainer runs `pydl train gpt`'s model and data (the bundled text) in a loop of epochs,
saves {model, optimizer, step} with pydl.save every `--every` seconds, and samples its own
resident memory (RSS) every 10 s. The reader polls the directory, loads every checkpoint it
has not seen with pydl.load, and checks it: the model's keys and shapes, finite values, a
step count that only grows, and a model that loads the state dict (strict). Prints RSS over
time, the loss, and the reader's tally; exits non-zero if any checkpoint failed to load.
"""

from __future__ import annotations

import argparse
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def train(minutes: float, every: float, folder: Path) -> None:
    import pydl
    from pydl._tasks import TASKS

    pydl.manual_seed(0)
    task = TASKS["gpt"]
    setup = task.build(task.batch_size, task.lr)
    model, opt = setup.model, setup.optimizer
    start = last_save = last_rss = time.monotonic()
    step = saves = 0
    loss_value = math.nan
    print(f"{'min':>6s} {'step':>7s} {'RSS MB':>8s} {'loss':>8s} {'saves':>6s}", flush=True)
    while time.monotonic() - start < minutes * 60:
        for x, y in setup.batches():
            loss = setup.loss(model, x, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
            step += 1
            now = time.monotonic()
            if now - last_save >= every:
                loss_value = loss.item()
                state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step}
                pydl.save(state, folder / f"ckpt_{saves:04d}.safetensors")
                saves += 1
                last_save = now
            if now - last_rss >= 10:
                minute = (now - start) / 60
                print(f"{minute:6.1f} {step:7d} {rss_mb():8.1f} {loss_value:8.4f} {saves:6d}",
                      flush=True)  # fmt: skip
                last_rss = now
            if now - start >= minutes * 60:
                break
    (folder / "done").write_text(str(saves))
    print(f"trainer: {step} steps, {saves} checkpoints, final RSS {rss_mb():.1f} MB", flush=True)


def read(folder: Path) -> None:
    import numpy as np

    import pydl
    from pydl._tasks import TASKS

    reference = TASKS["gpt"].build(8, 1e-3).model  # same architecture: load_state_dict checks
    shapes = {k: tuple(v.shape) for k, v in reference.state_dict().items()}
    seen: set[str] = set()
    loaded = failed = 0
    last_step = -1
    while True:
        done = (folder / "done").exists()  # read before listing: no checkpoint comes after
        for path in sorted(folder.glob("ckpt_*.safetensors")):
            if path.name in seen:
                continue
            seen.add(path.name)
            try:
                state = pydl.load(path)
                model = state["model"]
                assert {k: tuple(v.shape) for k, v in model.items()} == shapes, "model shapes"
                assert all(np.isfinite(np.asarray(v)).all() for v in model.values()), "finite"
                assert int(state["step"]) > last_step, "step count"
                last_step = int(state["step"])
                reference.load_state_dict(model)
                loaded += 1
            except Exception as e:  # noqa: BLE001 - the tally is the point
                failed += 1
                print(f"reader: {path.name} failed: {type(e).__name__}: {e}", flush=True)
        if done:
            break
        time.sleep(1.0)
    print(f"reader: {loaded} checkpoints loaded, {failed} failed, last step {last_step}",
          flush=True)  # fmt: skip
    sys.exit(1 if failed or not loaded else 0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--every", type=float, default=60, help="seconds between checkpoints")
    parser.add_argument("--dir", type=Path, default=None)
    parser.add_argument("--role", choices=["train", "read"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "train":
        return train(args.minutes, args.every, args.dir)
    if args.role == "read":
        return read(args.dir)
    folder = args.dir or Path(tempfile.mkdtemp(prefix="pydl-soak-"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "done").unlink(missing_ok=True)
    me = [sys.executable, __file__, "--dir", str(folder)]
    reader = subprocess.Popen([*me, "--role", "read"])
    trainer = subprocess.run([*me, "--role", "train", "--minutes", str(args.minutes),
                              "--every", str(args.every)])  # fmt: skip
    if not (folder / "done").exists():  # the trainer died: let the reader finish its tally
        (folder / "done").write_text("trainer failed")
    reader_code = reader.wait()
    print(f"checkpoints in {folder}")
    sys.exit(trainer.returncode or reader_code)


if __name__ == "__main__":
    main()
