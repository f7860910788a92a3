"""The MTPB table's figures from results records: refinement read off one run, ranker picks."""

from __future__ import annotations

from typing import Any

import pytest

from bench import mtpb_figures as bench

pytestmark = pytest.mark.unit


def _rec(problem: str, case: int, kind: str, outcomes: list, **eng: Any) -> dict:
    return {
        "problem": problem,
        "case": case,
        "sample": eng.pop("sample", 0),
        "category": "math",
        "verdict": {"kind": kind, "actual": eng.pop("actual", None), "actual_type": "int"},
        "engine": {"outcomes": outcomes, "generated": 2, "no_code": eng.pop("no_code", 0), **eng},
    }


def test_without_refinement_is_read_off_the_refined_run() -> None:
    recs = [
        _rec("1", 0, "pass", [[0, 1], [0, 1]]),  # passed at once
        _rec("2", 0, "pass", [[0, 1], [1, 2]]),  # turn 2 needed a refinement
        _rec("3", 0, "error", [[0, 1], [None, 3]], no_code=2),
    ]
    fig = bench.figures(recs, {"samples": 1})
    assert fig["pass@1"] == 2 / 3 and fig["pass@1_no_refine"] == 1 / 3
    assert fig["no_code_rate"] == 2 / 6
    # attempt 1: 5 of 6 turns pass; attempt 2: 1 of the 1 left passes (the other ran 3)
    assert fig["success_per_attempt"][:2] == [4 / 6, 1 / 2]


def test_rankers_pick_among_the_same_candidates() -> None:
    group = [
        {"passed": False, "sig": "int:7", "logprob": -0.1, "ok": True, "no_code": False},
        {"passed": True, "sig": "int:5", "logprob": -0.9, "ok": True, "no_code": False},
        {"passed": True, "sig": "int:5", "logprob": -1.0, "ok": True, "no_code": False},
        {"passed": False, "sig": None, "logprob": -0.01, "ok": True, "no_code": True},
    ]
    picks = bench.last_turn_pick([group])
    assert picks["execution"] == 0.0  # the likeliest program with code is wrong
    assert picks["mbr-exec"] == 1.0  # two candidates agree on 5
    assert picks["random"] == 0.5 and picks["oracle"] == 1.0


def test_counts_intervals_and_pairs() -> None:
    lo, hi = bench.wilson(8, 115)
    assert 0.035 < lo < 0.037 and 0.13 < hi < 0.133  # 7.0% (8/115): 3.6%-13.1%
    assert bench.wilson(0, 10)[0] == 0.0 and bench.wilson(0, 0) == (0.0, 1.0)
    assert bench.counted(["1/0"] * 8, 115) == "7.0% (8/115, 4-13)"
    assert bench.sign_test(0, 0) == 1.0
    assert abs(bench.sign_test(0, 6) - 2 / 64) < 1e-12  # all six discordant pairs one way
    ran = [f"{i}/0" for i in range(1, 11)]
    line = bench.paired("multi vs single", ["1/0", "2/0", "3/0"], ["3/0", "4/0"], ran)
    assert line == (
        "multi vs single: both pass 1, first only 2, second only 1, neither 6 "
        "(exact sign test p = 1.00)"
    )
    assert bench.paired("x", None, ["1/0"], ran) is None
    assert bench.paired("x", ["1/0"], [], []) is None  # the other run has not started
