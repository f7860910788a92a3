"""``assistant demo``: a built-in problem solved turn by turn, with no model file and no data.

The built-in problem is small and self-contained (it must run without ``../shared/mtpb``), and
its second turn is answered wrongly first on purpose, so the demo shows a refinement: the
error, what the model was told, and the fixed attempt as a diff. ``--plain`` prints to stdout,
and so does a run without a terminal (a pipe, CI); otherwise the Textual app plays it (imported
only then, so the core stays Textual-free).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field
from typing import Any

from assistant.config import Settings

# Pause between turns, in units of settings.demo_delay, so a reader can take in each result.
TURN_PAUSE_FACTOR = 60


@dataclass(frozen=True)
class DemoTurn:
    text: str
    attempts: list[str]  # scripted answers: attempt 0, then refinements
    expect: Any = None
    has_expect: bool = False


@dataclass(frozen=True)
class DemoProblem:
    id: str
    name: str
    category: str
    turns: list[DemoTurn] = field(default_factory=list)

    def script(self) -> dict[str, Any]:
        """The ScriptedModel script answering each turn and attempt."""
        return {"turns": [t.attempts for t in self.turns], "logprob": -0.2}


BUILTIN = DemoProblem(
    id="demo",
    name="Word frequencies",
    category="string manipulation",
    turns=[
        DemoTurn(
            "Assign the sentence 'the cat and the hat sat on the mat' to a variable named text.",
            ['text = "the cat and the hat sat on the mat"\n'],
        ),
        DemoTurn(
            "Count how often each word of text occurs, in a dict named counts.",
            [
                # First attempt: the classic missing-key bug, so the demo shows a refinement.
                "counts = {}\nfor word in text.split():\n    counts[word] += 1\n",
                "counts = {}\nfor word in text.split():\n    counts[word] = counts.get(word, 0) + 1\n",
            ],
        ),
        DemoTurn(
            "Keep the three most frequent words in a list named top, most frequent first "
            "(ties in alphabetical order).",
            ["top = sorted(counts, key=lambda w: (-counts[w], w))[:3]\n"],
        ),
        DemoTurn(
            "Print the words of top joined by ', '.",
            ['print(", ".join(top))\n'],
            expect="the, and, cat",
            has_expect=True,
        ),
    ],
)


def demo_model(problem: DemoProblem, delay: float) -> Any:
    from assistant.models.scripted import ScriptedModel

    return ScriptedModel(problem.script(), name="demo (scripted)", chunk_size=4, delay=delay)


def turn_kwargs(problem: DemoProblem, index: int) -> dict[str, Any]:
    turn = problem.turns[index]
    kwargs: dict[str, Any] = {"meta": {"turn": index, "problem": problem.id}}
    if turn.has_expect:
        kwargs["expect"] = turn.expect
    return kwargs


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


def has_terminal() -> bool:
    """Both stdin and stdout are a terminal: what the full-screen app needs. Without one (a
    pipe, CI, ``make demo | tee``) Textual never gets input and spins at 100% CPU forever."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False


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
        from assistant.frontends.tui.app import run_mtpb

        return run_mtpb(settings, problem, case, reference)
    if getattr(args, "plain", False):
        return asyncio.run(play_plain(settings, BUILTIN, fast))
    from assistant.frontends.tui.app import run_demo

    return run_demo(settings, BUILTIN, fast=fast)
