"""Wall time to grade the reference programs of MTPB: ``assistant eval`` vs a plain exec loop.

    .venv/bin/python bench/bench_grading.py [--mtpb PATH] [--jobs 1 2] [--upstream]
        [--runtime fork] [--repeat 1]

Grades every test case of every runnable problem (5 x 113 programs), each timed as a whole
command (interpreter start, imports and all), one after the other in this run:

* the real path: ``assistant eval --model reference --jobs N`` (isolation, timeouts, print
  capture, grading twice, the summary);
* the floor: one Python process that imports what the programs import (numpy, pandas,
  sklearn...), then ``exec``-s each program in fresh globals with a print override, as
  upstream's harness does (no isolation at all: a program's module changes reach the next).

It prints both times and their ratio: what isolation costs. ``--runtime jupyter`` times the
pooled Jupyter kernels instead of the fork server; ``--upstream`` grades each program twice
(this project's verdict and upstream's run); several ``--jobs`` values (``--jobs 1 2``) are run
interleaved with the floor, ``--repeat`` times, so their ratios are measured under the same
load; it prints medians and each run's ratio to the floor run just before it.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import io
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def exec_loop(mtpb: str | None) -> int:
    """The floor, run as its own command: returns the number of programs that passed."""
    from assistant.mtpb.grading import equivalent
    from assistant.mtpb.problems import load_problems, resolve_path
    from assistant.mtpb.reference import ReferenceModel
    from assistant.mtpb.runner import _IMPORT, make_jobs

    problems = [p for p in load_problems(resolve_path(mtpb)).problems if not p.datasets()]
    model = ReferenceModel(problems={p.id: p for p in problems})
    jobs = make_jobs(problems, 1, ["multi"])
    programs = [(model.cells(j.problem.id, j.case), j.problem.outputs[j.case]) for j in jobs]
    # The same imports as the programs, once (an in-process harness pays them once too).
    for cells, _ in programs:
        for name in _IMPORT.findall("\n".join(cells)):
            with contextlib.suppress(Exception):
                __import__(name)
    passed = 0
    real_print = builtins.print
    for cells, expected in programs:
        stack: list[tuple[Any, ...]] = []

        def hook(*args: Any, _stack: list[tuple[Any, ...]] = stack, **kwargs: Any) -> None:
            _stack.append(args)
            real_print(*args, **kwargs)

        env: dict[str, Any] = {"__name__": "__main__", "print": hook}
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                for code in cells:
                    exec(compile(code, "<program>", "exec"), env)
            except Exception:
                pass
        if stack and stack[-1] and equivalent(stack[-1][0], expected)[0]:
            passed += 1
    return passed


def timed(argv: list[str]) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, cwd=ROOT, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(argv)} failed:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")
    return wall, proc.stdout


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mtpb")
    ap.add_argument("--jobs", type=int, nargs="+", default=[2])
    ap.add_argument("--upstream", action="store_true")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--runtime", choices=["fork", "jupyter"], default="fork")
    ap.add_argument("--floor-only", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    mtpb = ["--mtpb", args.mtpb] if args.mtpb else []
    if args.floor_only:
        print(exec_loop(args.mtpb))
        return 0

    py = sys.executable
    n = 565
    print(f"programs: {n} (113 runnable problems x 5 test cases)")
    up = ["--upstream"] if args.upstream else []
    floors: list[float] = []
    walls: dict[int, list[float]] = {j: [] for j in args.jobs}
    for _ in range(max(1, args.repeat)):
        # Interleaved, the floor too: each command sees the same state of the machine.
        floor, out = timed([py, __file__, "--floor-only", *mtpb])
        floors.append(floor)
        floor_passed = int(out.strip().splitlines()[-1])
        print(
            f"in-process exec loop (same imports):  {floor:6.2f} s "
            f"({1000 * floor / n:5.1f} ms/program, {floor_passed} passed)"
        )
        for jobs in args.jobs:
            argv = [py, "-m", "assistant.cli", "eval", "--model", "reference"]
            argv += ["--jobs", str(jobs), "--runtime", args.runtime, *up, *mtpb]
            wall, out = timed(argv)
            walls[jobs].append(wall)
            tail = [ln.strip() for ln in out.splitlines() if ln.startswith("samples:")][:1]
            print(
                f"assistant eval --jobs {jobs} --runtime {args.runtime} {' '.join(up)}: "
                f"{wall:6.2f} s ({1000 * wall / n:5.1f} ms/program, {' '.join(tail)}); "
                f"{wall / floor:5.2f}x the exec loop"
            )
    med = statistics.median
    for j, w in walls.items():
        ratios = sorted(x / f for x, f in zip(w, floors, strict=True))
        print(
            f"--jobs {j}: median {med(w):.2f} s vs the exec loop's {med(floors):.2f} s: "
            f"{med(w) / med(floors):.2f}x (each run against its own floor: "
            f"{', '.join(f'{r:.2f}' for r in ratios)})"
        )
    if len(args.jobs) > 1:
        first = args.jobs[0]
        for j in args.jobs[1:]:
            print(
                f"--jobs {j} / --jobs {first} (medians of {args.repeat}): "
                f"{med(walls[j]) / med(walls[first]):.2f}"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
