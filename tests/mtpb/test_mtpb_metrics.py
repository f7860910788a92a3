"""Unbiased pass@k (Chen et al. 2021) and its MTPB aggregation."""

from __future__ import annotations

from math import comb

import pytest

from assistant.mtpb.metrics import mean_pass_at, pass_at_k, score, table

pytestmark = pytest.mark.unit


def test_known_values() -> None:
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)  # 1 - C(7,5)/C(10,5)
    assert pass_at_k(10, 0, 10) == 0.0
    assert pass_at_k(10, 1, 10) == 1.0
    assert pass_at_k(5, 5, 1) == 1.0
    assert pass_at_k(1, 0, 1) == 0.0
    assert pass_at_k(200, 7, 100) == pytest.approx(1 - comb(193, 100) / comb(200, 100))


def test_matches_binomial_form_on_a_grid() -> None:
    for n in range(1, 13):
        for c in range(n + 1):
            for k in range(1, n + 1):
                want = 1.0 if n - c < k else 1 - comb(n - c, k) / comb(n, k)
                assert pass_at_k(n, c, k) == pytest.approx(want, abs=1e-12)


def test_large_n_is_stable() -> None:
    v = pass_at_k(100_000, 1, 1)
    assert v == pytest.approx(1e-5)


def test_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError, match="at least 5 samples"):
        pass_at_k(3, 1, 5)
    with pytest.raises(ValueError):
        pass_at_k(3, 4, 1)


def test_per_problem_mean_over_cases_then_over_problems() -> None:
    recs = []
    # problem 1: case 0 -> 2/2 pass, case 1 -> 0/2 pass  => pass@1 = 0.5
    recs += [("1", "math", 0, True), ("1", "math", 0, True)]
    recs += [("1", "math", 1, False), ("1", "math", 1, False)]
    # problem 2: case 0 -> 1/2 => pass@1 = 0.5, pass@2 = 1.0
    recs += [("2", "string", 0, True), ("2", "string", 0, False)]
    scores = score(recs)
    assert scores["1"].pass_at(1) == pytest.approx(0.5)
    assert scores["1"].pass_at(2) == pytest.approx(0.5)
    assert scores["2"].pass_at(2) == pytest.approx(1.0)
    assert scores["1"].pass_at(3) is None  # fewer samples than k: not extrapolated
    assert mean_pass_at(list(scores.values()), 2) == pytest.approx(0.75)
    rows = table(scores, [1, 2])
    assert rows[0] == ("overall", 2, {1: pytest.approx(0.5), 2: pytest.approx(0.75)})
    assert [r[0] for r in rows[1:]] == ["math", "string"]
    assert scores["1"].cases_all_passed == 1
