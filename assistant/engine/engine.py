"""The multi-turn synthesis loop: prompt -> model -> truncated code -> kernel -> checks -> commit.

One ``Engine`` drives one session in one kernel. ``run_turn`` freezes what the turn's prompts
depend on (``request.TurnContext``: options, style, settings, committed history, meta) and hands
the turn to ``loop.py``, which owns its policy: requests (``request.py``), code cuts
(``truncation.extract_code``), copy rejection, CYCLE-style refinement, running and ranking
several candidates (``ranking.py``). The loop reaches back only through ``loop.AttemptHost``:
the model (``generate``, tokens streamed back as events), the kernel state (``run_candidate``
checks a candidate, ``commit``), events and cancellation. So the engine is the owner of the
resources and of the invariant below, and the turn's logic is testable without either.

Invariant: after a turn ends, the kernel holds exactly the state of the committed turns, or the
engine knows it does not (``dirty``) and restores it before running anything else
(``kernel_state.CommittedState``). So a failed attempt's side effects never leak into the next
attempt or turn. Only committed turns enter later prompts.

Everything the engine does is reported through typed events (``assistant.engine.events``); it never
imports a UI. Public operations (``run_turn``, ``retry``, ``undo``, ``edit``, ``restore``) run
one at a time; ``cancel()`` may be called from any thread.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import threading
from collections.abc import Callable, Iterator
from typing import Any

from assistant.config import Settings
from assistant.engine import prompting, state
from assistant.engine.approval import approved
from assistant.engine.checks import check_candidate, check_event, did_not_compile
from assistant.engine.derived import derive
from assistant.engine.events import (
    AttemptStarted,
    CodeReady,
    EngineEvent,
    ExecutionFinished,
    ExecutionStarted,
    Notice,
    RestoreReason,
    TokenChunk,
    TurnCommitted,
    TurnStarted,
)
from assistant.engine.generation import generate_in_thread
from assistant.engine.input_answers import live_answers
from assistant.engine.kernel_state import CommittedState
from assistant.engine.loop import attempt_turn
from assistant.engine.options import EngineOptions, Style
from assistant.engine.ranking import ExecutionRanker, Ranker, get_ranker
from assistant.engine.request import TurnContext
from assistant.engine.session import Attempt, Candidate, Session, Turn
from assistant.execution.runtime import Runtime
from assistant.models.base import Completion, Model, Request


class _Unset:
    def __repr__(self) -> str:
        return "<unset>"


UNSET: Any = _Unset()
log = logging.getLogger(__name__)


class Engine(CommittedState):
    """Runs turns of one session in one kernel and reports everything as events."""

    def __init__(
        self,
        model: Model,
        kernel: Runtime,
        settings: Settings | None = None,
        session: Session | None = None,
        on_event: Callable[[EngineEvent], None] | None = None,
        style: Style = "completion",
        ranker: Ranker | None = None,
        options: EngineOptions | None = None,
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
        # Prompt, cut, check and input() rules (options.py); swapped only by overriding().
        self.options = options or EngineOptions()
        self._cancel = threading.Event()
        self._callback_failed = False  # reported once; later failures are only logged
        self._loop: asyncio.AbstractEventLoop | None = None
        self._executing = False
        self._interrupt_task: asyncio.Future[None] | None = None
        self._current = 0
        self._turn_meta: dict[int, dict[str, Any]] = {}
        # One operation at a time: a second run_turn (or /undo) waits for the first.
        self._busy = asyncio.Lock()
        self._init_state()

    # -- options ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def overriding(
        self,
        *,
        model: Model | None = None,
        settings: Settings | None = None,
        options: EngineOptions | None = None,
    ) -> Iterator[Engine]:
        """Another model, settings or options for a while, then the old ones back.

        The TUI plays an MTPB problem inside the user's session this way: the same kernel
        state and transcript, but upstream's prompts and grading (and maybe the reference
        model) only while the problem plays.
        """
        saved = self.model, self.settings, self.options
        self.model = model if model is not None else self.model
        self.settings = settings if settings is not None else self.settings
        self.options = options if options is not None else self.options
        try:
            yield self
        finally:
            self.model, self.settings, self.options = saved

    # -- events and cancellation ------------------------------------------------------------
    def emit(self, event: EngineEvent) -> None:
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
        if loop is not None and not loop.is_closed():
            # Decided on the loop, where run_candidate checks the flag and starts the cell in
            # one step: either it saw the flag and runs nothing, or the cell is in flight now.
            loop.call_soon_threadsafe(self._interrupt_if_running)

    def _interrupt_if_running(self) -> None:
        if self._executing:
            # Kept so the task is not garbage-collected before it runs.
            self._interrupt_task = asyncio.ensure_future(self.kernel.interrupt())

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
        if self.options.derived_checks:
            turn.derived = [c.to_dict() for c in derive(text)]
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
            log.info("turn %d committed: edited code", turn.index)
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

    # -- a turn (loop.py drives it through these: its AttemptHost) -------------------------
    def _begin(self, turn: Turn) -> None:
        self._cancel.clear()
        self._loop = asyncio.get_running_loop()
        self._current = turn.index

    async def _drive(self, turn: Turn, attempts: int | None, candidates: int | None) -> Turn:
        self._begin(turn)
        self.emit(TurnStarted(turn.index, turn.text))
        budget = max(1, attempts if attempts is not None else self.settings.attempts)
        n = max(1, candidates if candidates is not None else self.settings.candidates)
        ctx = self._context(turn)
        if self.options.prompt_state:
            await self.ensure_clean()  # the state shown is the committed one
            ctx = dataclasses.replace(ctx, state=await state.read(self.kernel))
            if ctx.state:
                turn.shown = state.with_state(turn.text, ctx.state, self.style)
        await attempt_turn(self, turn, ctx, budget=budget, n=n)
        return turn

    def _context(self, turn: Turn) -> TurnContext:
        """What the turn's requests are built from, frozen now (``request.py``)."""
        history = [
            prompting.PastTurn(t.shown or t.text, t.code or "")
            for t in self.session.committed_turns()
            if t.index < turn.index
        ]
        meta = self._turn_meta.get(turn.index, {})
        return TurnContext(self.options, self.style, self.settings, tuple(history), meta)

    async def generate(self, request: Request, n: int, turn: int, attempt: int) -> list[Completion]:
        """Run the backend in a worker thread; chunks come back to the loop as TokenChunk."""
        loop = asyncio.get_running_loop()

        def chunk(index: int, text: str) -> None:
            loop.call_soon_threadsafe(self.emit, TokenChunk(turn, attempt, index, text))

        return await generate_in_thread(self.model, request, n, chunk, self._cancel)

    async def run_candidate(self, turn: Turn, attempt: Attempt, cand: Candidate) -> None:
        """Execute one candidate from the committed state (if allowed to run), then check it."""
        if not await approved(self.options.approve, self.emit, turn, attempt, cand):
            return
        await self.ensure_clean()
        if not self._snapshot and self.kernel.snapshots:
            self._snapshot = await self.kernel.checkpoint("snapshot")
        if self.cancelled:  # while it was asked about or the state restored: never start it
            cand.feedback = "cancelled"
            return
        self.emit(ExecutionStarted(turn.index, attempt.index, cand.index))
        self._executing = True
        cand.inputs = []
        try:
            res = await self.kernel.execute(
                cand.code,
                print_last=turn.print_last,
                timeout=self.settings.timeout,
                stdin=live_answers(self.options.ask, self.emit, turn, attempt, cand),
            )
        finally:
            self._executing = False
        where = f"turn {turn.index} attempt {attempt.index} candidate {cand.index}"
        log.debug("%s: %s in %.2fs", where, res.status, res.duration)
        # Whatever ran is not committed yet: the next run needs a restore unless this commits.
        # Code that did not even compile never ran, so it changed nothing (saves a restart).
        if res.restarted:
            log.info("turn %d: the kernel died and was restarted", turn.index)
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
        matcher = self.options.matcher
        await check_candidate(self.kernel, turn, cand, matcher, self.settings.timeout)
        self.emit(check_event(turn, attempt, cand))

    async def commit(self, turn: Turn, attempt: Attempt, cand: Candidate) -> None:
        turn.code, turn.status = cand.code, "passed"
        turn.inputs = list(cand.inputs)
        if self._last_run is cand:
            self.dirty = False
            if self._snapshot:  # the committed state moved on: the copy is stale
                self._snapshot = False
                await self.kernel.checkpoint("commit")
        else:
            # Another candidate ran last: rebuild the state with the chosen one committed.
            await self._restore("candidate")
        log.info(
            "turn %d committed: attempt %d, candidate %d", turn.index, attempt.index, cand.index
        )
        self.emit(TurnCommitted(turn.index, attempt.index, cand.index, cand.code))
