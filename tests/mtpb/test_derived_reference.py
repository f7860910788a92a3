"""Zero false failures: every MTPB reference turn passes its derived checks.

Every problem whose data files are here (113 of 115; test case 0), turn by turn, through the
interactive path: ``Engine.run_turn`` with the request's words turned into derived checks
(``engine/derived.py``), the reference solutions as the model. A turn the reference code does right but a derived check fails is a
rule that is not precise enough. Problems whose data files are absent are skipped (their
reference code cannot run here at all). Slow (a few minutes on a busy machine): acceptance.
"""

from __future__ import annotations

import pytest

from assistant.config import Settings
from assistant.engine.engine import Engine
from assistant.engine.options import EngineOptions
from assistant.execution import Kernel, KernelConfig
from assistant.mtpb.problems import load_problems
from assistant.mtpb.reference import ReferenceModel
from tests.conftest import MTPB_PATH

pytestmark = [
    pytest.mark.acceptance,
    pytest.mark.slow,
    pytest.mark.kernel,
    pytest.mark.skipif(not MTPB_PATH.exists(), reason="no MTPB data"),
]


async def test_reference_turns_pass_derived_checks() -> None:
    problems = load_problems(MTPB_PATH).by_id()
    model = ReferenceModel(problems=problems)
    # Chat style: the reference code is taken whole (no MTPB cut of its blank-line runs).
    options = EngineOptions(derived_checks=True)
    failures: list[str] = []
    derived = 0
    async with Kernel(KernelConfig(timeout=20)) as kernel:
        for pid, prob in problems.items():
            if prob.missing_datasets(None):
                continue
            await kernel.restart()
            engine = Engine(
                model, kernel, Settings(timeout=20, attempts=1), options=options, style="chat"
            )
            for i, text in enumerate(prob.filled_prompts(0)):
                meta = {"problem": pid, "case": 0, "turn": i}
                turn = await engine.run_turn(text, meta=meta)
                cand = turn.attempts[-1].best
                assert cand is not None
                derived += cand.derived_total
                if cand.result is not None and cand.result.ok and not cand.passed:
                    failures.append(f"{pid}.{i}: {text!r}\n   {cand.feedback}")
                if not turn.committed:
                    # Keep later turns fair: commit the reference code without derived checks
                    # (a failure without one is the data's, counted by the acceptance test).
                    turn.derived = []
                    await engine.edit(turn.index, cand.code)
    assert derived > 100, derived  # the rules do fire on MTPB's words
    assert not failures, "\n".join(failures)
