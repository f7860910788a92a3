"""The multi-turn synthesis loop: prompt -> model -> truncated code -> kernel -> checks -> commit.

One ``Engine`` drives one session in one kernel. ``run_turn`` builds the prompt from the
committed history, generates in a worker thread (tokens stream back as events), runs the code in
the kernel, checks it (an error always fails; optional assert tests; an optional expected printed
value) and commits it, or refines it CYCLE-style (``refine.py``), sampling and ranking several
candidates per attempt when asked (``ranking.py``).

Invariant: after a turn ends, the kernel holds exactly the state of the committed turns, or the
engine knows it does not (``dirty``) and restores it (restart + replay) before running anything
else. So a failed attempt's side effects never leak into the next attempt or turn.

Everything the engine does is reported through typed events (``assistant.events``); it never
imports a UI.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Callable
from typing import Any, Literal

from . import prompting
from .config import Settings
from .events import (
    AttemptStarted,
    CheckFinished,
    CodeReady,
    Event,
    ExecutionFinished,
    ExecutionStarted,
    Notice,
    StateRestored,
    TokenChunk,
    TurnCommitted,
    TurnFailed,
    TurnStarted,
)
from .execution.kernel import Kernel
from .execution.result import Printed
from .models.base import Cancelled, Completion, Model, ModelError, Request
from .ranking import ExecutionRanker, Ranker
from .session import Attempt, Candidate, Session, Turn
from .truncation import truncate

Style = Literal["completion", "chat"]
Matcher = Callable[[Any, "Printed | None"], bool]


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


UNSET: Any = _Unset()

# Base-model completions stop where MTPB truncation would cut anyway: saves decode time.
COMPLETION_STOPS = ["\n#", "\n'''", '\n"""', "\n\n\n"]


