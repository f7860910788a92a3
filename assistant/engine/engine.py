"""The multi-turn synthesis loop: prompt -> model -> truncated code -> kernel -> checks -> commit.

One ``Engine`` drives one session in one kernel. ``run_turn`` builds the prompt from the
committed history, generates in a worker thread (tokens stream back as events), runs the code in
the kernel, checks it (an error always fails; optional assert tests; an optional expected printed
value) and commits it, or refines it CYCLE-style (``loop.py``), sampling and ranking several
candidates per attempt when asked (``loop.run_and_rank``, ``ranking.py``).

Invariant: after a turn ends, the kernel holds exactly the state of the committed turns, or the
engine knows it does not (``dirty``) and restores it (restart + replay) before running anything
else. So a failed attempt's side effects never leak into the next attempt or turn.

The kernel also runs the prompt's prefix (``import numpy as np``) once per kernel process, as
upstream MTPB runs it with every program. Only committed turns enter later prompts.

Everything the engine does is reported through typed events (``assistant.engine.events``); it never
imports a UI. Public operations (``run_turn``, ``retry``, ``undo``, ``edit``, ``restore``) run
one at a time; ``cancel()`` may be called from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable
from typing import Any, Literal

from assistant.config import Settings
from assistant.engine import prompting
from assistant.engine.checks import check_candidate, check_event, did_not_compile, values_match
from assistant.engine.events import (
    AttemptStarted,
    CodeReady,
    Event,
    ExecutionFinished,
    ExecutionStarted,
    Notice,
    RestoreReason,
    StateRestored,
    TokenChunk,
    TurnCommitted,
    TurnFailed,
    TurnStarted,
)
from assistant.engine.input_answers import live_answers, replay_answers
from assistant.engine.ranking import ExecutionRanker, Ranker, get_ranker
from assistant.engine.session import Attempt, Candidate, Session, Turn
from assistant.engine.truncation import truncate, truncate_program, upstream_cut
from assistant.execution.kernel import Kernel
from assistant.execution.result import Printed
from assistant.models.base import Cancelled, Completion, Model, ModelError, Request
from assistant.models.stop_filter import FENCE_END

Style = Literal["completion", "chat"]
Matcher = Callable[[Any, "Printed | None"], bool]
# Answers input() for the running code: (prompt, password) -> the text typed by the user.
Ask = Callable[[str, bool], Awaitable[str]]


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


UNSET: Any = _Unset()
log = logging.getLogger(__name__)

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
        named = getattr(self.settings, "ranker", None)
        self.ranker: Ranker = ranker or (get_ranker(named) if named else ExecutionRanker())
        self.matcher: Matcher = values_match  # expected-value comparison; MTPB plugs its own
        self.prefix: str | None = None  # completion prefix; None: the MTPB one
        self.turn_separator = prompting.TURN_SEPARATOR  # UPSTREAM_SEPARATOR: upstream prompts
        self.max_resamples = 2  # extra generations allowed when a refinement copies old code
        self.strict_truncation = False  # True: MTPB's literal cut rules (see truncation.py)
        self.whole_program = False  # True: a turn is a whole program (single-turn control)
        # True (MTPB runs): upstream's exact prompt bytes and truncation, so results compare
        # with published ones; overrides turn_separator and strict_truncation.
        self.mtpb_exact = False
        self.ask: Ask | None = None  # answers input() (see input_answers.py); None: batch
        self._cancel = threading.Event()
        self._callback_failed = False  # reported once; later failures are only logged
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executing = False
        self._interrupt_task: asyncio.Future[None] | None = None
        self._current = 0
        self._turn_meta: dict[int, dict[str, Any]] = {}
        # One operation at a time: a second run_turn (or /undo) waits for the first.
        self._busy = asyncio.Lock()
        # A loaded session's kernel is fresh: replay its committed turns before running code.
        self.dirty = bool(self.session.committed_turns())
        self._dirty_reason: RestoreReason = "resume"
        self._last_run: Candidate | None = None  # the candidate whose state the kernel holds
        self._setup_done = False  # the prefix's imports ran in this kernel process
        # A kernel with snapshots (the fork runtime): a frozen copy of the committed state is
        # taken before a candidate runs, so a failed one costs a rollback, not a replay.
        self._snapshot = False

    # -- events and cancellation ------------------------------------------------------------
    def emit(self, event: Event) -> None:
        """To the front end; what its callback raises is logged, shown once, never fatal."""
        if self.on_event is None:
            return
        try:
            self.on_event(event)
        except Exception as exc:
            log.warning("event callback failed on %s", type(event).__name__, exc_info=True)
            if not self._callback_failed:
                self._callback_failed = True
                message = f"the front end failed to handle an event ({type(exc).__name__}: {exc})"
                with contextlib.suppress(Exception):
                    self.on_event(Notice(event.turn, "warning", message))

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
        print_last: bool = True,
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
            print_last=print_last,
        )
        self._turn_meta[turn.index] = dict(meta or {})
        async with self._busy:
            return await self._drive(turn, attempts, candidates)

    async def retry(self, *, attempts: int | None = None, candidates: int | None = None) -> Turn:
        """Run the last turn again (new attempts are appended; old ones are kept)."""
        async with self._busy:
            return await self._retry(attempts, candidates)

    async def _retry(self, attempts: int | None, candidates: int | None) -> Turn:
        if not self.session.turns:
            raise ValueError("there is no turn to retry")
        turn = self.session.turns[-1]
        was_committed = turn.committed
        turn.status, turn.code, turn.edited = "pending", None, False
        if was_committed or self.dirty:
            await self._restore("retry")
        return await self._drive(turn, attempts, candidates)

    async def undo(self) -> Turn | None:
        """Remove the last turn and bring the kernel back to the state before it."""
        async with self._busy:
            if not self.session.turns:
                return None
            turn = self.session.turns.pop()
            self._turn_meta.pop(turn.index, None)
            if turn.committed or self.dirty:
                await self._restore("undo")
            return turn

    async def edit(self, turn_index: int, code: str) -> Turn:
        """Run hand-edited code for a turn; committed (``edited``) when it passes its checks.

        Later committed turns are replayed on top; ``StateRestored.failed`` names any that no
        longer work.
        """
        async with self._busy:
            return await self._edit(turn_index, code)

    async def _edit(self, turn_index: int, code: str) -> Turn:
        turn = self.session.turns[turn_index]
        self._begin(turn)
        await self._restore("edit", upto=turn_index)
        self.dirty = False  # the partial state is exactly what the edited code runs on
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
            turn.inputs = list(cand.inputs)
            self.emit(TurnCommitted(turn.index, attempt.index, 0, code))
        if not cand.passed or turn_index < len(self.session.turns) - 1:
            await self._restore("edit")
        else:
            self.dirty = False
        return turn

    async def restore(
        self, reason: RestoreReason = "resume", *, upto: int | None = None
    ) -> list[int]:
        """Restart the kernel and replay committed turns (those before ``upto`` if given).

        Emits StateRestored with the replayed turn indices and those that now fail.
        """
        async with self._busy:
            return await self._restore(reason, upto=upto)

    async def _restore(self, reason: RestoreReason, *, upto: int | None = None) -> list[int]:
        # The snapshot is the committed state when the last candidate failed ("retry"); a
        # commit, undo or edit changes that state (and a commit drops the snapshot).
        if self._snapshot and upto is None and reason == "retry":
            self._snapshot = False
            if await self.kernel.checkpoint("rollback"):  # type: ignore[attr-defined]
                self.dirty, self._last_run = False, None
                self.emit(StateRestored(self._current, replayed=[], reason=reason, failed=[]))
                return []
        self._snapshot = False
        await self.kernel.restart()
        await self._setup()
        replayed: list[int] = []
        failed: list[int] = []
        for t in self.session.committed_turns():
            if upto is not None and t.index >= upto:
                break
            res = await self.kernel.execute(
                t.code or "",
                print_last=t.print_last,
                timeout=self.settings.timeout,
                stdin=replay_answers(self, t),
            )
            replayed.append(t.index)
            if not res.ok:
                failed.append(t.index)
        self.dirty = upto is not None  # a partial replay is not the committed state
        self._dirty_reason = "retry"
        self._last_run = None
        self.emit(StateRestored(self._current, replayed=replayed, reason=reason, failed=failed))
        return failed

    # -- the turn loop (loop.py calls back into these) --------------------------------------
    def _begin(self, turn: Turn) -> None:
        self._cancel.clear()
        self._loop = asyncio.get_running_loop()
        self._current = turn.index

    async def _drive(self, turn: Turn, attempts: int | None, candidates: int | None) -> Turn:
        from assistant.engine.loop import run_attempts

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
            self.emit(TurnFailed(turn.index, "cancelled", "cancelled"))
        except ModelError as exc:
            turn.status = "failed"
            self.emit(Notice(turn.index, "error", str(exc)))
            self.emit(TurnFailed(turn.index, f"model error: {exc}", "model error"))
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
        meta = self._turn_meta.get(turn.index, {})
        sample = meta.get("sample", 0)
        # Distinct seeds per turn, attempt and MTPB sample, reproducible from settings.seed.
        seed = s.seed + 7919 * turn.index + 1009 * attempt
        seed += 104729 * sample if isinstance(sample, int) else 0
        req = Request(
            max_tokens=s.max_tokens,
            temperature=s.temperature if temperature is None else temperature,
            top_p=s.top_p,
            seed=seed,
            # The caller's meta goes last, as specified: it may remap keys for scripted models.
            meta={"turn": turn.index, "attempt": attempt, "candidate": candidate, **meta},
        )
        variant = prompting.refine_variant(s.refine_prompt, self.style)
        if self.style == "chat":
            req.messages = (
                prompting.refine_messages(
                    hist, turn.text, faulty.code, faulty.feedback, None, variant
                )
                if faulty is not None
                else prompting.chat_messages(hist, turn.text)
            )
            req.stop = [FENCE_END]  # only the first code block is kept: stop decoding there
            if faulty is not None and variant == "primed":
                req.prime = prompting.CHAT_PRIME
        else:
            sep, exact = self.turn_separator, self.mtpb_exact
            req.prompt = (
                prompting.refine_prompt(
                    hist, turn.text, faulty.code, faulty.feedback, self.prefix, sep, variant, exact
                )
                if faulty is not None
                else prompting.multi_turn_prompt(hist, turn.text, self.prefix, sep, exact)
            )
            req.stop = [] if self.whole_program else list(COMPLETION_STOPS)
        return req

    async def generate(self, request: Request, n: int, turn: int, attempt: int) -> list[Completion]:
        """Run the backend in a worker thread; chunks come back to the loop as TokenChunk."""
        loop = asyncio.get_running_loop()

        def chunk(index: int, text: str) -> None:
            loop.call_soon_threadsafe(self.emit, TokenChunk(turn, attempt, index, text))

        if request.prime:
            for i in range(n):
                chunk(i, request.prime)
        if n == 1:
            comp = await asyncio.to_thread(
                self.model.generate, request, lambda t: chunk(0, t), self._cancel
            )
            comps = [comp]
        else:
            comps = await asyncio.to_thread(self.model.sample, request, n, chunk, self._cancel)
        if request.prime:  # the answer's start was given, not generated: put it back
            for comp in comps:
                if request.prime.strip() not in comp.text:  # (canned answers may have it)
                    comp.text = request.prime + comp.text
        return comps

    def extract_code(self, raw: str, stop: str | None = None) -> str:
        """One turn's code from a completion; ``stop``: the stop sequence that ended it."""
        if self.whole_program:
            return truncate_program(raw, chat=self.style == "chat")
        if self.mtpb_exact and self.style != "chat":
            return upstream_cut(raw, stop)
        return truncate(raw, chat=self.style == "chat", strict=self.strict_truncation)

    async def ensure_clean(self) -> None:
        if self.dirty:
            await self._restore(self._dirty_reason)
        elif not self._setup_done:
            await self._setup()

    async def _setup(self) -> None:
        """Run the prompt's prefix (``import numpy as np``): the model was told it ran.

        Upstream MTPB executes the prefix as part of every program; without it, code using
        ``np`` fails with a NameError that is the harness's fault, not the model's.
        """
        self._setup_done = True
        code = self.prefix if self.prefix is not None else prompting.mtpb_prefix()
        if not code.strip():
            return
        res = await self.kernel.execute(code, timeout=self.settings.timeout)
        if not res.ok:
            self.emit(Notice(self._current, "warning", f"setup code failed: {res.feedback()}"))

    async def run_candidate(self, turn: Turn, attempt: Attempt, cand: Candidate) -> None:
        """Execute one candidate from the committed state, then check it."""
        await self.ensure_clean()
        if not self._snapshot and hasattr(self.kernel, "checkpoint"):
            self._snapshot = await self.kernel.checkpoint("snapshot")
        self.emit(ExecutionStarted(turn.index, attempt.index, cand.index))
        self._executing = True
        cand.inputs = []
        try:
            res = await self.kernel.execute(
                cand.code,
                print_last=turn.print_last,
                timeout=self.settings.timeout,
                stdin=live_answers(self, turn, attempt, cand),
            )
        finally:
            self._executing = False
        # Whatever ran is not committed yet: the next run needs a restore unless this commits.
        # Code that did not even compile never ran, so it changed nothing (saves a restart).
        if res.restarted or not did_not_compile(cand.code, res):
            self.dirty, self._dirty_reason = True, "kernel died" if res.restarted else "retry"
            self._last_run = cand
        cand.result = res
        self.emit(ExecutionFinished(turn.index, attempt.index, cand.index, res))
        if self.cancelled:
            cand.feedback = "cancelled"
            return
        await self._check(turn, attempt, cand)

    async def _check(self, turn: Turn, attempt: Attempt, cand: Candidate) -> None:
        await check_candidate(self.kernel, turn, cand, self.matcher, self.settings.timeout)
        self.emit(check_event(turn, attempt, cand))

    async def commit(self, turn: Turn, attempt: Attempt, cand: Candidate) -> None:
        turn.code, turn.status = cand.code, "passed"
        turn.inputs = list(cand.inputs)
        if self._last_run is cand:
            self.dirty = False
            if self._snapshot:  # the committed state moved on: the copy is stale
                self._snapshot = False
                await self.kernel.checkpoint("commit")  # type: ignore[attr-defined]
        else:
            # Another candidate ran last: rebuild the state with the chosen one committed.
            await self._restore("candidate")
        self.emit(TurnCommitted(turn.index, attempt.index, cand.index, cand.code))
