"""``assistant demo``: a built-in problem solved turn by turn, with no model file and no data.

The problem itself is in ``demo_problem``. ``--plain`` prints to stdout, and so does a run
without a terminal (a pipe, CI); otherwise the Textual app plays it, started through
``assistant.frontends.tui.launch`` (imported only then, so the core stays Textual-free).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from assistant.config import Settings
from assistant.frontends.demo_problem import (
    BUILTIN,
    TURN_PAUSE_FACTOR,
    DemoProblem,
    demo_model,
    turn_kwargs,
)
from assistant.frontends.terminal import has_terminal


async def play_plain(settings: Settings, problem: DemoProblem, fast: bool) -> int:
    from assistant.frontends.controller import Controller
    from assistant.frontends.textview import TextView, describe_line

    delay = 0.0 if fast else settings.demo_delay
    view = TextView(lambda line: print(line, flush=True))
    ctl = Controller(settings, view, model=demo_model(problem, delay), autosave_enabled=False)
    print(f"Demo: {problem.name} ({len(problem.turns)} turns)")
    print("model: " + describe_line(ctl.describe_model()))
    await ctl.start()
    failed = 0
    try:
        for i, turn in enumerate(problem.turns):
            if i and not fast:
                await asyncio.sleep(delay * TURN_PAUSE_FACTOR)
            result = await ctl.run_turn(turn.text, **turn_kwargs(problem, i))
            failed += getattr(result, "status", "passed") != "passed"
    finally:
        await ctl.close()
    print()
    print(f"Demo finished: {len(problem.turns) - failed} of {len(problem.turns)} turns passed.")
    print("Program:")
    for line in ctl.session.program().splitlines():
        print("    " + line)
    return 0 if failed == 0 else 1


async def play_mtpb_plain(settings: Settings, problem: Any, case: int, reference: bool) -> int:
    """Play one MTPB problem turn by turn, printed (``assistant demo --problem ID --plain``)."""
    from assistant.frontends.controller import Controller
    from assistant.frontends.textview import TextView
    from assistant.mtpb.play import play_problem

    view = TextView(lambda line: print(line, flush=True))
    ctl = Controller(settings, view, autosave_enabled=False)
    source = "reference solutions" if reference else str(settings.model)
    print(f"MTPB {problem.id}: {problem.name} (test case {case + 1}, {source})")
    await ctl.start()
    try:
        verdict = await play_problem(ctl, problem, case, reference)
    finally:
        await ctl.close()
    print()
    print(verdict.text)
    return 0 if verdict.passed else 1


def _mtpb_problem(args: argparse.Namespace) -> Any:
    from assistant.mtpb.cli import _load

    loaded = _load(getattr(args, "mtpb", None), quiet=True)
    if loaded is None:
        return None
    problem = loaded.by_id().get(str(args.problem).strip())
    if problem is None:
        print(f"assistant demo: no MTPB problem {args.problem}", file=sys.stderr)
    return problem


def main(args: argparse.Namespace, settings: Settings) -> int:
    fast = bool(getattr(args, "fast", False))
    if not getattr(args, "plain", False) and not has_terminal():
        print("assistant demo: no terminal, playing the plain demo", file=sys.stderr)
        args.plain = True
    if getattr(args, "problem", None):
        # An MTPB problem instead of the built-in one: answered by the reference solutions
        # unless a model was given.
        problem = _mtpb_problem(args)
        if problem is None:
            return 2
        case = int(getattr(args, "case", 0) or 0)
        if not 0 <= case < len(problem.inputs):
            print(f"assistant demo: --case must be 0-{len(problem.inputs) - 1}", file=sys.stderr)
            return 2
        reference = not settings.model or settings.model == "reference"
        if getattr(args, "plain", False):
            return asyncio.run(play_mtpb_plain(settings, problem, case, reference))
        from assistant.frontends.tui.launch import run_mtpb

        return run_mtpb(settings, problem, case, reference)
    if getattr(args, "plain", False):
        return asyncio.run(play_plain(settings, BUILTIN, fast))
    from assistant.frontends.tui.launch import run_demo

    return run_demo(settings, BUILTIN, fast=fast)
