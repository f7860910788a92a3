"""Candidate ranking: run n sampled candidates from the same state, order them, keep the best.

A ``Ranker`` sees the executed candidates of one attempt (code, execution result, verdict,
mean token log-prob) and returns an order, best first. Two inference-time rankers ship:

* ``ExecutionRanker`` (default): passed, then has code, then tests passed, then ran without
  error, then mean token log-prob;
* ``MBRExecRanker``: MBR-exec (Shi et al. 2022): a candidate scores by how many others produced
  the same output; ties by log-prob. Useful when a turn has no tests or expected value.

A candidate with no code (empty, comments or docstrings only) is never run and ranks last.

A trained ranker (CodeRanker, LEVER, Top Pass) only needs to implement ``rank``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .checks import NO_CODE, check_event, is_no_code, no_code_result
from .events import CandidatesRanked
from .session import Attempt, Candidate, Turn

if TYPE_CHECKING:
    from .engine import Engine


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
    """Minimum Bayes risk over execution results: the most agreed-on output wins."""

    name = "mbr-exec"

    def rank(self, candidates: Sequence[Candidate], *, prompt: str = "") -> Ranking:
        sigs = {c.index: output_signature(c) for c in candidates}
        counts = Counter(s for s in sigs.values() if s is not None)
        keyed = []
        for c in candidates:
            sig = sigs[c.index]
            agree = counts[sig] - 1 if sig is not None else -1
            key = (c.passed, not c.no_code, _ran_ok(c), agree, _finite(c.mean_logprob))
            keyed.append((key, c.index))
        keyed.sort(key=lambda kc: (kc[0], -kc[1]), reverse=True)
        return Ranking([i for _, i in keyed], [list(k) for k, _ in keyed])


RANKERS: dict[str, type] = {"execution": ExecutionRanker, "mbr-exec": MBRExecRanker}


def get_ranker(name: str) -> Ranker:
    try:
        return RANKERS[name]()
    except KeyError:
        raise ValueError(f"unknown ranker {name!r} (known: {', '.join(RANKERS)})") from None


async def run_and_rank(
    engine: Engine, turn: Turn, attempt: Attempt, live: Sequence[Candidate]
) -> Candidate | None:
    """Execute each live candidate from the committed state, rank all, return the best.

    Candidates identical after normalisation run once (a restore costs a kernel restart);
    the others reuse that result.
    """
    from .refine import normalize_code

    ran: dict[str, Candidate] = {}
    for cand in live:
        if is_no_code(cand.code):
            # Nothing to run: a failed candidate without a trip to the kernel.
            cand.no_code, cand.result, cand.passed, cand.feedback = (
                True,
                no_code_result(),
                False,
                NO_CODE,
            )
            cand.tests_total = len(turn.tests)
            engine.emit(check_event(turn, attempt, cand))
            continue
        key = normalize_code(cand.code)
        twin = ran.get(key)
        if twin is not None:
            cand.result, cand.passed, cand.feedback = twin.result, twin.passed, twin.feedback
            cand.tests_passed, cand.tests_total = twin.tests_passed, twin.tests_total
            engine.emit(check_event(turn, attempt, cand))
            continue
        await engine.run_candidate(turn, attempt, cand)
        if engine.cancelled:
            return None
        ran[key] = cand
    ranking = engine.ranker.rank(attempt.candidates, prompt=turn.text)
    by_index = {c.index: c for c in attempt.candidates}
    for position, idx in enumerate(ranking.order):
        by_index[idx].rank = position
    attempt.chosen = ranking.order[0] if ranking.order else None
    if len(attempt.candidates) > 1:
        engine.emit(CandidatesRanked(turn.index, attempt.index, ranking.order, ranking.scores))
    return attempt.best
