"""``assistant demo``: a built-in problem solved turn by turn, with no model file and no data.

The built-in problem is small and self-contained (it must run without ``../shared/mtpb``), and
its second turn is answered wrongly first on purpose, so the demo shows a refinement: the
error, what the model was told, and the fixed attempt as a diff. ``--plain`` prints to stdout;
otherwise the Textual app plays it (imported only then, so the core stays Textual-free).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from dataclasses import dataclass, field
from typing import Any

from .config import Settings

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
    from .models.scripted import ScriptedModel

    return ScriptedModel(problem.script(), name="demo (scripted)", chunk_size=4, delay=delay)


def turn_kwargs(problem: DemoProblem, index: int) -> dict[str, Any]:
    turn = problem.turns[index]
    kwargs: dict[str, Any] = {"meta": {"turn": index, "problem": problem.id}}
    if turn.has_expect:
        kwargs["expect"] = turn.expect
    return kwargs


async def play_plain(settings: Settings, problem: DemoProblem, fast: bool) -> int:
    from .controller import Controller
    from .textview import TextView, describe_line

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


def main(args: argparse.Namespace, settings: Settings) -> int:
    if getattr(args, "problem", None):
        print(
            "assistant demo: --problem plays MTPB problems through `assistant replay ID`; "
            "the demo itself uses its built-in problem",
            file=sys.stderr,
        )
        return 2
    fast = bool(getattr(args, "fast", False))
    if getattr(args, "plain", False):
        return asyncio.run(play_plain(settings, BUILTIN, fast))
    from .tui.app import run_demo

    return run_demo(settings, BUILTIN, fast=fast)
