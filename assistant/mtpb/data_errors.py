"""Test cases of MTPB whose expected output cannot be produced by a program doing what the
prompts say. Found while writing this project's reference solutions; each entry records what
a faithful program prints and why the data disagrees, so reports can say so instead of
hiding it. These cases are graded as usual (they fail), and reports mark them "data error".

Keys are (problem id, test case index).
"""

from __future__ import annotations

from typing import Any

KNOWN: dict[tuple[str, int], dict[str, Any]] = {
    ("9", 2): {
        "faithful": "John",
        "why": "John has the highest note (9 > 7, 7, 6); the data expects 'Mike'",
    },
    ("23", 0): {"faithful": None, "why": "bootstrap confidence interval of random resamples"},
    ("23", 1): {"faithful": None, "why": "bootstrap on randomly sampled data"},
    ("23", 2): {"faithful": None, "why": "bootstrap on randomly sampled data"},
    ("23", 3): {"faithful": None, "why": "bootstrap on randomly sampled data"},
    ("31", 0): {
        "faithful": [16, 2],
        "why": "the prompt's rule a + b - 1 gives 16 for a=8, b=9; the data expects 17",
    },
    ("55", 2): {
        "faithful": "False",
        "why": "sum([-1, -1, -1, -1, 1]) is -3, not -5; the data expects 'True'",
    },
    ("56", 3): {
        "faithful": [-1000000, 1, 1, 1, 6],
        "why": "merging [-1000000, 1, 1] with [1, 6] ends in 6; the data expects 8",
    },
    ("94", 1): {
        "faithful": 339,
        "why": "the Collatz sequence from 9 sums to 339 (55 is not reachable); the data expects 55",
    },
}


def known_error(problem_id: str, case: int) -> dict[str, Any] | None:
    return KNOWN.get((str(problem_id), case))
