"""The one training loop behind `pydl train MODEL`: progress, evaluation, checkpoints, resume
and Ctrl-C, for every task of pydl/_tasks.py alike.

Checkpoints go to a directory, one pydl.save file each (atomic: Note [Checkpoint format]):
`epoch-0003.safetensors` after the third epoch, `epoch-0004-step-000017.safetensors` when a
signal stopped the run 17 steps into the fourth. Only the newest `keep` stay. Each holds the
run's Config, the model, optimizer and scheduler states, the RNG states, and the counters.

Note [Exact resume]: a resumed run computes bit for bit the losses the uninterrupted run
would have. Everything random comes from pydl's one generator (initializers, dropout, the
DataLoader's shuffle, the text windows), so its state is the whole random state; the
checkpoint holds it twice: as it was when the current epoch began (`epoch_rng`) and as it is
now (`rng`). A task's batches() draws lazily (a DataLoader draws its order at the first
batch, text_batches draws each batch's offsets when asked), so resuming `step` steps into an
epoch restores `epoch_rng`, draws and drops `step` batches (the data only: no forward or
backward is replayed), then restores `rng`: the next batch and everything after are the
ones the uninterrupted run saw. Threads do not change results (DESIGN.md), so a run may
resume with another --threads.
"""

from __future__ import annotations

import dataclasses
import math
import re
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import numpy as np

import pydl

from . import distributed as dist
from . import nn
from ._tasks import TASKS, Metric
from .models import evaluation
from .nn.parallel import DistributedDataParallel

FORMAT = "pydl-train-1"  # the checkpoint's "format" entry; a new layout gets a new one
_NAME = re.compile(r"^epoch-(\d{4,})(?:-step-(\d{6,}))?\.safetensors$")


@dataclass(frozen=True)
class Config:
    """What rebuilds a run: saved in every checkpoint, compared on resume."""

    model: str
    epochs: int
    batch_size: int
    lr: float
    seed: int = 0
    limit: Optional[int] = None  # at most this many steps per epoch (quick test runs)


@dataclass
class Result:
    metric: Optional[Metric]  # the last evaluation's (None if a signal came before any)
    loss: float  # of the last step
    samples_per_second: float
    seconds: float
    epilogue: Optional[str] = None
    interrupted: Optional[int] = None  # the signal that stopped the run
    checkpoint: Optional[Path] = None  # the last one written


# ----- checkpoint files -----------------------------------------------------------------------


def checkpoints(directory: Path) -> list[Path]:
    """The checkpoints in directory, oldest first (by position in the run, not by mtime)."""

    def position(path: Path) -> tuple[int, int]:
        m = _NAME.match(path.name)
        assert m is not None
        epoch, step = int(m.group(1)), m.group(2)
        # "epoch-0004-step-000017" lies inside the fourth epoch: after "epoch-0003"
        return (epoch - 1, int(step)) if step is not None else (epoch, 0)

    if not directory.is_dir():
        return []
    return sorted((p for p in directory.iterdir() if _NAME.match(p.name)), key=position)


def read_checkpoint(directory: Path) -> tuple[Path, dict]:
    """The newest checkpoint in directory and its contents; ValueError says what is wrong."""
    found = checkpoints(directory)
    if not found:
        raise ValueError(f"no checkpoint (epoch-*.safetensors) in {directory}")
    path = found[-1]
    state = pydl.load(path)
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValueError(f"{path} is not a `pydl train` checkpoint")
    _check_config(path, state.get("config"))
    missing = [k for k in _STATE_KEYS if k not in state]
    if missing:
        raise ValueError(f"{path} lacks {', '.join(missing)} (a damaged checkpoint?)")
    return path, state


_STATE_KEYS = ("model", "optimizer", "scheduler", "rng", "epoch_rng", "epoch", "step",
               "global_step", "epoch_loss_sum", "loss")  # fmt: skip


