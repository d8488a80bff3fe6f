"""The `pydl` command (also `python -m pydl`).

    pydl train [MODEL] [--epochs N --batch-size N --lr X --seed N] [--save DIR [--keep N]]
               [--resume DIR] [--threads N --backend core|reference --no-progress]
    pydl info
    pydl bench [WORKLOAD ...] [--rounds N --threads N --peers torch,torch_compile,jax]
               [--compile]

This module parses and checks arguments and prints; what `train` trains lives in
pydl/_tasks.py (one Task per model), how in pydl/_trainer.py (one loop for all), and what
`bench` times in pydl/_workloads.py (shared with benchmarks/).
"""

from __future__ import annotations

import argparse
import math
import statistics
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Callable, Optional

import numpy

import pydl

from . import _trainer
from . import distributed as dist
from ._tasks import TASKS
from ._trainer import Config
from ._workloads import WORKLOADS

# A resumed run keeps these settings (they rebuild it); --epochs may change to extend it.
_REBUILD = ("batch_size", "lr", "seed", "limit")


def _positive(kind: Callable[[str], Any], what: str) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
        if not value > 0 or (isinstance(value, float) and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"must be {what}, got {text}")
        return value

    return parse


_count = _positive(int, "a positive integer")
_rate = _positive(float, "a positive number")


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a non-negative integer, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pydl", description="pydl: train the bundled models, show the build, benchmark."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    models = "\n".join(
        f"  {name:5s} {t.help}\n"
        f"        default: {t.epochs} epochs, batch size {t.batch_size}, lr {t.lr:g}"
        for name, t in TASKS.items()
    )
    t = sub.add_parser(
        "train",
        help="train a bundled model (default: the MLP on the 8x8 digits)",
        description="Train a model on bundled data; evaluate after every epoch.",
        epilog=f"models:\n{models}\n\nCtrl-C stops between two steps, saving a checkpoint "
        "with --save; --resume continues it exactly.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    t.add_argument(
        "model", nargs="?", choices=list(TASKS), metavar="MODEL",
        help=f"one of {', '.join(TASKS)} (default: mlp; when resuming: the checkpoint's)",
    )  # fmt: skip
    t.add_argument("--epochs", type=_count, help="epochs in all (default: the model's)")
    t.add_argument("--batch-size", type=_count, help="default: the model's")
    t.add_argument("--lr", type=_rate, help="learning rate (default: the model's)")
    t.add_argument("--seed", type=_seed, help="default: 0")
    t.add_argument("--threads", type=_count, help="default: OMP_NUM_THREADS or all cores")
    t.add_argument("--backend", choices=["core", "reference"], help="default: PYDL_BACKEND or core")
    t.add_argument("--no-progress", action="store_true", help="no progress bar")
    t.add_argument("--save", type=Path, metavar="DIR", help="write a checkpoint every epoch")
    t.add_argument("--keep", type=_count, default=3, help="checkpoints kept (default: 3)")
    t.add_argument(
        "--resume", type=Path, metavar="DIR", help="continue from DIR's newest checkpoint "
        "(saving there too unless --save says otherwise)"
    )  # fmt: skip
    t.add_argument(
        "--samples", type=Path, metavar="PNG", help="a generative model: write a grid of 64 "
        "samples to this PNG file after training (needs Pillow)"
    )  # fmt: skip
    t.add_argument(
        "--distributed",
        action="store_true",
        help="data-parallel over the ranks of `mpiexec -n N` (needs pydl[mpi]); rank 0 "
        "prints and saves",
    )
    # for tests: short epochs, and every step's loss written out exactly
    t.add_argument("--limit", type=_count, help=argparse.SUPPRESS)
    t.add_argument("--loss-log", type=Path, help=argparse.SUPPRESS)

    sub.add_parser("info", help="show the build: version, compiler, SIMD, threads, wait policy")

    b = sub.add_parser(
        "bench",
        help="time training steps of the standard workloads, beside PyTorch's if installed",
        description="Median step time of each workload. With PyTorch installed, every round "
        "runs one pydl step, then one PyTorch step, and the ratio is the median of the "
        "rounds' ratios (steady on a machine whose speed drifts). --peers adds torch.compile "
        "and JAX (jit + optax), each round running one step of every runtime in turn; the "
        "ratio is then pydl's to the fastest peer's.",
        epilog="workloads:\n" + "\n".join(f"  {n:7s}{w.description}" for n, w in WORKLOADS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    b.add_argument("workloads", nargs="*", metavar="WORKLOAD", help="default: all")
    b.add_argument("--rounds", type=_count, default=10, help="timed steps each (default: 10)")
    b.add_argument("--threads", type=_count, help="for pydl and the peers (default: pydl's)")
    b.add_argument(
        "--peers", metavar="LIST", help="comma-separated, of torch, torch_compile (the model "
        "under torch.compile), jax (jit + optax); the last two run mlp128 cnn lstm gru gpt; "
        "a peer not installed is left out (default: torch)"
    )  # fmt: skip
    b.add_argument(
        "--compile", action="store_true", help="time pydl's steps under pydl.compile (their "
        "kernels recorded, then replayed without Python per op)"
    )  # fmt: skip
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        if args.command == "train":
            return _train(parser, args)
        if args.command == "info":
            return _info()
        return _bench(parser, args)
    except KeyboardInterrupt:  # outside the training loop, which handles it itself
        print("interrupted", file=sys.stderr)
        return 130


# ----- train ----------------------------------------------------------------------------------


def _config(parser: argparse.ArgumentParser, args: argparse.Namespace) -> tuple[Config, Any]:
    """The run's Config (defaults from the model's Task, or from the checkpoint when
    resuming) and the checkpoint to resume, or None; a bad combination is a usage error."""
    resume = None
    if args.resume is not None:
        try:
            path, resume = _trainer.read_checkpoint(args.resume)
        except (ValueError, OSError) as e:
            parser.error(f"argument --resume: {e}")
        saved = resume["config"]
        if args.model is not None and args.model != saved["model"]:
            parser.error(
                f"argument --resume: {path} is a checkpoint of {saved['model']!r}, "
                f"not {args.model!r}"
            )
        for name in _REBUILD:
            given = getattr(args, name)
            if given is not None and given != saved[name]:
                parser.error(
                    f"argument --{name.replace('_', '-')}: {given} differs from the "
                    f"checkpoint's {saved[name]} (a resumed run keeps its settings)"
                )
        return Config(**{**saved, "epochs": args.epochs or saved["epochs"]}), resume
    task = TASKS[args.model or "mlp"]
    config = Config(
        model=args.model or "mlp",
        epochs=args.epochs or task.epochs,
        batch_size=args.batch_size or task.batch_size,
        lr=args.lr or task.lr,
        seed=args.seed or 0,
        limit=args.limit,
    )
    return config, None


def _set_threads(parser: argparse.ArgumentParser, threads: Optional[int]) -> None:
    """--threads, checked by pydl.set_num_threads itself (it knows the upper bound)."""
    if threads:
        try:
            pydl.set_num_threads(threads)
        except ValueError as e:
            parser.error(f"argument --threads: {e}")


def _train(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    config, resume = _config(parser, args)
    if args.distributed:
        try:
            dist.init()
        except ImportError as e:
            parser.error(f"argument --distributed: {e}")
    # Every rank checks the arguments, so that a usage error ends all ranks alike (one left
    # alone would wait in its first collective); only rank 0 writes.
    save_dir = _check_outputs(
        parser, args, config, create=not args.distributed or dist.get_rank() == 0
    )
    if args.distributed:
        return _train_distributed(parser, args, config, resume, save_dir)
    return _train_single(parser, args, config, resume, save_dir)


def _check_outputs(
    parser: argparse.ArgumentParser, args: argparse.Namespace, config: Config, create: bool
) -> Optional[Path]:
    """The checkpoint directory (made when `create`), after checking every output path."""
    if args.samples is not None and not TASKS[config.model].generative:
        parser.error(f"argument --samples: {config.model} is not a generative model")
    save_dir = args.save or args.resume
    if save_dir is not None:
        if save_dir.exists() and not save_dir.is_dir():
            parser.error(f"argument --save: {save_dir} is not a directory")
        resuming_here = args.resume is not None and save_dir.resolve() == args.resume.resolve()
        if not resuming_here and _trainer.checkpoints(save_dir):
            # pruning would mix the two runs' files: keep the old run's whole
            parser.error(
                f"argument --save: {save_dir} holds checkpoints of another run; "
                f"continue it with --resume {save_dir} or choose another directory"
            )
        try:
            if create:
                save_dir.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            parser.error(f"argument --save: cannot create the directory {save_dir}: {e.strerror}")
    for flag, path in (("--samples", args.samples), ("--loss-log", args.loss_log)):
        if path is not None and not path.resolve().parent.is_dir():
            parser.error(
                f"argument {flag}: cannot write {path}: {path.resolve().parent} is not a directory"
            )
    return save_dir


def _train_single(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    config: Config,
    resume: Any,
    save_dir: Optional[Path],
    distributed: bool = False,
) -> int:
    _set_threads(parser, args.threads)
    if args.backend:
        pydl.set_backend(args.backend)
    info = pydl.build_info()
    print(
        f"pydl {_version()} | {config.model} | backend {pydl.get_backend()} | "
        f"{_threads(pydl.get_num_threads())} | SIMD {info['simd']}",
        flush=True,
    )
    if resume is not None:
        print(
            f"resuming from {args.resume} at epoch {resume['epoch'] + 1}, step {resume['step']}",
            flush=True,
        )
    result = _trainer.fit(
        config,
        save_dir=save_dir,
        keep=args.keep,
        resume=resume,
        progress=not args.no_progress,
        log=lambda line: print(line, flush=True),  # flushed: a parent may wait for it
        loss_log=args.loss_log,
        samples=args.samples,
        distributed=distributed,
    )
    if result.interrupted is not None:
        command = "pydl train " + config.model
        print(_trainer.describe_stop(result, command), file=sys.stderr)
        return 128 + result.interrupted
    print(
        f"{result.metric.name} {result.metric.shown} | final loss {result.loss:.4f} | "
        f"{result.samples_per_second:,.0f} samples/s over {result.seconds:.1f} s"
    )
    if result.epilogue is not None:
        print(result.epilogue)
    if args.samples is not None:
        print(f"samples: {args.samples}")
    return 0


def _train_distributed(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    config: Config,
    resume: Any,
    save_dir: Optional[Path],
) -> int:
    """`pydl train --distributed` on one rank of an MPI job: rank 0 runs what `pydl train`
    runs (prints, progress bar, checkpoints); the other ranks train silently beside it."""
    if not args.threads:
        args.threads = _threads_per_rank()
    try:  # a model --distributed cannot train is refused on every rank alike
        if dist.get_rank() != 0:
            _set_threads(parser, args.threads)
            if args.backend:
                pydl.set_backend(args.backend)
            quiet = _trainer.fit(config, resume=resume, progress=False, distributed=True)
            return 0 if quiet.interrupted is None else 128 + quiet.interrupted
        print(f"distributed: {dist.get_world_size()} ranks", flush=True)
        return _train_single(parser, args, config, resume, save_dir, distributed=True)
    except _trainer.NotDistributable as e:
        parser.error(f"argument --distributed: {e}")


def _threads_per_rank() -> int:
    """The default threads of a rank: this machine's cores shared by its ranks."""
    return max(1, pydl.get_num_threads() // dist.get_local_world_size())


def train(
    epochs: Optional[int] = None,
    batch_size: Optional[int] = None,
    lr: Optional[float] = None,
    seed: int = 0,
    progress: bool = True,
    model: str = "mlp",
) -> dict:
    """Train one of `pydl train`'s models in this process (no checkpoints); returns its
    metric (e.g. "test_accuracy"), the final loss and the throughput."""
    if model not in TASKS:
        raise ValueError(f"train: unknown model {model!r} (choose from {', '.join(TASKS)})")
    for name, value in (("epochs", epochs), ("batch_size", batch_size)):
        if value is not None and (type(value) is not int or value <= 0):
            raise ValueError(f"train: {name} must be a positive integer or None, got {value!r}")
    if lr is not None and (
        isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < math.inf
    ):
        raise ValueError(f"train: lr must be a positive finite number or None, got {lr!r}")
    if type(seed) is not int or seed < 0:
        raise ValueError(f"train: seed must be a non-negative integer, got {seed!r}")
    task = TASKS[model]
    config = Config(
        model, epochs or task.epochs, batch_size or task.batch_size, lr or task.lr, seed
    )
    r = _trainer.fit(config, progress=progress, log=print if progress else None)
    return {
        r.metric.key: r.metric.value,
        "loss": r.loss,
        "samples_per_second": r.samples_per_second,
        "seconds": r.seconds,
    }


# ----- info and bench -------------------------------------------------------------------------


def _version() -> str:
    version = pydl.build_info()["version"]
    if not version:  # an in-place build: CMake was not given the package's version
        try:
            from importlib.metadata import version as installed

            version = installed("pydl")
        except Exception:
            version = "(in-place build)"
    return version


def _threads(n: int) -> str:
    return f"{n} thread" if n == 1 else f"{n} threads"


def _info() -> int:
    info = pydl.build_info()
    rows = [
        ("version", _version()),
        ("compiler", info["compiler"]),
        ("wait policy", info["wait_policy"]),
        ("SIMD", info["simd"]),
        ("threads", str(pydl.get_num_threads())),
        ("backend", pydl.get_backend()),
        ("python", sys.version.split()[0]),
        ("numpy", numpy.__version__),
    ]
    for key, value in rows:
        print(f"{key:9s} {value}")
    return 0


def _peer_list(parser: argparse.ArgumentParser, text: Optional[str]) -> list[str]:
    """--peers: a comma-separated list of pydl._peers.PEERS (default: torch)."""
    from ._peers import PEERS

    peers = [p.strip() for p in (text if text is not None else "torch").split(",") if p.strip()]
    unknown = [p for p in peers if p not in PEERS]
    if unknown:
        parser.error(f"argument --peers: unknown {unknown} (choose from {', '.join(PEERS)})")
    return list(dict.fromkeys(peers))


def _bench(parser: argparse.ArgumentParser, args: argparse.Namespace) -> int:
    from . import _peers

    names = args.workloads or list(WORKLOADS)
    unknown = [n for n in names if n not in WORKLOADS]
    if unknown:
        parser.error(f"argument WORKLOAD: unknown {unknown} (choose from {', '.join(WORKLOADS)})")
    peers = _peer_list(parser, args.peers)
    _set_threads(parser, args.threads)
    threads = pydl.get_num_threads()
    _peers.set_num_threads(threads)
    print(
        f"pydl {_version()}{' (pydl.compile)' if args.compile else ''} | {_threads(threads)} | "
        f"SIMD {pydl.build_info()['simd']} | "
        + "".join(f"{_peers.version(p)} | " for p in peers)
        + f"median of {args.rounds} rounds, ms per training step",
        flush=True,
    )
    peers = [p for p in peers if _peers.unavailable(p) is None]
    widths = {p: max(10, len(p) + 2) for p in peers}
    versus = f"pydl/{peers[0]}" if len(peers) == 1 else "pydl/fastest"
    print(
        f"{'workload':9s}{'pydl':>10s}"
        + "".join(f"{p:>{widths[p]}s}" for p in peers)
        + (f"{versus:>{len(versus) + 2}s}" if peers else "")
    )
    notes: dict[tuple[str, str], list[str]] = {}  # (peer, why) -> the workloads it missed
    for name in names:
        step = _peers.build("pydl_compile", name) if args.compile else None
        if args.compile and step is None:  # the capture refused: the eager step, and why
            why = str(_peers.unavailable("pydl_compile", name))
            notes.setdefault(("pydl.compile", why), []).append(name)
        steps = {"pydl": step or WORKLOADS[name].build()}
        for p in peers:
            step = _peers.build_peer(p, name)  # compiled here, before any timed step
            if step is None:
                notes.setdefault((p, str(_peers.unavailable(p, name))), []).append(name)
            else:
                steps[p] = step
        times = _peers.measure(steps, args.rounds, WORKLOADS[name].calls)
        row = f"{name:9s}{statistics.median(times['pydl']) * 1e3:10.4g}"
        for p in peers:
            cell = f"{statistics.median(times[p]) * 1e3:.4g}" if p in times else "-"
            row += f"{cell:>{widths[p]}s}"
        ran = [p for p in peers if p in times]
        if ran:  # the median of the rounds' ratios to the peer with the lowest median
            fastest = min(ran, key=lambda p: statistics.median(times[p]))
            ratio = statistics.median(m / t for m, t in zip(times["pydl"], times[fastest]))
            row += f"{ratio:{len(versus) + 2}.2f}" + (f" {fastest:13s}" if len(peers) > 1 else "")
        elif peers:
            row += f"{'-':>{len(versus) + 2}s}"
        print(f"{row}   {WORKLOADS[name].description}", flush=True)
    for (p, why), missed in notes.items():
        what = "ran eagerly" if p == "pydl.compile" else "not timed"
        print(f"{p} {what} on {', '.join(missed)}: {why}")
    return 0
