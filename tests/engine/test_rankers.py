"""Rankers on hand-made candidates (pure logic)."""

from __future__ import annotations

import pytest

from assistant.engine.ranking import ExecutionRanker, MBRExecRanker, get_ranker
from assistant.engine.session import Candidate
from assistant.execution.result import ExecResult, Printed

pytestmark = pytest.mark.unit


def _cand(i: int, value: object, lp: float, ok: bool = True) -> Candidate:
    res = ExecResult(status="ok" if ok else "error")
    if ok:
        res.printed = [Printed(type(value).__name__, value, True, repr(value))]
    return Candidate(index=i, code=f"c{i}", mean_logprob=lp, result=res, passed=ok)


def test_mbr_exec_prefers_the_majority_output() -> None:
    cands = [_cand(0, 1, -0.1), _cand(1, 2, -0.5), _cand(2, 2, -0.9), _cand(3, 0, -0.01, ok=False)]
    r = MBRExecRanker().rank(cands)
    assert r.order == [1, 2, 0, 3]
    assert get_ranker("mbr-exec").name == "mbr-exec"
    with pytest.raises(ValueError, match="unknown ranker"):
        get_ranker("nope")


def test_mbr_exec_reads_a_given_signature() -> None:
    """Recorded signatures (the MTPB table's records) stand in for the execution results."""
    cands = [_cand(0, 1, -0.1), _cand(1, 2, -0.5), _cand(2, 3, -0.9)]
    recorded = {0: "int:7", 1: "int:5", 2: "int:5"}
    assert MBRExecRanker(signature=lambda c: recorded[c.index]).rank(cands).order == [1, 2, 0]
    assert MBRExecRanker().rank(cands).order == [0, 1, 2]  # every output differs: log-prob


def test_execution_ranker_order() -> None:
    a = _cand(0, 1, -2.0)
    b = _cand(1, 1, -1.0)
    c = Candidate(index=2, code="copy", mean_logprob=0.0)  # a rejected copy: never ran
    d = _cand(3, 1, -3.0)
    d.tests_passed = 2
    assert ExecutionRanker().rank([a, b, c, d]).order == [3, 1, 0, 2]