def _check_config(path: Path, config: Any) -> None:
    """A checkpoint's config rebuilds a run: Config's fields, a known model, sane values."""
    fields = [f.name for f in dataclasses.fields(Config)]
    if not isinstance(config, dict) or sorted(config) != sorted(fields):
        raise ValueError(
            f"{path} has no valid run config (expected the keys {', '.join(fields)}; got "
            f"{config!r})"
        )
    if config["model"] not in TASKS:
        raise ValueError(
            f"{path} is a checkpoint of model {config['model']!r}, which this pydl does not "
            f"have (it has {', '.join(TASKS)})"
        )
    positive = {"epochs": int, "batch_size": int, "lr": (int, float)}
    for name, kind in positive.items():
        value = config[name]
        if isinstance(value, bool) or not isinstance(value, kind) or not value > 0:
            raise ValueError(f"{path} has an invalid run config: {name}={value!r}")
    if not isinstance(config["seed"], int) or config["seed"] < 0:
        raise ValueError(f"{path} has an invalid run config: seed={config['seed']!r}")


def _write(directory: Path, keep: int, state: dict) -> Path:
    epoch, step = state["epoch"], state["step"]
    name = f"epoch-{epoch + 1:04d}-step-{step:06d}" if step else f"epoch-{epoch:04d}"
    path = directory / f"{name}.safetensors"
    pydl.save(state, path)
    for old in checkpoints(directory)[:-keep]:
        old.unlink(missing_ok=True)
    return path


# ----- signals --------------------------------------------------------------------------------


class _Stop:
    signum: Optional[int] = None


@contextmanager
def _stop_on_signals() -> Iterator[_Stop]:
    """SIGINT and SIGTERM set a flag the loop checks between steps, so a checkpoint is
    written from a consistent state instead of an exception tearing a step in half."""
    stop = _Stop()
    if threading.current_thread() is not threading.main_thread():
        yield stop  # only the main thread may install handlers
        return

    def handler(signum: int, frame: Any) -> None:
        stop.signum = signum

    previous = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop
    finally:
        for s, h in previous.items():
            signal.signal(s, h)


# ----- the loop -------------------------------------------------------------------------------


# Apart in seed from the shared stream and from each other: each rank's stream for its
# step's draws (Note [Distributed runs]); the 64-bit golden-ratio increment.
_RANK_STREAM = 0x9E3779B97F4A7C15


class NotDistributable(ValueError):
    """The model's training step is its own (a GAN's, an RBM's): not data-parallel."""


