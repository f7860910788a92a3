"""One turn's attempts: generate, reject copies, run and rank candidates, commit or refine.

CYCLE-style self-refinement: when a turn's code fails, show the model its code and the
execution feedback, and ask again; every attempt runs from a clean kernel state.

Small code models often "fix" code by repeating it (CYCLE, Ding et al. 2024, calls this the
copy problem). A refinement that is the same as an earlier faulty attempt, literally or after
normalising whitespace and comments (``copies.py``), is not run again: it is recorded (``Attempt.copy_of``,
``Attempt.copies_rejected``, a ``CopyRejected`` event) and the model is resampled at a higher
temperature (reason ``"resample"``), at most ``EngineOptions.max_resamples`` times in a row.
Resamples do not use up the attempt budget, which counts attempts whose code actually ran.

An answer with no code (empty, comments or docstrings only: small models often continue the
feedback's comment lines) is a failed attempt that counts against the budget; it is not run
(``run_and_rank``) and the next refinement is told "the model wrote no code".

This module owns the turn's policy; the engine is reached only through ``AttemptHost``: the
model (``generate``), the kernel state (``run_candidate``, ``commit``), events and
cancellation. Requests (``request.build_request``) and code cuts (``truncation.extract_code``)
are pure functions of the turn's ``TurnContext``, frozen when the turn starts.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Protocol

from assistant.engine.checks import NO_CODE, check_event, is_no_code, no_code_result
from assistant.engine.copies import faulty_so_far, find_copy, normalize_code
from assistant.engine.events import (
    AttemptReason,
    AttemptStarted,
    CandidatesRanked,
    CodeReady,
    CopyRejected,
    EngineEvent,
    FailKind,
    Notice,
    TurnFailed,
)
from assistant.engine.ranking import Ranker
from assistant.engine.request import TurnContext, build_request
from assistant.engine.session import Attempt, Candidate, Turn
from assistant.engine.truncation import extract_code
from assistant.models.base import Cancelled, Completion, ModelError, Request, ServerError

log = logging.getLogger(__name__)


class AttemptHost(Protocol):
    """What a turn's attempts need from the engine: side effects and nothing else.

    ``Engine`` is the one implementation; a test can drive the loop with a fake.
    """

    @property
    def ranker(self) -> Ranker: ...

    @property
    def cancelled(self) -> bool: ...

    def emit(self, event: EngineEvent) -> None: ...

    def cancel(self) -> None: ...

    async def generate(
        self, request: Request, n: int, turn: int, attempt: int
    ) -> list[Completion]: ...

    async def run_candidate(self, turn: Turn, attempt: Attempt, cand: Candidate) -> None: ...

    async def commit(self, turn: Turn, attempt: Attempt, cand: Candidate) -> None: ...


RESAMPLE_STEP = 0.3  # temperature added per consecutive copy
TEMPERATURE_CAP = 1.2


async def attempt_turn(
    host: AttemptHost, turn: Turn, ctx: TurnContext, *, budget: int, n: int
) -> None:
    """``run_attempts``, and how a turn ends when the model cannot go on."""
    try:
        await run_attempts(host, turn, ctx, budget=budget, n=n)
    except asyncio.CancelledError:
        host.cancel()  # the worker thread stops at its next token
        turn.status = "cancelled"
        raise
    except Cancelled:
        turn.status = "cancelled"
        log.debug("turn %d: generation cancelled", turn.index)
        host.emit(Notice(turn.index, "info", "generation cancelled"))
        host.emit(TurnFailed(turn.index, "cancelled", "cancelled"))
    except ModelError as exc:
        # info, not warning: the front end shows it; a warning would also reach stderr
        # through logging's last-resort handler and scribble over the TUI.
        log.info("turn %d: model error: %s", turn.index, exc, exc_info=True)
        turn.status = "failed"
        host.emit(Notice(turn.index, "error", str(exc)))
        kind: FailKind = "server error" if isinstance(exc, ServerError) else "model error"
        host.emit(TurnFailed(turn.index, f"{kind}: {exc}", kind))


async def run_attempts(
    host: AttemptHost, turn: Turn, ctx: TurnContext, *, budget: int, n: int
) -> None:
    """Attempt a turn until a candidate passes, ``budget`` attempts have run, or cancel."""
    base_temp = ctx.settings.temperature
    chat = ctx.style == "chat"
    temperature = base_temp
    executed = 0
    resamples = 0
    faulty = faulty_so_far(turn)  # a retry must not rerun what already failed either
    last_faulty: Candidate | None = None
    first_index = len(turn.attempts)
    while executed < budget:
        if host.cancelled:
            break
        index = len(turn.attempts)
        reason: AttemptReason
        if last_faulty is None:
            reason, told = "first", ""
        else:
            reason, told = ("resample" if resamples else "refine"), last_faulty.feedback
        attempt = Attempt(index=index, told=told, reason=reason)
        turn.attempts.append(attempt)
        host.emit(
            # "attempt k of N": N grows by one for each resample, which is not counted.
            AttemptStarted(
                turn.index, index, index + budget - executed, reason=reason, feedback=told
            )
        )
        request = build_request(ctx, turn, index, faulty=last_faulty, temperature=temperature)
        request.logprobs = ctx.options.wants_logprobs(n)
        completions = await host.generate(request, n, turn.index, index)
        for i, comp in enumerate(completions):
            code = extract_code(comp.text, comp.stop, ctx.options, chat=chat)
            attempt.candidates.append(
                Candidate(index=i, code=code, raw=comp.text, mean_logprob=comp.mean_logprob)
            )
            host.emit(
                CodeReady(turn.index, index, i, code, comp.text, comp.stats, comp.mean_logprob)
            )
        if host.cancelled:
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
            host.emit(CopyRejected(turn.index, index, cand.index, cand.code, copied))
            if attempt.copy_of is None:
                attempt.copy_of = copied
        if not live:
            if resamples < ctx.options.max_resamples:
                resamples += 1
                temperature = min(temperature + RESAMPLE_STEP, max(TEMPERATURE_CAP, base_temp))
                log.debug("turn %d: only copies; resampling at %.2f", turn.index, temperature)
                continue
            executed += 1  # out of resamples: this counts as a failed attempt
            resamples = 0
            temperature = base_temp
            continue
        resamples = 0
        temperature = base_temp
        executed += 1
        best = await run_and_rank(host, turn, attempt, live)
        if host.cancelled:
            break
        if best is not None and best.passed:
            await host.commit(turn, attempt, best)
            return
        faulty.extend(
            (index, c.code, normalize_code(c.code))
            for c in live
            if c.result is not None and not c.passed and not c.no_code
        )
        last_faulty = best if best is not None else last_faulty
    if host.cancelled:
        turn.status = "cancelled"
        host.emit(TurnFailed(turn.index, "cancelled", "cancelled"))
        return
    turn.status = "failed"
    tried = len(turn.attempts) - first_index
    why = " (the model wrote no code)" if last_faulty is not None and last_faulty.no_code else ""
    kind: FailKind = "no code" if why else "exhausted"
    log.info("turn %d failed after %d attempt(s): %s", turn.index, tried, kind)
    host.emit(TurnFailed(turn.index, f"no passing code after {tried} attempt(s){why}", kind))


async def run_and_rank(
    host: AttemptHost, turn: Turn, attempt: Attempt, live: Sequence[Candidate]
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
            host.emit(check_event(turn, attempt, cand))
            continue
        key = normalize_code(cand.code)
        twin = ran.get(key)
        if twin is not None:
            cand.result, cand.passed, cand.feedback = twin.result, twin.passed, twin.feedback
            cand.tests_passed, cand.tests_total = twin.tests_passed, twin.tests_total
            cand.derived_passed, cand.derived_total = twin.derived_passed, twin.derived_total
            cand.label = twin.label
            host.emit(check_event(turn, attempt, cand))
            continue
        await host.run_candidate(turn, attempt, cand)
        if host.cancelled:
            return None
        ran[key] = cand
    ranking = host.ranker.rank(attempt.candidates, prompt=turn.text)
    by_index = {c.index: c for c in attempt.candidates}
    for position, idx in enumerate(ranking.order):
        by_index[idx].rank = position
    attempt.chosen = ranking.order[0] if ranking.order else None
    if len(attempt.candidates) > 1:
        host.emit(CandidatesRanked(turn.index, attempt.index, ranking.order, ranking.scores))
    return attempt.best
