"""Candidate ranking, pure: order the executed candidates of one attempt, best first.

A ``Ranker`` sees the executed candidates of one attempt (code, execution result, verdict,
mean token log-prob) and returns an order, best first. Two inference-time rankers ship:

* ``ExecutionRanker`` (default): passed, then has code, then tests passed, then ran without
  error, then mean token log-prob;
* ``MBRExecRanker``: MBR-exec (Shi et al. 2022): a candidate scores by how many others produced
  the same output; ties by log-prob. Useful when a turn has no tests or expected value.

A candidate with no code (empty, comments or docstrings only) is never run and ranks last.
Running the candidates is ``engine.loop.run_and_rank``'s job; this module only orders them.

A trained ranker (CodeRanker, LEVER, Top Pass) only needs to implement ``rank``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from assistant.engine.session import Candidate


@dataclass
class Ranking:
    order: list[int] = field(default_factory=list)  # candidate indices, best first
    scores: list[Any] = field(default_factory=list)  # the ranker's score, same order


@runtime_checkable
class Ranker(Protocol):
    name: str

    def rank(self, candidates: Sequence[Candidate], *, prompt: str = "") -> Ranking:
        """Order ``candidates`` best first. ``prompt`` is the turn's request, for rankers that
        condition on it. Candidates not run (rejected copies) have ``result is None``."""
        ...


def _ran_ok(c: Candidate) -> bool:
    return c.result is not None and c.result.ok


def _finite(x: float) -> float:
    return x if x == x and x != float("inf") else float("-inf")


class ExecutionRanker:
    """Passed > has code > more tests passed > no error > higher mean token log-prob."""

    name = "execution"

    def rank(self, candidates: Sequence[Candidate], *, prompt: str = "") -> Ranking:
        keyed = [
            (
                (c.passed, not c.no_code, c.tests_passed, _ran_ok(c), _finite(c.mean_logprob)),
                c.index,
            )
            for c in candidates
        ]
        keyed.sort(key=lambda kc: (kc[0], -kc[1]), reverse=True)
        return Ranking([i for _, i in keyed], [list(k) for k, _ in keyed])


def output_signature(c: Candidate) -> str | None:
    """What a candidate produced, for agreement: the last printed object, else stdout."""
    res = c.result
    if res is None or not res.ok:
        return None
    if res.last_printed is not None:
        return f"{res.last_printed.type}:{res.last_printed.repr}"
    return "stdout:" + res.stdout.strip()


class MBRExecRanker:
    """Minimum Bayes risk over execution results: the most agreed-on output wins.

    ``signature`` says what a candidate produced (``None``: nothing to agree on); the default
    reads the execution result, a benchmark report passes the signatures its records hold.
    """

    name = "mbr-exec"

    def __init__(self, signature: Callable[[Candidate], str | None] = output_signature) -> None:
        self.signature = signature

    def rank(self, candidates: Sequence[Candidate], *, prompt: str = "") -> Ranking:
        sigs = {c.index: self.signature(c) for c in candidates}
        counts = Counter(s for s in sigs.values() if s is not None)
        keyed = []
        for c in candidates:
            sig = sigs[c.index]
            agree = counts[sig] - 1 if sig is not None else -1
            key = (c.passed, not c.no_code, _ran_ok(c), agree, _finite(c.mean_logprob))
            keyed.append((key, c.index))
        keyed.sort(key=lambda kc: (kc[0], -kc[1]), reverse=True)
        return Ranking([i for _, i in keyed], [list(k) for k, _ in keyed])


RANKERS: dict[str, type[Ranker]] = {"execution": ExecutionRanker, "mbr-exec": MBRExecRanker}


def get_ranker(name: str) -> Ranker:
    try:
        return RANKERS[name]()
    except KeyError:
        raise ValueError(f"unknown ranker {name!r} (known: {', '.join(RANKERS)})") from None
