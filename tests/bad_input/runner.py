"""Runs corpus cases in child processes and classifies each (Note [Bad-input corpus]).

    python tests/bad_input/runner.py [ID_PREFIX ...]    # prints a table of what is not clear/ok

One child runs cases one after another and reports each on a pipe of its own (the case's
output cannot garble it); when a child dies or a case runs past the timeout, the parent
classifies that case, kills the child's process group and starts a fresh child for the rest.
"""

from __future__ import annotations

import importlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
for path in (str(HERE), str(TESTS)):  # cases import each other and tests/op_table.py
    if path not in sys.path:
        sys.path.insert(0, path)

from corpus import Case  # noqa: E402

TIMEOUT = 60.0  # seconds a case may take (the slowest clear ones take well under a second)


def all_cases() -> dict[str, Case]:
    """Every case of every cases_*.py, by id."""
    cases: dict[str, Case] = {}
    for file in sorted(HERE.glob("cases_*.py")):
        for case in importlib.import_module(file.stem).CASES:
            if case.id in cases:
                raise ValueError(f"duplicate case id {case.id!r} in {file.name}")
            cases[case.id] = case
    return cases


def _child(fd: int, ids_file: str) -> None:
    """Runs the ids listed in ids_file, reporting on pipe `fd`: `start ID`, then a JSON
    result."""
    import pydl

    pydl.set_num_threads(2)  # errors inside 2-thread regions are part of what is tested
    cases = all_cases()
    with os.fdopen(fd, "w", buffering=1) as report:
        for case_id in Path(ids_file).read_text().split():
            case = cases[case_id]
            report.write(f"start {case.id}\n")
            kind, detail = case.run()
            report.write(json.dumps([case.id, kind, detail]) + "\n")


def run_cases(ids: list[str], timeout: float = TIMEOUT) -> dict[str, tuple[str, str]]:
    """Classifies each case id, running them in as few children as crashes and hangs allow."""
    results: dict[str, tuple[str, str]] = {}
    pending = list(ids)
    ids_file = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
    ids_file.close()
    while pending:
        Path(ids_file.name).write_text("\n".join(pending))
        read_end, write_end = os.pipe()
        child = subprocess.Popen(
            [sys.executable, __file__, "--child", str(write_end), ids_file.name],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(write_end,),
            start_new_session=True,
            text=True,
        )
        os.close(write_end)
        current, buffer = None, b""
        deadline = time.monotonic() + timeout + 30  # + the child's start (imports)
        while True:
            ready, _, _ = select.select([read_end], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:  # the current case (or the start-up) hangs
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()
                victim = current or next(i for i in pending if i not in results)
                results[victim] = ("hang", f"no result within {timeout:.0f} s")
                break
            chunk = os.read(read_end, 65536)
            if not chunk:  # the child is gone
                err = child.stderr.read()
                code = child.wait()
                left = [i for i in pending if i not in results]
                victim = current or (left[0] if left else None)
                if victim is not None:  # died in a case, or between cases (at start-up)
                    results[victim] = ("crash", f"exit status {code}: {err[-1500:]}")
                break
            buffer += chunk
            *lines, buffer = buffer.split(b"\n")
            for raw in lines:
                line = raw.decode()
                if line.startswith("start "):
                    current = line[6:]
                    deadline = time.monotonic() + timeout
                else:
                    case_id, kind, detail = json.loads(line)
                    results[case_id] = (kind, detail)
                    current = None
        os.close(read_end)
        if child.poll() is None:
            child.kill()
        child.wait()
        child.stderr.close()
        pending = [i for i in pending if i not in results]
    os.unlink(ids_file.name)
    return results


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(int(sys.argv[2]), sys.argv[3])
        return
    ids = [i for i in all_cases() if not sys.argv[1:] or i.startswith(tuple(sys.argv[1:]))]
    results = run_cases(ids)
    counts: dict[str, int] = {}
    for case_id in ids:
        kind, detail = results[case_id]
        counts[kind] = counts.get(kind, 0) + 1
        if kind not in ("clear", "ok"):
            print(f"{kind:9s} {case_id}: {detail.strip()[:400]}")
    print(f"{len(ids)} cases: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))


if __name__ == "__main__":
    main()
