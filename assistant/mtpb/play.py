"""Play one MTPB problem turn by turn in an interactive session (TUI /mtpb); UI-free.

Each turn's prompt is filled for the chosen test case and run through the session's engine,
answered by the current model or by the reference solutions. The last turn is graded with
MTPB semantics, and the verdict says what was expected and what was printed.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from assistant.engine.engine import Engine
    from assistant.engine.session import Session, Turn
    from assistant.mtpb.problems import Problem


class PlayHost(Protocol):
    """What playing needs from a front end's controller (``frontends.controller.Controller``,
    which this layer may not import): its session, its engine, and its way to run a turn
    (with the pending checks and autosave around it)."""

    @property
    def engine(self) -> Engine | None: ...

    @property
    def session(self) -> Session: ...

    async def run_turn(self, text: str, **kwargs: Any) -> Turn: ...


@dataclass(frozen=True)
class PlayVerdict:
    passed: bool
    expected: str
    actual: str
    text: str


async def play_problem(ctl: PlayHost, problem: Problem, case: int, reference: bool) -> PlayVerdict:
    from assistant.mtpb.engine_run import turn_settings
    from assistant.mtpb.grading import printed_matches

    engine = ctl.engine
    if engine is None:
        raise RuntimeError("play_problem needs a started controller")
    # Upstream's prompt bytes, truncation, max_gen_length and grading while the problem plays.
    settings = turn_settings(engine.settings, problem, "multi")
    options = dataclasses.replace(engine.options, mtpb_exact=True, matcher=printed_matches)
    model = None
    if reference:
        from assistant.mtpb.reference import ReferenceModel

        model = ReferenceModel(problems={problem.id: problem})
    ctl.session.meta["mtpb"] = {"problem": problem.id, "case": case}
    ctl.session.title = f"MTPB {problem.id}: {problem.name} (case {case + 1})"
    expected = problem.outputs[case]
    prompts = problem.filled_prompts(case)
    meta = {"problem": problem.id, "case": case, "inputs": problem.inputs[case]}
    last = None
    with engine.overriding(model=model, settings=settings, options=options):
        for i, text in enumerate(prompts):
            final = i == len(prompts) - 1
            kwargs: dict[str, Any] = {"print_last": final, "meta": meta}
            if final:
                kwargs["expect"] = expected
            last = await ctl.run_turn(text, **kwargs)
            if last.status != "passed" and not final:
                break
    actual = "nothing printed"
    if last is not None and last.attempts:
        best = last.attempts[-1].best
        if best is not None and best.result is not None and best.result.last_printed is not None:
            actual = best.result.last_printed.repr
    passed = last is not None and last.status == "passed" and last.index == len(prompts) - 1
    text = f"verdict: {'PASS' if passed else 'FAIL'} · expected {expected!r} · actual {actual}"
    return PlayVerdict(passed, repr(expected), actual, text)
