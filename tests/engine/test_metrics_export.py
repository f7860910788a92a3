"""Refinement/ranking metrics and the JSONL training export, on hand-built sessions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.engine.session import Attempt, Candidate, Session, Turn
from assistant.execution.result import ExecResult
from assistant.mtpb.refinement_metrics import (
    copy_rate,
    program_outcome,
    ranked_correct,
    ranked_pass_at_k,
    refinement_stats,
    refinement_success,
    turn_outcome,
)
from assistant.sessions.training import export_jsonl, records

pytestmark = pytest.mark.unit


def _ran(code: str, passed: bool, feedback: str = "", lp: float = -0.5, rank=None) -> Candidate:
    res = ExecResult(status="ok" if passed else "error")
    return Candidate(0, code, code, lp, res, passed, 0, 0, feedback, rank)


def _turn(index: int, text: str, attempts: list[Attempt], code: str | None) -> Turn:
    t = Turn(index=index, text=text, attempts=attempts)
    t.code, t.status = code, ("passed" if code is not None else "failed")
    return t


def _session() -> Session:
    s = Session(id="s1")
    s.turns.append(_turn(0, "Set a.", [Attempt(0, candidates=[_ran("a = 1", True)])], "a = 1"))
    copy = Candidate(0, "b = a/0", "b = a/0")  # a rejected copy: never ran
    s.turns.append(
        _turn(
            1,
            "Set b.",
            [
                Attempt(0, candidates=[_ran("b = a/0", False, "ZeroDivisionError")]),
                Attempt(1, "ZeroDivisionError", "refine", [copy], copy_of=0, copies_rejected=1),
                Attempt(2, "ZeroDivisionError", "resample", [_ran("b = c", False, "NameError")]),
                Attempt(3, "NameError", "refine", [_ran("b = a + 1", True)]),
            ],
            "b = a + 1",
        )
    )
    c0 = _ran("print(b)", True, rank=1, lp=-1.0)
    c1 = _ran("print(b * 1)", True, rank=0, lp=-0.2)
    c1.index = 1
    s.turns.append(_turn(2, "Show b.", [Attempt(0, candidates=[c0, c1], chosen=1)], "print(b * 1)"))
    s.turns.append(
        _turn(3, "Never.", [Attempt(0, candidates=[_ran("x", False, "NameError")])], None)
    )
    return s


def test_turn_and_program_outcomes() -> None:
    s = _session()
    assert [turn_outcome(t) for t in s.turns] == [(0, 1), (2, 3), (0, 1), (None, 1)]
    assert program_outcome(s.turns[:3]) == (2, 3)
    assert program_outcome(s.turns) == (None, 3)


def test_refinement_success_per_attempt() -> None:
    stats = refinement_success(_session().turns)
    assert stats.reached == [4, 1, 1] and stats.passed == [2, 0, 1]
    assert stats.success_rate == [0.5, 0.0, 1.0]
    assert stats.cumulative_pass_rate == [0.5, 0.5, 0.75]
    assert refinement_stats([(None, 2)], max_attempts=3).reached == [1, 1, 0]


def test_copy_rate_and_ranked_pass_at_k() -> None:
    s = _session()
    assert copy_rate(s.turns) == pytest.approx(1 / 3)
    attempt = s.turns[2].attempts[0]
    assert ranked_correct(attempt, lambda c: c.code == "print(b)") == [False, True]
    assert ranked_pass_at_k([[False, True], [True], [False, False]], 1) == pytest.approx(1 / 3)
    assert ranked_pass_at_k([[False, True], [True], [False, False]], 2) == pytest.approx(2 / 3)


def test_cycle_export_schema(tmp_path: Path) -> None:
    path = tmp_path / "out" / "cycle.jsonl"
    assert export_jsonl([_session()], path, "cycle") == 2
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert set(rows[0]) == {
        "task",
        "turns",
        "faulty_code",
        "feedback",
        "fixed_code",
        "turn",
        "attempt",
        "fixed_attempt",
        "session",
    }
    first, second = rows
    assert (first["faulty_code"], first["feedback"], first["fixed_code"]) == (
        "b = a/0",
        "ZeroDivisionError",
        "b = a + 1",
    )
    assert (first["turn"], first["attempt"], second["attempt"], second["fixed_attempt"]) == (
        1,
        0,
        2,
        3,
    )
    assert first["task"].endswith("# Set a.\na = 1\n# Set b.\n")
    assert first["turns"] == ["Set a.", "Set b."]


def test_ranked_export_schema() -> None:
    rows = list(records(_session(), "ranked"))
    assert len(rows) == 1
    row = rows[0]
    assert set(row) == {"prompt", "turn", "attempt", "session", "candidates"}
    assert [c["code"] for c in row["candidates"]] == ["print(b * 1)", "print(b)"]
    assert row["candidates"][0] == {
        "code": "print(b * 1)",
        "rank": 0,
        "passed": True,
        "mean_logprob": -0.2,
        "tests_passed": 0,
        "tests_total": 0,
    }
    assert row["prompt"].endswith("# Show b.\n")
    json.dumps(row)  # JSON-safe


def test_export_rejects_unknown_kind(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown export kind"):
        export_jsonl(_session(), tmp_path / "x.jsonl", "other")  # type: ignore[arg-type]


def test_no_code_rate() -> None:
    from assistant.engine.session import Attempt, Candidate, Turn
    from assistant.mtpb.refinement_metrics import no_code_rate

    turn = Turn(0, "t")
    turn.attempts = [
        Attempt(0, candidates=[Candidate(0, "# x", no_code=True), Candidate(1, "x = 1")]),
        Attempt(1, reason="refine", candidates=[Candidate(0, "x = 2")]),
        Attempt(2, reason="edit", candidates=[Candidate(0, "")]),
    ]
    assert no_code_rate([turn]) == 1 / 3
    assert no_code_rate([]) == 0.0
