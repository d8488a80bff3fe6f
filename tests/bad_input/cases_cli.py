"""The `pydl` command (pydl/cli.py main(argv)) given bad arguments (Note [Bad-input corpus]):
each must be a usage error (SystemExit 2, argparse's message on stderr naming the flag), never
a traceback and never a training run. A SystemExit case's message is "SystemExit: 2" plus
what was written to stderr (the runner appends it)."""

import os
import tempfile

from corpus import bad

import pydl
from pydl import cli

CASES: list = []


def _main(*argv):
    return lambda: cli.main(list(argv))


def _usage(id, argv, match):
    """A usage error: exit status 2 and a message matching `match` on stderr."""
    bad(CASES, id, _main(*argv), SystemExit, r"^SystemExit: 2\b.*" + match)


# ----- parsing --------------------------------------------------------------------------------

_usage("cli.no_command", [], r"required: command")
_usage("cli.unknown_command", ["fit"], r"invalid choice: 'fit'")
_usage("cli.train.unknown_model", ["train", "resnet"], r"argument MODEL: invalid choice: 'resnet'")
_usage("cli.train.unknown_flag", ["train", "--epcohs=2"], r"unrecognized arguments: --epcohs=2")
_usage("cli.train.unknown_flag_value", ["train", "--bogus"], r"unrecognized arguments: --bogus")
_usage("cli.train.epochs_negative", ["train", "--epochs", "-1"], r"--epochs.*-1")
_usage("cli.train.epochs_zero", ["train", "--epochs", "0"], r"--epochs.*positive integer.*0")
_usage("cli.train.epochs_text", ["train", "--epochs", "abc"], r"--epochs.*'abc'")
_usage("cli.train.epochs_float", ["train", "--epochs", "2.5"], r"--epochs.*'2\.5'")
_usage("cli.train.epochs_missing_value", ["train", "--epochs"], r"--epochs.*expected one argument")
_usage("cli.train.lr_nan", ["train", "--lr", "nan"], r"--lr.*positive number.*nan")
_usage("cli.train.lr_inf", ["train", "--lr", "inf"], r"--lr.*positive number.*inf")
_usage("cli.train.lr_negative", ["train", "--lr", "-0.1"], r"--lr.*-0\.1")
_usage("cli.train.lr_zero", ["train", "--lr", "0"], r"--lr.*positive number.*0")
_usage("cli.train.lr_text", ["train", "--lr", "fast"], r"--lr.*'fast'")
_usage("cli.train.batch_size_zero", ["train", "--batch-size", "0"], r"--batch-size.*0")
_usage("cli.train.batch_size_text", ["train", "--batch-size", "big"], r"--batch-size.*'big'")
_usage("cli.train.threads_zero", ["train", "--threads", "0"], r"--threads.*0")
_usage("cli.train.threads_huge", ["train", "--threads", "100000"], r"--threads.*100000")
_usage("cli.train.threads_text", ["train", "--threads", "all"], r"--threads.*'all'")
_usage(
    "cli.train.backend_bogus", ["train", "--backend", "cuda"], r"--backend.*invalid choice: 'cuda'"
)
_usage("cli.train.seed_negative", ["train", "--seed", "-3"], r"--seed.*'-3'")
_usage("cli.train.seed_text", ["train", "--seed", "x"], r"--seed.*'x'")
_usage("cli.train.keep_zero", ["train", "--keep", "0"], r"--keep.*0")
_usage("cli.train.limit_zero", ["train", "--limit", "0"], r"--limit.*0")
_usage(
    "cli.train.samples_not_generative",
    ["train", "mlp", "--samples", "x.png"],
    r"--samples.*mlp.*not a generative",
)
_usage("cli.bench.unknown_workload", ["bench", "resnet"], r"WORKLOAD.*unknown.*resnet")
_usage("cli.bench.rounds_zero", ["bench", "--rounds", "0"], r"--rounds.*0")
_usage("cli.bench.threads_huge", ["bench", "mlp8", "--threads", "5000"], r"--threads.*5000")
_usage("cli.info.extra_argument", ["info", "now"], r"unrecognized arguments: now")

# ----- --resume and --save --------------------------------------------------------------------


def _tmp():
    return tempfile.mkdtemp(prefix="pydl-cli-case-")


def _resume_missing():
    return cli.main(["train", "--resume", os.path.join(_tmp(), "nowhere")])


bad(
    CASES,
    "cli.train.resume_missing_dir",
    _resume_missing,
    SystemExit,
    r"SystemExit: 2.*--resume.*no checkpoint.*nowhere",
)


def _resume_empty():
    return cli.main(["train", "--resume", _tmp()])


