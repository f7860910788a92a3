"""Permission to run code: the ``EngineOptions.approve`` hook, asked before a candidate runs.

A front end that must ask its user first (the ACP agent asks its client with
``session/request_permission``) passes ``approve``; the engine stays UI-agnostic and only sees
yes or no. A refused candidate is a failed candidate that never reached the kernel: its result
is an error that says so (``REFUSED``), it is checked no further, and the turn goes on like
after any failure (a refinement, or the end of the budget).
"""

from __future__ import annotations

from collections.abc import Callable

from assistant.engine.checks import check_event
from assistant.engine.events import EngineEvent
from assistant.engine.options import Approve
from assistant.engine.session import Attempt, Candidate, Turn
from assistant.execution.result import ExecResult

REFUSED = "refused by the user: the code was not run"


def refused_result() -> ExecResult:
    """The result recorded for a candidate the user did not allow to run."""
    return ExecResult(status="error", message=REFUSED)


async def approved(
    approve: Approve | None,
    emit: Callable[[EngineEvent], None],
    turn: Turn,
    attempt: Attempt,
    cand: Candidate,
) -> bool:
    """True when ``cand`` may run; else record the refusal on it and emit its check."""
    if approve is None or await approve(turn.index, attempt.index, cand.index, cand.code):
        return True
    cand.result = refused_result()
    cand.passed, cand.feedback = False, REFUSED
    cand.tests_passed, cand.tests_total = 0, len(turn.tests)
    emit(check_event(turn, attempt, cand))
    return False
