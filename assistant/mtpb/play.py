"""Play one MTPB problem turn by turn in an interactive session (TUI /mtpb); UI-free.

Each turn's prompt is filled for the chosen test case and run through the session's engine,
answered by the current model or by the reference solutions. The last turn is graded with
MTPB semantics, and the verdict says what was expected and what was printed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class PlayVerdict:
    passed: bool
    expected: str
    actual: str
    text: str


async def play_problem(ctl: Any, problem: Any, case: int, reference: bool) -> PlayVerdict:
    from assistant.mtpb.engine_run import turn_settings
    from assistant.mtpb.grading import printed_matches

    engine = ctl.engine
    saved_model, saved_matcher = engine.model, engine.matcher
    saved_exact, saved_settings = engine.mtpb_exact, engine.settings
    # Upstream's prompt bytes, truncation and max_gen_length while the problem plays.
    engine.mtpb_exact, engine.settings = True, turn_settings(engine.settings, problem, "multi")
    if reference:
        from assistant.mtpb.reference import ReferenceModel

        engine.model = ReferenceModel(problems={problem.id: problem})
    engine.matcher = printed_matches
    ctl.session.meta["mtpb"] = {"problem": problem.id, "case": case}
    ctl.session.title = f"MTPB {problem.id}: {problem.name} (case {case + 1})"
    expected = problem.outputs[case]
    prompts = problem.filled_prompts(case)
    meta = {"problem": problem.id, "case": case, "inputs": problem.inputs[case]}
    last = None
    try:
        for i, text in enumerate(prompts):
            final = i == len(prompts) - 1
            kwargs: dict[str, Any] = {"print_last": final, "meta": meta}
            if final:
                kwargs["expect"] = expected
            last = await ctl.run_turn(text, **kwargs)
            if last.status != "passed" and not final:
                break
    finally:
        engine.model, engine.matcher = saved_model, saved_matcher
        engine.mtpb_exact, engine.settings = saved_exact, saved_settings
    actual = "nothing printed"
    if last is not None and last.attempts:
        best = last.attempts[-1].best
        if best is not None and best.result is not None and best.result.last_printed is not None:
            actual = best.result.last_printed.repr
    passed = last is not None and last.status == "passed" and last.index == len(prompts) - 1
    text = f"verdict: {'PASS' if passed else 'FAIL'} · expected {expected!r} · actual {actual}"
    return PlayVerdict(passed, repr(expected), actual, text)