class _Run:
    """A run's objects and counters: what a checkpoint holds."""

    def __init__(self, config: Config, resume: Optional[dict], distributed: bool = False) -> None:
        pydl.manual_seed(config.seed)
        self.config = config
        self.setup = setup = TASKS[config.model].build(config.batch_size, config.lr)
        # Note [Distributed runs]: every rank builds the same run from the same seed, so all
        # draw the same batches; each trains on its share of every batch through
        # DistributedDataParallel, which averages the gradients, with its BatchNorm layers
        # made SyncBatchNorm. The batch size stays the whole batch's: the run computes what
        # one process would, N times as wide. The random stream must stay one: a step's
        # draws (dropout's masks) come from a stream of the rank's own, and after the step
        # every rank moves the shared stream on by what all ranks drew together, as one
        # process drawing for the whole batch would. A stop signal seen by any rank stops
        # all after the same step (a rank left alone would wait in its next all-reduce).
        self.stop: Any = None  # fit's _Stop
        self.ddp = None
        if distributed:
            if setup.step is not None or setup.loss is None or TASKS[config.model].generative:
                trainable = [n for n, t in TASKS.items() if not t.generative]
                raise NotDistributable(
                    f"it trains the classifiers and gpt ({', '.join(trainable)}) through their "
                    f"forward; {config.model} is trained by its own step or its own loss method"
                )
            # BatchNorm normalizes with the whole batch's statistics, as in one process.
            setup.model = nn.SyncBatchNorm.convert_sync_batchnorm(setup.model)
            self.ddp = DistributedDataParallel(setup.model)
        self.steps = min(setup.steps_per_epoch, config.limit or setup.steps_per_epoch)
        self.epoch = 0  # epochs completed
        self.step = 0  # steps into the next epoch
        self.global_step, self.loss_sum, self.loss = 0, 0.0, math.nan
        if resume is not None:
            setup.model.load_state_dict(resume["model"])
            if setup.optimizer is not None:
                setup.optimizer.load_state_dict(resume["optimizer"])
            if setup.scheduler is not None:
                setup.scheduler.load_state_dict(resume["scheduler"])
            self.epoch, self.step = resume["epoch"], resume["step"]
            self.global_step = resume["global_step"]
            self.loss_sum, self.loss = resume["epoch_loss_sum"], resume["loss"]
            pydl.set_rng_state(resume["rng"])
        self.epoch_rng = resume["epoch_rng"] if resume is not None else pydl.get_rng_state()

    def state(self) -> dict:
        setup = self.setup
        return {
            "format": FORMAT,
            "config": asdict(self.config),
            "model": setup.model.state_dict(),
            "optimizer": setup.optimizer.state_dict() if setup.optimizer else None,
            "scheduler": setup.scheduler.state_dict() if setup.scheduler else None,
            "rng": pydl.get_rng_state(),
            "epoch_rng": self.epoch_rng,
            "epoch": self.epoch,
            "step": self.step,
            "global_step": self.global_step,
            "epoch_loss_sum": self.loss_sum,
            "loss": self.loss,
        }

    def batches(self) -> Iterator[Any]:
        """This epoch's batches from the current step on (Note [Exact resume])."""
        batches = self.setup.batches()
        if self.step == 0:
            self.epoch_rng = pydl.get_rng_state()
        else:
            now = pydl.get_rng_state()
            pydl.set_rng_state(self.epoch_rng)
            for _ in range(self.step):
                next(batches)
            pydl.set_rng_state(now)
        return batches

    def train_step(self, x: Any, y: Any) -> float:
        setup = self.setup
        if setup.step is not None:
            self.loss = setup.step(setup.model, setup.optimizer, x, y)
        elif self.ddp is not None:
            self.loss = self._distributed_step(x, y)
        else:
            loss = setup.loss(setup.model, x, y)
            setup.optimizer.zero_grad()
            loss.backward()
            setup.optimizer.step()
            self.loss = loss.item()
        self.step, self.global_step = self.step + 1, self.global_step + 1
        self.loss_sum += self.loss
        return self.loss

    def _distributed_step(self, x: Any, y: Any) -> float:
        """One step on this rank's share of the batch (Note [Distributed runs])."""
        rank, ranks, n = dist.get_rank(), dist.get_world_size(), len(y)
        lo, hi = n * rank // ranks, n * (rank + 1) // ranks
        # The share's mean loss, weighted by its size: DDP's average of the ranks' gradients
        # is then the gradient of the whole batch's mean loss. A rank with no sample (a last
        # batch smaller than the ranks) runs one sample with weight 0: every rank must
        # take part in every gradient average.
        weight = ranks * (hi - lo) / n
        if hi == lo:
            lo, hi = 0, 1
        seed, offset = (int(v) for v in pydl.get_rng_state())
        own_seed = (seed + _RANK_STREAM * (rank + 1)) % 2**64
        pydl.set_rng_state(np.array([own_seed, offset], np.uint64))
        loss = self.setup.loss(self.ddp, x[lo:hi], y[lo:hi]) * weight
        self.setup.optimizer.zero_grad()
        loss.backward()
        self.setup.optimizer.step()
        drawn = int(pydl.get_rng_state()[1]) - offset
        # The whole batch's loss (for the log) and the words drawn, summed over the ranks.
        total = pydl.tensor([loss.item() / ranks, drawn], dtype=pydl.float64)
        dist.all_reduce(total)
        pydl.set_rng_state(np.array([seed, offset + int(total[1].item())], np.uint64))
        seen = self.stop.signum if self.stop is not None else None
        signum = pydl.tensor([seen or 0])
        dist.all_reduce(signum, op=dist.ReduceOp.MAX)
        if signum.item() and self.stop is not None:
            self.stop.signum = int(signum.item())
        return float(total[0].item())

    def end_epoch(self) -> tuple[float, Metric]:
        """Step the scheduler, evaluate; returns the epoch's mean loss and the metric."""
        if self.setup.scheduler is not None:
            self.setup.scheduler.step()
        mean = self.loss_sum / self.steps
        self.epoch, self.step, self.loss_sum = self.epoch + 1, 0, 0.0
        return mean, self.evaluate()

    def evaluate(self) -> Metric:
        model = self.setup.model
        model.eval()
        with pydl.no_grad():
            metric = self.setup.evaluate(model)
        model.train()
        return metric


