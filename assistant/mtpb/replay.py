"""``assistant replay``: one MTPB problem turn by turn, with prompts, code, output and verdict.

With the reference model the code of each turn is known and runs directly; any other model
writes each turn through the engine. ``--step`` waits for Enter between turns.
"""

from __future__ import annotations

import contextlib
import sys
from typing import TYPE_CHECKING, Any

from assistant.execution.result import ExecResult
from assistant.mtpb.grading import Verdict, grade_program
from assistant.mtpb.problems import Problem
from assistant.mtpb.reference import ReferenceModel

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.execution.runtime import Runtime
    from assistant.models.base import Model

_OUT_LINES = 30


def highlight(code: str) -> str:
    """Pygments-coloured code on a terminal, plain text otherwise (pipes, files, tests)."""
    if not sys.stdout.isatty():
        return code
    try:
        from pygments import highlight as _hl
        from pygments.formatters import TerminalFormatter
        from pygments.lexers import PythonLexer
    except ImportError:  # pragma: no cover - pygments is a dependency
        return code
    return str(_hl(code, PythonLexer(), TerminalFormatter()))


def _rule(title: str) -> str:
    return f"── {title} " + "─" * max(4, 60 - len(title))


def _show_result(res: ExecResult) -> None:
    out = res.stdout.rstrip("\n")
    if out:
        lines = out.splitlines()
        shown = lines[-_OUT_LINES:]
        print("output:")
        if len(lines) > len(shown):
            print(f"  [... {len(lines) - len(shown)} earlier lines]")
        for line in shown:
            print(f"  {line}")
    if res.status == "error" and res.error is not None:
        print(f"error: {res.error.summary()}")
    elif res.status != "ok":
        print(f"{res.status}: {res.message}")


def _wait(step: bool) -> None:
    if step:
        with contextlib.suppress(EOFError):  # stdin closed: just go on
            input("[Enter: next turn] ")


async def replay_problem(
    prob: Problem, cases: list[int], model: Any, settings: Any, *, step: bool = False
) -> list[Verdict]:
    from pathlib import Path

    from assistant.execution.choose import session_runtime

    workdir = Path(settings.workdir).expanduser() if settings.workdir else None
    print(f"MTPB problem {prob.id}: {prob.name} [{prob.category}]")
    print(prob.description)
    verdicts: list[Verdict] = []
    for case in cases:
        print()
        print(_rule(f"test case {case}: inputs {prob.inputs[case]!r}"))
        missing = prob.missing_datasets(workdir)
        if missing:
            v = grade_program([], prob.outputs[case], missing_datasets=missing)
            print(f"verdict: {v.describe()}")
            verdicts.append(v)
            continue
        async with session_runtime(settings.kernel_config()) as kernel:
            results = await _run_case(prob, case, model, kernel, settings, step)
        v = grade_program(results, prob.outputs[case], datasets=prob.datasets())
        print(f"verdict: {v.describe()}")
        if v.kind != "wrong":
            print(f"  expected: {prob.outputs[case]!r}")
            if v.actual is not None:
                print(f"  actual:   {v.actual}")
        verdicts.append(v)
    if len(cases) > 1:
        passed = sum(v.passed for v in verdicts)
        print()
        print(f"problem {prob.id}: {passed}/{len(cases)} test cases passed")
        for case, v in zip(cases, verdicts, strict=True):
            print(f"  case {case}: {v.describe()}")
    return verdicts


async def _run_case(
    prob: Problem, case: int, model: Model, kernel: Runtime, settings: Settings, step: bool
) -> list[ExecResult]:
    prompts = prob.filled_prompts(case)
    results: list[ExecResult] = []
    if isinstance(model, ReferenceModel):
        cells = model.cells(prob.id, case, prob.inputs[case])
        for t, (text, code) in enumerate(zip(prompts, cells, strict=False)):
            print(_rule(f"turn {t + 1}/{len(prompts)}"))
            print(f"# {text}")
            print(highlight(code).rstrip("\n"))
            res = await kernel.execute(code, print_last=t == len(cells) - 1)
            _show_result(res)
            results.append(res)
            if not res.ok:
                break
            if t < len(cells) - 1:
                _wait(step)
        return results
    from assistant.engine.engine import Engine
    from assistant.engine.options import EngineOptions
    from assistant.engine.session import Session
    from assistant.models import engine_style
    from assistant.mtpb.engine_run import _chosen, turn_settings

    style = engine_style(model, settings.chat)
    settings = turn_settings(settings, prob, "multi")  # upstream's max_gen_length per turn
    session = Session(model=getattr(model, "name", ""))
    exact = EngineOptions(mtpb_exact=True)  # upstream's prompt bytes and truncation
    engine = Engine(model, kernel, settings, session, None, style, options=exact)
    meta = {"problem": prob.id, "case": case, "sample": 0, "mode": "multi"}
    for t, text in enumerate(prompts):
        print(_rule(f"turn {t + 1}/{len(prompts)}"))
        print(f"# {text}")
        turn = await engine.run_turn(text, print_last=t == len(prompts) - 1, meta=meta)
        for attempt in turn.attempts:
            if attempt.index:
                print(f"[refinement {attempt.index}: told] {attempt.told.strip()[:500]}")
        cand = _chosen(turn)
        if cand is None or cand.result is None:
            print("(no code)")
            results.append(ExecResult(status="error", message="no code was run for this turn"))
            break
        print(highlight(cand.code).rstrip("\n"))
        _show_result(cand.result)
        results.append(cand.result)
        if turn.status != "passed":
            break
        if t < len(prompts) - 1:
            _wait(step)
    return results