class Engine:
    """Runs turns of one session in one kernel and reports everything as events."""

    def __init__(
        self,
        model: Model,
        kernel: Kernel,
        settings: Settings | None = None,
        session: Session | None = None,
        on_event: Callable[[Event], None] | None = None,
        style: Style = "completion",
        ranker: Ranker | None = None,
    ) -> None:
        self.model = model
        self.kernel = kernel
        self.settings = settings or Settings()
        self.session = session or Session(model=getattr(model, "name", ""))
        if not self.session.model:
            self.session.model = getattr(model, "name", "")
        self.on_event = on_event
        self.style: Style = style
        self.ranker: Ranker = ranker or ExecutionRanker()
        self.matcher: Matcher = values_match  # expected-value comparison; MTPB plugs its own
        self.prefix: str | None = None  # completion prefix; None: the MTPB one
        self.max_resamples = 2  # extra generations allowed when a refinement copies old code
        self.strict_truncation = False  # True: MTPB's literal cut rules (see truncation.py)
        self._cancel = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executing = False
        self._interrupt_task: asyncio.Future[None] | None = None
        self._current = 0
        self._turn_meta: dict[int, dict[str, Any]] = {}
        # A loaded session's kernel is fresh: replay its committed turns before running code.
        self.dirty = bool(self.session.committed_turns())
        self._dirty_reason = "resume"
        self._last_run: Candidate | None = None  # the candidate whose state the kernel holds

    # -- events and cancellation ------------------------------------------------------------
    def emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def cancel(self) -> None:
        """Stop the current turn: generation stops between tokens, running code is interrupted.

        Safe to call from any thread.
        """
        self._cancel.set()
        loop = self._loop
        if self._executing and loop is not None and not loop.is_closed():

            def _interrupt() -> None:
                # Kept so the task is not garbage-collected before it runs.
                self._interrupt_task = asyncio.ensure_future(self.kernel.interrupt())

            loop.call_soon_threadsafe(_interrupt)

    @property
    def cancelled(self) -> bool:
        return self._cancel.is_set()

    # -- public operations ------------------------------------------------------------------
    async def run_turn(
        self,
        text: str,
        *,
        tests: list[str] | None = None,
        expect: Any = UNSET,
        final: bool = True,
        attempts: int | None = None,
        candidates: int | None = None,
        meta: dict[str, Any] | None = None,
    ) -> Turn:
        """Synthesize, run, check and commit (or refine) one natural-language turn."""
        turn = self.session.new_turn(
            text,
            tests=list(tests or []),
            expect=None if expect is UNSET else expect,
            has_expect=expect is not UNSET,
            final=final,
        )
        self._turn_meta[turn.index] = dict(meta or {})
        return await self._drive(turn, attempts, candidates)

    async def retry(self, *, attempts: int | None = None, candidates: int | None = None) -> Turn:
        """Run the last turn again (new attempts are appended; old ones are kept)."""
        if not self.session.turns:
            raise ValueError("there is no turn to retry")
        turn = self.session.turns[-1]
        was_committed = turn.committed
        turn.status, turn.code, turn.edited = "pending", None, False
        if was_committed or self.dirty or self._last_run is not None:
            await self.restore("retry")
        return await self._drive(turn, attempts, candidates)

    async def undo(self) -> Turn | None:
        """Remove the last turn and bring the kernel back to the state before it."""
        if not self.session.turns:
            return None
        turn = self.session.turns.pop()
        self._turn_meta.pop(turn.index, None)
        if turn.attempts:
            await self.restore("undo")
        return turn

    async def edit(self, turn_index: int, code: str) -> Turn:
        """Run hand-edited code for a turn; committed (``edited``) when it passes its checks.

        Later committed turns are replayed on top; ``StateRestored.failed`` names any that no
        longer work.
        """
        turn = self.session.turns[turn_index]
        self._begin(turn)
        await self.restore("edit", upto=turn_index)
        attempt = Attempt(index=len(turn.attempts), reason="edit")
        turn.attempts.append(attempt)
        self.emit(AttemptStarted(turn.index, attempt.index, attempt.index + 1, reason="edit"))
        cand = Candidate(index=0, code=code, raw=code)
        attempt.candidates.append(cand)
        attempt.chosen = 0
        self.emit(CodeReady(turn.index, attempt.index, 0, code, raw=code))
        await self.run_candidate(turn, attempt, cand)
        if cand.passed:
            turn.code, turn.status, turn.edited = code, "passed", True
            self.emit(TurnCommitted(turn.index, attempt.index, 0, code))
        if not cand.passed or turn_index < len(self.session.turns) - 1:
            await self.restore("edit")
        else:
            self.dirty = False
        return turn

    async def restore(self, reason: str = "resume", *, upto: int | None = None) -> list[int]:
        """Restart the kernel and replay committed turns (those before ``upto`` if given).

        Emits StateRestored with the replayed turn indices and those that now fail.
        """
        await self.kernel.restart()
        replayed: list[int] = []
        failed: list[int] = []
        for t in self.session.committed_turns():
            if upto is not None and t.index >= upto:
                break
            res = await self.kernel.execute(
                t.code or "", final=t.final, timeout=self.settings.timeout
            )
            replayed.append(t.index)
            if not res.ok:
                failed.append(t.index)
        self.dirty = upto is not None  # a partial replay is not the committed state
        self._dirty_reason = "retry"
        self._last_run = None
        self.emit(StateRestored(self._current, replayed=replayed, reason=reason, failed=failed))
        return failed

    # -- the turn loop (used by refine.py and ranking.py too) --------------------------------
    def _begin(self, turn: Turn) -> None:
        self._cancel.clear()
        self._loop = asyncio.get_running_loop()
        self._current = turn.index

    async def _drive(self, turn: Turn, attempts: int | None, candidates: int | None) -> Turn:
        from .refine import run_attempts

        self._begin(turn)
        self.emit(TurnStarted(turn.index, turn.text))
        budget = max(1, attempts if attempts is not None else self.settings.attempts)
        n = max(1, candidates if candidates is not None else self.settings.candidates)
        try:
            await run_attempts(self, turn, budget=budget, n=n)
        except asyncio.CancelledError:
            self._cancel.set()  # the worker thread stops at its next token
            turn.status = "cancelled"
            raise
        except Cancelled:
            turn.status = "cancelled"
            self.emit(Notice(turn.index, "info", "generation cancelled"))
            self.emit(TurnFailed(turn.index, "cancelled"))
        except ModelError as exc:
            turn.status = "failed"
            self.emit(Notice(turn.index, "error", str(exc)))
            self.emit(TurnFailed(turn.index, f"model error: {exc}"))
        return turn

    def history(self, upto: int) -> list[prompting.PastTurn]:
        return [
            prompting.PastTurn(t.text, t.code or "")
            for t in self.session.committed_turns()
            if t.index < upto
        ]

    def build_request(
        self,
        turn: Turn,
        attempt: int,
        *,
        faulty: Candidate | None = None,
        temperature: float | None = None,
        candidate: int = 0,
    ) -> Request:
        hist = self.history(turn.index)
        s = self.settings
        req = Request(
            max_tokens=s.max_tokens,
            temperature=s.temperature if temperature is None else temperature,
            top_p=s.top_p,
            seed=s.seed + 7919 * turn.index + 1009 * attempt,
            meta={
                **self._turn_meta.get(turn.index, {}),
                "turn": turn.index,
                "attempt": attempt,
                "candidate": candidate,
            },
        )
        if self.style == "chat":
            req.messages = (
                prompting.refine_messages(hist, turn.text, faulty.code, faulty.feedback)
                if faulty is not None
                else prompting.chat_messages(hist, turn.text)
            )
        else:
            req.prompt = (
                prompting.refine_prompt(hist, turn.text, faulty.code, faulty.feedback, self.prefix)
                if faulty is not None
                else prompting.multi_turn_prompt(hist, turn.text, self.prefix)
            )
            req.stop = list(COMPLETION_STOPS)
        return req

    async def generate(self, request: Request, n: int, turn: int, attempt: int) -> list[Completion]:
        """Run the backend in a worker thread; chunks come back to the loop as TokenChunk."""
        loop = asyncio.get_running_loop()

        def chunk(index: int, text: str) -> None:
            loop.call_soon_threadsafe(self.emit, TokenChunk(turn, attempt, index, text))

        if n == 1:
            comp = await asyncio.to_thread(
                self.model.generate, request, lambda t: chunk(0, t), self._cancel
            )
            return [comp]
        return await asyncio.to_thread(self.model.sample, request, n, chunk, self._cancel)

    def cut(self, raw: str) -> str:
        return truncate(raw, chat=self.style == "chat", strict=self.strict_truncation)

    async def ensure_clean(self) -> None:
        if self.dirty:
            await self.restore(self._dirty_reason)

    async def run_candidate(self, turn: Turn, attempt: Attempt, cand: Candidate) -> None:
        """Execute one candidate from the committed state, then check it."""
        await self.ensure_clean()
        self.emit(ExecutionStarted(turn.index, attempt.index, cand.index))
        self._executing = True
        try:
            res = await self.kernel.execute(
                cand.code, final=turn.final, timeout=self.settings.timeout
            )
        finally:
            self._executing = False
        # Whatever ran is not committed yet: the next run needs a restore unless this commits.
        self.dirty, self._dirty_reason = True, "kernel died" if res.restarted else "retry"
        self._last_run = cand
        cand.result = res
        self.emit(ExecutionFinished(turn.index, attempt.index, cand.index, res))
        if self.cancelled:
            cand.feedback = "cancelled"
            return
        await self._check(turn, attempt, cand)

    async def _check(self, turn: Turn, attempt: Attempt, cand: Candidate) -> None:
        res = cand.result
        assert res is not None
        cand.tests_total = len(turn.tests)
        problems: list[str] = []
        if not cand.code.strip():
            problems.append("The model produced no code for this step.")
        if not res.ok:
            problems.append(prompting.error_feedback(res))
        else:
            for test in turn.tests:
                tres = await self.kernel.execute(test, timeout=self.settings.timeout)
                if tres.ok:
                    cand.tests_passed += 1
                elif len(problems) < 3:
                    problems.append(f"Test failed: {test}\n{prompting.error_feedback(tres)}")
            if turn.has_expect and not self.matcher(turn.expect, res.last_printed):
                shown = res.last_printed.repr if res.last_printed is not None else None
                problems.append(prompting.mismatch_feedback(turn.expect, shown))
        cand.passed = not problems
        cand.feedback = "\n".join(problems)
        self.emit(
            CheckFinished(
                turn.index,
                attempt.index,
                cand.index,
                cand.passed,
                cand.feedback,
                cand.tests_passed,
                cand.tests_total,
            )
        )

    async def commit(self, turn: Turn, attempt: Attempt, cand: Candidate) -> None:
        turn.code, turn.status = cand.code, "passed"
        if self._last_run is cand:
            self.dirty = False
        else:
            # Another candidate ran last: rebuild the state with the chosen one committed.
            await self.restore("candidate")
        self.emit(TurnCommitted(turn.index, attempt.index, cand.index, cand.code))


# -- expected-value check ---------------------------------------------------------------------
def _json_like(value: Any) -> Any:
    """The shape the kernel's print capture gives a value (tuples/sets as lists, ...)."""
    if isinstance(value, (list, tuple)):
        return [_json_like(v) for v in value]
    if isinstance(value, (set, frozenset)):
        items = [_json_like(v) for v in value]
        try:
            return sorted(items)
        except TypeError:
            return sorted(items, key=repr)
    if isinstance(value, dict):
        if all(isinstance(k, str) for k in value):
            return {k: _json_like(v) for k, v in value.items()}
        return {"__pairs__": [[_json_like(k), _json_like(v)] for k, v in value.items()]}
    if hasattr(value, "tolist") and type(value).__module__.split(".")[0] in ("numpy", "pandas"):
        return _json_like(value.tolist())
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b if isinstance(a, bool) and isinstance(b, bool) else False
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return math.isclose(a, b, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    return bool(a == b)


def values_match(expected: Any, printed: Printed | None) -> bool:
    """Does the cell's last printed object equal ``expected``? Numbers within 1e-6."""
    if printed is None:
        return False
    if printed.json and _same(_json_like(expected), printed.value):
        return True
    return printed.repr in (repr(expected), str(expected))
