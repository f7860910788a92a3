"""Wall time to grade the reference programs of MTPB: the kernel pool vs a plain exec loop.

    .venv/bin/python bench/bench_grading.py [--mtpb PATH] [--jobs 2]

Grades every test case of every runnable problem (5 x 113 programs) twice:

* the real path: ``runner.run_eval`` over a ``KernelPool`` of ``--jobs`` Jupyter kernels
  (isolation, timeouts, print capture, JSON transport, namespace resets);
* the floor: the same programs ``exec``-ed one after another in this process with a print
  hook, as upstream's harness does (no isolation at all), graded by the same rules.

It prints both times and their ratio: what isolation costs.
"""

from __future__ import annotations

import argparse
import builtins
import contextlib
import io
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.config import Settings
from assistant.mtpb.grading import equivalent
from assistant.mtpb.problems import load_problems, resolve_path
from assistant.mtpb.reference import ReferenceModel
from assistant.mtpb.runner import EvalOptions, ResultStore, make_jobs, run_sync


def exec_loop(programs: list[tuple[list[str], Any]]) -> tuple[float, int]:
    """Run each program in fresh globals with a print hook; returns (seconds, passed)."""
    passed = 0
    real_print = builtins.print
    t0 = time.perf_counter()
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
    return time.perf_counter() - t0, passed


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mtpb")
    ap.add_argument("--jobs", type=int, default=2)
    args = ap.parse_args()
    problems = [p for p in load_problems(resolve_path(args.mtpb)).problems if not p.datasets()]
    model = ReferenceModel(problems={p.id: p for p in problems})
    jobs = make_jobs(problems, 1, ["multi"])

    # The floor. The last cell's bare expression is not auto-printed here; reference programs
    # print explicitly, so the verdicts are comparable.
    programs = [(model.cells(j.problem.id, j.case), j.problem.outputs[j.case]) for j in jobs]
    floor, floor_passed = exec_loop(programs)

    store = ResultStore(None)
    opts = EvalOptions(jobs=args.jobs, progress=False)
    wall = run_sync(jobs, store, opts, Settings(), model)  # includes starting the kernels
    passed = sum(r["verdict"]["kind"] == "pass" for r in store.records.values())

    n = len(jobs)
    print(f"programs: {n} ({len(problems)} runnable problems x 5 test cases)")
    print(
        f"kernel pool, --jobs {args.jobs}: {wall:7.2f} s  ({1000 * wall / n:6.1f} ms/program, "
        f"{passed} passed, kernel start included)"
    )
    print(
        f"in-process exec loop:    {floor:7.2f} s  ({1000 * floor / n:6.1f} ms/program, "
        f"{floor_passed} passed)"
    )
    print(f"ratio pool / exec loop:  {wall / floor:7.1f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