bad(
    CASES,
    "cli.train.resume_empty_dir",
    _resume_empty,
    SystemExit,
    r"SystemExit: 2.*--resume.*no checkpoint",
)


def _resume_file(content: bytes, name="epoch-0001.safetensors"):
    def call():
        d = _tmp()
        with open(os.path.join(d, name), "wb") as f:
            f.write(content)
        return cli.main(["train", "--resume", d])

    return call


bad(
    CASES,
    "cli.train.resume_corrupt_checkpoint",
    _resume_file(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json"),
    SystemExit,
    r"SystemExit: 2.*--resume.*not a valid checkpoint",
)
bad(
    CASES,
    "cli.train.resume_empty_checkpoint",
    _resume_file(b""),
    SystemExit,
    r"SystemExit: 2.*--resume.*not a valid checkpoint",
)


def _resume_saved(state):
    def call():
        d = _tmp()
        pydl.save(state, os.path.join(d, "epoch-0001.safetensors"))
        return cli.main(["train", "--resume", d])

    return call


bad(
    CASES,
    "cli.train.resume_not_a_train_checkpoint",
    _resume_saved({"weight": pydl.ones(2)}),
    SystemExit,
    r"SystemExit: 2.*--resume.*not a `pydl train` checkpoint",
)
bad(
    CASES,
    "cli.train.resume_checkpoint_without_config",
    _resume_saved({"format": "pydl-train-1", "epoch": 1}),
    SystemExit,
    r"SystemExit: 2.*--resume.*config",
)
bad(
    CASES,
    "cli.train.resume_checkpoint_unknown_model",
    _resume_saved(
        {
            "format": "pydl-train-1",
            "config": {
                "model": "resnet",
                "epochs": 1,
                "batch_size": 8,
                "lr": 0.1,
                "seed": 0,
                "limit": None,
            },
        }
    ),
    SystemExit,
    r"SystemExit: 2.*--resume.*model 'resnet'",
)
bad(
    CASES,
    "cli.train.resume_checkpoint_bad_config",
    _resume_saved({"format": "pydl-train-1", "config": {"model": "mlp", "epochs": "two"}}),
    SystemExit,
    r"SystemExit: 2.*--resume.*config",
)


def _save_to_file():
    path = os.path.join(_tmp(), "a-file")
    open(path, "w").close()
    return cli.main(["train", "--save", path])


bad(
    CASES,
    "cli.train.save_to_a_file",
    _save_to_file,
    SystemExit,
    r"SystemExit: 2.*--save.*not a directory",
)
bad(
    CASES,
    "cli.train.save_under_a_file",
    _main("train", "--save", os.path.join(os.path.abspath(__file__), "checkpoints")),
    SystemExit,
    r"SystemExit: 2.*--save.*cannot create.*checkpoints",
)
bad(
    CASES,
    "cli.train.save_unwritable",
    _main("train", "--save", "/proc/pydl-checkpoints"),
    SystemExit,
    r"SystemExit: 2.*--save.*/proc/pydl-checkpoints",
)


def _save_into_other_run():
    d = _tmp()
    pydl.save({"x": pydl.ones(1)}, os.path.join(d, "epoch-0002.safetensors"))
    return cli.main(["train", "--save", d])


bad(
    CASES,
    "cli.train.save_into_other_run",
    _save_into_other_run,
    SystemExit,
    r"SystemExit: 2.*--save.*checkpoints of another run",
)
_usage(
    "cli.train.samples_under_a_file",
    ["train", "vae", "--samples", os.path.join(os.path.abspath(__file__), "s.png")],
    r"--samples.*cannot write.*s\.png",
)

# ----- pydl.cli.train, the same runs from Python ----------------------------------------------

bad(
    CASES,
    "cli.train_fn.unknown_model",
    lambda: cli.train(model="resnet"),
    ValueError,
    r"unknown model 'resnet'",
)
bad(
    CASES,
    "cli.train_fn.epochs_zero",
    lambda: cli.train(epochs=0),
    ValueError,
    r"epochs.*positive integer.*0",
)
bad(CASES, "cli.train_fn.epochs_float", lambda: cli.train(epochs=1.5), ValueError, r"epochs.*1\.5")
bad(
    CASES,
    "cli.train_fn.batch_size_negative",
    lambda: cli.train(batch_size=-8),
    ValueError,
    r"batch_size.*-8",
)
bad(CASES, "cli.train_fn.lr_nan", lambda: cli.train(lr=float("nan")), ValueError, r"lr.*nan")
bad(CASES, "cli.train_fn.lr_str", lambda: cli.train(lr="0.1"), ValueError, r"lr.*'0\.1'")
bad(CASES, "cli.train_fn.seed_negative", lambda: cli.train(seed=-1), ValueError, r"seed.*-1")
