"""pass@k for MTPB, defined as the CodeGen paper and its harness do.

A *sample* is one generated program for one (problem, test case): the model is prompted with
that case's filled prompts, so each sample is graded only on the case it was generated for.
With ``n`` samples of a (problem, case) of which ``c`` pass, the unbiased estimator of
Chen et al. (2021) gives ``pass@k = 1 - C(n-c, k) / C(n, k)`` (1.0 when ``n - c < k``),
computed in the stable product form. A problem's pass@k is the mean over its test cases; the
overall and per-category figures are means over problems. (Upstream keys its counts by
(problem, test case) the same way; with 5 cases per problem both averages agree.)

pass@k needs ``n >= k``; for larger k it is reported as missing, never extrapolated.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k for one (problem, case) with ``n`` samples, ``c`` correct."""
    if n < 1 or k < 1:
        raise ValueError(f"pass@k needs n >= 1 and k >= 1 (got n={n}, k={k})")
    if k > n:
        raise ValueError(f"pass@{k} needs at least {k} samples (got {n})")
    if not 0 <= c <= n:
        raise ValueError(f"correct count {c} out of range for {n} samples")
    if n - c < k:
        return 1.0
    prod = 1.0
    for i in range(n - c + 1, n + 1):  # prod(1 - k / i): no huge binomials
        prod *= 1.0 - k / i
    return 1.0 - prod


@dataclass
class Counts:
    """Samples and passes of one (problem, case)."""

    n: int = 0
    c: int = 0

    def add(self, passed: bool) -> None:
        self.n += 1
        self.c += int(passed)


@dataclass
class ProblemScore:
    problem: str
    category: str
    cases: dict[int, Counts] = field(default_factory=dict)

    @property
    def samples(self) -> int:
        return sum(c.n for c in self.cases.values())

    @property
    def passed(self) -> int:
        return sum(c.c for c in self.cases.values())

    @property
    def min_n(self) -> int:
        return min((c.n for c in self.cases.values()), default=0)

    def pass_at(self, k: int) -> float | None:
        """Mean over test cases of pass@k; None when some case has fewer than k samples."""
        if not self.cases or self.min_n < k:
            return None
        return sum(pass_at_k(c.n, c.c, k) for c in self.cases.values()) / len(self.cases)

    @property
    def cases_all_passed(self) -> int:
        """Test cases on which every sample passed."""
        return sum(1 for c in self.cases.values() if c.n and c.c == c.n)


def score(records: Iterable[tuple[str, str, int, bool]]) -> dict[str, ProblemScore]:
    """(problem, category, case, passed) per sample -> per-problem counts."""
    out: dict[str, ProblemScore] = {}
    for pid, cat, case, passed in records:
        ps = out.setdefault(pid, ProblemScore(pid, cat))
        ps.cases.setdefault(case, Counts()).add(passed)
    return out


def mean_pass_at(scores: Sequence[ProblemScore], k: int) -> float | None:
    vals = [s.pass_at(k) for s in scores]
    if not vals or any(v is None for v in vals):
        return None
    return sum(v for v in vals if v is not None) / len(vals)


def by_category(scores: Iterable[ProblemScore]) -> dict[str, list[ProblemScore]]:
    groups: dict[str, list[ProblemScore]] = defaultdict(list)
    for s in scores:
        groups[s.category].append(s)
    return dict(sorted(groups.items()))


def table(
    scores: dict[str, ProblemScore], ks: Sequence[int]
) -> list[tuple[str, int, dict[int, float | None]]]:
    """Rows (label, problems, {k: pass@k}) for 'overall' then each category."""
    rows = [("overall", len(scores), {k: mean_pass_at(list(scores.values()), k) for k in ks})]
    for cat, group in by_category(scores.values()).items():
        rows.append((cat, len(group), {k: mean_pass_at(group, k) for k in ks}))
    return rows
