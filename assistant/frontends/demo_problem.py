"""The demo's built-in problem and how it is played: data and a scripted model, no UI.

Both the plain demo (``assistant.frontends.demo``) and the full-screen app
(``assistant.frontends.tui``) play it: it lives apart from both, so the app never imports the
``demo`` command that launches it. The problem is small and self-contained (it must run without ``../shared/mtpb``), and its
second turn is answered wrongly first on purpose, so the demo shows a refinement: the error,
what the model was told, and the fixed attempt as a diff.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from assistant.models.scripted import ScriptedModel

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


def demo_model(problem: DemoProblem, delay: float) -> ScriptedModel:
    from assistant.models.scripted import ScriptedModel

    return ScriptedModel(problem.script(), name="demo (scripted)", chunk_size=4, delay=delay)


def turn_kwargs(problem: DemoProblem, index: int) -> dict[str, Any]:
    turn = problem.turns[index]
    kwargs: dict[str, Any] = {"meta": {"turn": index, "problem": problem.id}}
    if turn.has_expect:
        kwargs["expect"] = turn.expect
    return kwargs