def fit(
    config: Config,
    *,
    save_dir: Optional[Path] = None,
    keep: int = 3,
    resume: Optional[dict] = None,
    progress: bool = True,
    log: Optional[Callable[[str], None]] = None,
    loss_log: Optional[Path] = None,
    samples: Optional[Path] = None,
    distributed: bool = False,
) -> Result:
    """Train config's task up to config.epochs epochs (continuing the checkpoint `resume`
    if given), evaluating after each epoch and saving to save_dir if given. `log` gets one
    line per epoch; `loss_log` one line per step: the step number and its loss (float.hex,
    so runs compare exactly). A SIGINT or SIGTERM stops the run between two steps, after
    writing a checkpoint if save_dir is given; Result.interrupted names the signal."""
    run = _Run(config, resume, distributed)
    meter = _Meter()
    saved, metric = None, None

    def save() -> Optional[Path]:
        return _write(save_dir, keep, run.state()) if save_dir is not None else saved

    def result(signum: Optional[int] = None) -> Result:
        rate = meter.samples / meter.seconds if meter.seconds else 0.0
        return Result(metric, run.loss, rate, meter.seconds, None, signum, saved)

    with _stop_on_signals() as stop, _loss_file(loss_log) as losses:
        run.stop = stop
        while run.epoch < config.epochs:
            start = time.perf_counter()
            if not _train_epoch(run, meter, stop, losses, progress):
                saved = save()
                return result(stop.signum)
            mean_loss, metric = run.end_epoch()
            saved = save()
            if log is not None:
                log(
                    f"epoch {run.epoch}/{config.epochs} | loss {mean_loss:.4f} | "
                    f"{metric.short} {metric.shown} | {time.perf_counter() - start:.1f} s"
                )
            if stop.signum is not None and run.epoch < config.epochs:
                return result(stop.signum)
    if metric is None:  # resumed a finished run: nothing trained
        metric = run.evaluate()
    out = result()
    if run.setup.epilogue is not None:
        out.epilogue = run.setup.epilogue(run.setup.model)
    if samples is not None and run.setup.sampler is not None:
        run.setup.model.eval()
        with pydl.no_grad():
            evaluation.save_grid(run.setup.sampler(run.setup.model, 64), samples, columns=8)
    return out


@dataclass
class _Meter:
    """Samples trained on and seconds spent in training steps (not evaluating or saving)."""

    samples: int = 0
    seconds: float = 0.0


@contextmanager
def _loss_file(path: Optional[Path]) -> Iterator[Optional[Any]]:
    if path is None:
        yield None
        return
    with open(path, "a") as f:
        yield f


def _train_epoch(run: _Run, meter: _Meter, stop: _Stop, losses: Any, progress: bool) -> bool:
    """Train the rest of the current epoch; False if a signal stopped it before its end."""
    from tqdm import tqdm

    batches = run.batches()
    samples, seconds = 0, 0.0
    with tqdm(
        total=run.steps,
        initial=run.step,
        desc=f"epoch {run.epoch + 1}/{run.config.epochs}",
        unit="step",
        leave=False,
        disable=not progress,
        dynamic_ncols=True,
    ) as bar:
        while run.step < run.steps:
            t0 = time.perf_counter()
            x, y = next(batches)
            loss = run.train_step(x, y)
            took = time.perf_counter() - t0
            samples, seconds = samples + len(y), seconds + took
            meter.samples, meter.seconds = meter.samples + len(y), meter.seconds + took
            if losses is not None:
                losses.write(f"{run.global_step} {loss.hex()}\n")
            bar.set_postfix_str(f"loss {loss:.4f}, {samples / seconds:,.0f} samples/s", False)
            bar.update()
            if stop.signum is not None and run.step < run.steps:
                return False
    return True


def describe_stop(result: Result, command: str) -> str:
    """The one line a stopped run leaves: where it stopped and how to go on."""
    name = signal.Signals(result.interrupted).name if result.interrupted else "signal"
    if result.checkpoint is None:
        return f"{name}: stopped; nothing saved (no --save DIR given)"
    return (
        f"{name}: stopped; saved {result.checkpoint}, continue with: "
        f"{command} --resume {result.checkpoint.parent}"
    )
