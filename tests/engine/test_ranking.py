"""Candidate sampling and ranking: every candidate runs from the same state; order and choice."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from assistant.config import Settings
from assistant.engine.events import CandidatesRanked, ExecutionStarted, StateRestored
from assistant.engine.ranking import Ranker, Ranking
from assistant.engine.session import Candidate

pytestmark = [pytest.mark.kernel, pytest.mark.asyncio(loop_scope="module")]

# Each candidate appends to a list made by turn 0 and prints its length: 1 for every candidate
# proves they all started from the committed state (restored between candidates).
CANDS = [
    {"code": "rk.append('a')\nprint(len(rk) + 1)", "logprob": -0.9},  # passes
    {"code": "rk.append('b')\n1/0", "logprob": -0.1},  # error
    {"code": "rk.append('c')\nprint(len(rk) * 7)", "logprob": -0.2},  # wrong output
    {"code": "rk.append('d')\nprint(len(rk) * 2)", "logprob": -1.5},  # passes, less likely
]


async def test_mixed_candidates_rank_and_commit_the_best(make_engine) -> None:
    engine, model, events = make_engine({"turns": ["rk = []", [CANDS]]})
    await engine.run_turn("Make rk.")
    turn = await engine.run_turn("Two.", expect=2, candidates=4)
    attempt = turn.attempts[0]
    assert [c.result.last_printed.value for c in attempt.candidates if c.result.ok] == [2, 7, 2]
    ranked = events.of(CandidatesRanked)[0]
    assert ranked.order == [0, 3, 2, 1]
    assert [c.rank for c in attempt.candidates] == [0, 3, 2, 1]
    assert attempt.chosen == 0 and turn.code == CANDS[0]["code"]
    assert [r.meta["candidate"] for r in model.requests[1:]] == [0, 1, 2, 3]
    # candidate 3 ran last, so committing 0 rebuilt the state with it
    assert events.of(StateRestored)[-1].reason == "candidate"
    res = await engine.kernel.execute("rk", print_last=True)
    assert res.last_printed is not None and res.last_printed.value == ["a"]


async def test_identical_candidates_run_once(make_engine) -> None:
    same = "dup_v = 3\nprint(dup_v)"
    engine, _, events = make_engine({"turns": [[[same, same + "  # again", "print(4)"]]]})
    turn = await engine.run_turn("Three.", expect=3, candidates=3)
    assert len(events.of(ExecutionStarted)) == 2
    a = turn.attempts[0]
    assert a.candidates[1].result is a.candidates[0].result and a.candidates[1].passed
    assert sorted(c.rank for c in a.candidates[:2]) == [0, 1] and a.candidates[2].rank == 2
    assert turn.code in (same, same + "  # again")


async def test_failed_candidates_feed_refinement_with_the_best_ranked(make_engine) -> None:
    engine, model, _ = make_engine(
        {
            "turns": [
                [
                    [
                        {"code": "print(undefined_x)", "logprob": -0.1},
                        {"code": "print(5)", "logprob": -3.0},
                    ],
                    ["print(6)", "print(6)"],
                ]
            ]
        },
        settings=Settings(timeout=10, refine_prompt="plain"),  # the prompt shows the code
    )
    turn = await engine.run_turn("Six.", expect=6, candidates=2)
    assert turn.status == "passed" and len(turn.attempts) == 2
    # the error-free (wrong) candidate outranks the error and is what the model is told about
    assert turn.attempts[0].chosen == 1
    assert (
        "print(5)" in model.requests[2].prompt and "Expected output: 6" in model.requests[2].prompt
    )


class LongestFirst:
    """A stand-in for a trained ranker: anything with ``rank`` plugs in."""

    name = "longest"

    def rank(self, candidates: Sequence[Candidate], *, prompt: str = "") -> Ranking:
        order = sorted(candidates, key=lambda c: -len(c.code))
        return Ranking([c.index for c in order], [len(c.code) for c in order])


async def test_pluggable_ranker(make_engine) -> None:
    engine, _, _ = make_engine(
        {"turns": [[["pl = 1", "pl = 1 + 1  # longer"]]]}, ranker=LongestFirst()
    )
    assert isinstance(engine.ranker, Ranker)
    turn = await engine.run_turn("Pick.", candidates=2)
    assert turn.code == "pl = 1 + 1  # longer"
