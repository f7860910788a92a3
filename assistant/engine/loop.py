"""One turn's attempts: generate, reject copies, run and rank candidates, commit or refine.

CYCLE-style self-refinement: when a turn's code fails, show the model its code and the
execution feedback, and ask again; every attempt runs from a clean kernel state.

Small code models often "fix" code by repeating it (CYCLE, Ding et al. 2024, calls this the
copy problem). A refinement that is the same as an earlier faulty attempt, literally or after
normalising whitespace and comments (``copies.py``), is not run again: it is recorded (``Attempt.copy_of``,
``Attempt.copies_rejected``, a ``CopyRejected`` event) and the model is resampled at a higher
temperature (reason ``"resample"``), at most ``engine.max_resamples`` times in a row. Resamples
do not use up the attempt budget, which counts attempts whose code actually ran.

An answer with no code (empty, comments or docstrings only: small models often continue the
feedback's comment lines) is a failed attempt that counts against the budget; it is not run
(``run_and_rank``) and the next refinement is told "the model wrote no code".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from assistant.engine.checks import NO_CODE, check_event, is_no_code, no_code_result
from assistant.engine.copies import faulty_so_far, find_copy, normalize_code
from assistant.engine.events import (
    AttemptReason,
    AttemptStarted,
    CandidatesRanked,
    CodeReady,
    CopyRejected,
    FailKind,
    TurnFailed,
)
from assistant.engine.session import Attempt, Candidate, Turn

if TYPE_CHECKING:
    from assistant.engine.engine import Engine

RESAMPLE_STEP = 0.3  # temperature added per consecutive copy
TEMPERATURE_CAP = 1.2


async def run_attempts(engine: Engine, turn: Turn, *, budget: int, n: int) -> None:
    """Attempt a turn until a candidate passes, ``budget`` attempts have run, or cancel."""
    base_temp = engine.settings.temperature
    temperature = base_temp
    executed = 0
    resamples = 0
    faulty = faulty_so_far(turn)  # a retry must not rerun what already failed either
    last_faulty: Candidate | None = None
    first_index = len(turn.attempts)
    while executed < budget:
        if engine.cancelled:
            break
        index = len(turn.attempts)
        reason: AttemptReason
        if last_faulty is None:
            reason, told = "first", ""
        else:
            reason, told = ("resample" if resamples else "refine"), last_faulty.feedback
        attempt = Attempt(index=index, told=told, reason=reason)
        turn.attempts.append(attempt)
        engine.emit(
            # "attempt k of N": N grows by one for each resample, which is not counted.
            AttemptStarted(
                turn.index, index, index + budget - executed, reason=reason, feedback=told
            )
        )
        request = engine.build_request(turn, index, faulty=last_faulty, temperature=temperature)
        completions = await engine.generate(request, n, turn.index, index)
        for i, comp in enumerate(completions):
            code = engine.extract_code(comp.text, comp.stop)
            attempt.candidates.append(
                Candidate(index=i, code=code, raw=comp.text, mean_logprob=comp.mean_logprob)
            )
            engine.emit(
                CodeReady(turn.index, index, i, code, comp.text, comp.stats, comp.mean_logprob)
            )
        if engine.cancelled:
            break
        live: list[Candidate] = []
        for cand in attempt.candidates:
            # No code is not a copy of anything: it is run_and_rank's failure to report.
            skip = last_faulty is None or is_no_code(cand.code)
            copied = None if skip else find_copy(cand.code, faulty)
            if copied is None:
                live.append(cand)
                continue
            attempt.copies_rejected += 1
            cand.feedback = f"same as the faulty code of attempt {copied}; not run"
            engine.emit(CopyRejected(turn.index, index, cand.index, cand.code, copied))
            if attempt.copy_of is None:
                attempt.copy_of = copied
        if not live:
            if resamples < engine.max_resamples:
                resamples += 1
                temperature = min(temperature + RESAMPLE_STEP, max(TEMPERATURE_CAP, base_temp))
                continue
            executed += 1  # out of resamples: this counts as a failed attempt
            resamples = 0
            temperature = base_temp
            continue
        resamples = 0
        temperature = base_temp
        executed += 1
        best = await run_and_rank(engine, turn, attempt, live)
        if engine.cancelled:
            break
        if best is not None and best.passed:
            await engine.commit(turn, attempt, best)
            return
        faulty.extend(
            (index, c.code, normalize_code(c.code))
            for c in live
            if c.result is not None and not c.passed and not c.no_code
        )
        last_faulty = best if best is not None else last_faulty
    if engine.cancelled:
        turn.status = "cancelled"
        engine.emit(TurnFailed(turn.index, "cancelled", "cancelled"))
        return
    turn.status = "failed"
    tried = len(turn.attempts) - first_index
    why = " (the model wrote no code)" if last_faulty is not None and last_faulty.no_code else ""
    kind: FailKind = "no code" if why else "exhausted"
    engine.emit(TurnFailed(turn.index, f"no passing code after {tried} attempt(s){why}", kind))


async def run_and_rank(
    engine: Engine, turn: Turn, attempt: Attempt, live: Sequence[Candidate]
) -> Candidate | None:
    """Execute each live candidate from the committed state, rank all, return the best.

    Candidates identical after normalisation run once (a restore costs a kernel restart);
    the others reuse that result.
    """
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
