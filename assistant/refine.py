"""CYCLE-style self-refinement: when a turn's code fails, show the model its code and the
execution feedback, and ask again; every attempt runs from a clean kernel state.

Small code models often "fix" code by repeating it (CYCLE, Ding et al. 2024, calls this the
copy problem). A refinement that is the same as an earlier faulty attempt, literally or after
normalising whitespace and comments, is not run again: it is recorded (``Attempt.copy_of``,
``Attempt.copies_rejected``, a ``CopyRejected`` event) and the model is resampled at a higher
temperature (reason ``"resample"``), at most ``engine.max_resamples`` times in a row. Resamples
do not use up the attempt budget, which counts attempts whose code actually ran.

An answer with no code (empty, comments or docstrings only: small models often continue the
feedback's comment lines) is a failed attempt that counts against the budget; it is not run
(``ranking.run_and_rank``) and the next refinement is told "the model wrote no code".
"""

from __future__ import annotations

import ast
import io
import tokenize
from typing import TYPE_CHECKING

from .checks import is_no_code
from .events import AttemptStarted, CodeReady, CopyRejected, TurnFailed
from .session import Attempt, Candidate, Turn

if TYPE_CHECKING:
    from .engine import Engine

RESAMPLE_STEP = 0.3  # temperature added per consecutive copy
TEMPERATURE_CAP = 1.2


def normalize_code(code: str) -> str:
    """A form of ``code`` that ignores whitespace, comments and formatting.

    Parsable code is compared by its AST (so quoting and parentheses do not matter either);
    anything else by its token stream without comments and blank lines.
    """
    try:
        return ast.dump(ast.parse(code))
    except (SyntaxError, ValueError):
        pass
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
    parts: list[str] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(code).readline):
            if tok.type not in skip:
                parts.append(tok.string if tok.type != tokenize.NEWLINE else ";")
    except (tokenize.TokenError, IndentationError, SyntaxError):
        # Unterminated code: fall back to the lines without comments and inner spacing.
        lines = (ln.split("#", 1)[0] for ln in code.splitlines())
        return "\n".join(" ".join(ln.split()) for ln in lines if ln.strip())
    return " ".join(parts)


def find_copy(code: str, faulty: list[tuple[int, str, str]]) -> int | None:
    """The attempt index of an earlier faulty candidate ``code`` repeats, else None.

    ``faulty`` holds (attempt index, code, normalized code).
    """
    norm = None
    for attempt, old, old_norm in faulty:
        if code == old:
            return attempt
        norm = norm if norm is not None else normalize_code(code)
        if norm == old_norm:
            return attempt
    return None


def _faulty_so_far(turn: Turn) -> list[tuple[int, str, str]]:
    out = []
    for a in turn.attempts:
        for c in a.candidates:
            if c.result is not None and not c.passed and not c.no_code:
                out.append((a.index, c.code, normalize_code(c.code)))
    return out


async def run_attempts(engine: Engine, turn: Turn, *, budget: int, n: int) -> None:
    """Attempt a turn until a candidate passes, ``budget`` attempts have run, or cancel."""
    base_temp = engine.settings.temperature
    temperature = base_temp
    executed = 0
    resamples = 0
    faulty = _faulty_so_far(turn)  # a retry must not rerun what already failed either
    last_faulty: Candidate | None = None
    first_index = len(turn.attempts)
    while executed < budget:
        if engine.cancelled:
            break
        index = len(turn.attempts)
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
            code = engine.cut(comp.text, comp.stop)
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
        from .ranking import run_and_rank

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
        engine.emit(TurnFailed(turn.index, "cancelled"))
        return
    turn.status = "failed"
    tried = len(turn.attempts) - first_index
    why = " (the model wrote no code)" if last_faulty is not None and last_faulty.no_code else ""
    engine.emit(TurnFailed(turn.index, f"no passing code after {tried} attempt(s){why}"))
