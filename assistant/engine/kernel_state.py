"""The engine's invariant: the kernel holds exactly the committed turns' state, or knows not.

After a turn ends, the kernel holds exactly the state of the committed turns, or ``dirty`` says
it does not and ``ensure_clean`` restores it before anything else runs: a rollback to the
snapshot where the runtime keeps one (the fork runtime), else restart + replay of the committed
turns. The kernel also runs the prompt's prefix (``import numpy as np``) once per kernel
process, as upstream MTPB runs it with every program.

``CommittedState`` is a part of ``Engine`` (a mixin): it reads the engine's kernel, session,
settings and options at each call, since ``Engine.overriding`` may swap the last two.
"""

from __future__ import annotations

import logging
import time

from assistant.config import Settings
from assistant.engine import prompting
from assistant.engine.events import EngineEvent, Notice, RestoreReason, StateRestored
from assistant.engine.input_answers import replay_answers
from assistant.engine.options import EngineOptions
from assistant.engine.session import Candidate, Session
from assistant.execution.runtime import Runtime

log = logging.getLogger(__name__)


class CommittedState:
    """``dirty``, the snapshot and the prefix's setup of the engine's kernel; ``ensure_clean``
    before code runs, ``_restore`` to rebuild the committed state (or a prefix of it)."""

    kernel: Runtime
    session: Session
    settings: Settings
    options: EngineOptions
    _current: int  # the turn being run (events name it)

    def _init_state(self) -> None:
        # A loaded session's kernel is fresh: replay its committed turns before running code.
        self.dirty = bool(self.session.committed_turns())
        self._dirty_reason: RestoreReason = "resume"
        self._last_run: Candidate | None = None  # the candidate whose state the kernel holds
        self._setup_done = False  # the prefix's imports ran in this kernel process
        # A runtime with snapshots (the fork runtime): a frozen copy of the committed state is
        # taken before a candidate runs, so a failed one costs a rollback, not a replay.
        self._snapshot = False

    def emit(self, event: EngineEvent) -> None:
        raise NotImplementedError  # Engine.emit

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
        prefix = self.options.prefix
        code = prefix if prefix is not None else prompting.mtpb_prefix()
        if not code.strip():
            return
        res = await self.kernel.execute(code, timeout=self.settings.timeout)
        if not res.ok:
            self.emit(Notice(self._current, "warning", f"setup code failed: {res.feedback()}"))

    async def _restore(self, reason: RestoreReason, *, upto: int | None = None) -> list[int]:
        # The snapshot is the committed state when the last candidate failed ("retry"); a
        # commit, undo or edit changes that state (and a commit drops the snapshot).
        if self._snapshot and upto is None and reason == "retry":
            self._snapshot = False
            if await self.kernel.checkpoint("rollback"):
                log.debug("turn %d: rolled back to the committed snapshot", self._current)
                self.dirty, self._last_run = False, None
                self.emit(StateRestored(self._current, replayed=[], reason=reason, failed=[]))
                return []
            log.info("snapshot rollback failed: restarting and replaying instead")
        self._snapshot = False
        started = time.perf_counter()
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
                stdin=replay_answers(self.options.ask, self.emit, t),
            )
            replayed.append(t.index)
            if not res.ok:
                failed.append(t.index)
        self.dirty = upto is not None  # a partial replay is not the committed state
        self._dirty_reason = "retry"
        self._last_run = None
        took = time.perf_counter() - started
        log.info("restored (%s): replayed %s, failed %s, %.2fs", reason, replayed, failed, took)
        self.emit(StateRestored(self._current, replayed=replayed, reason=reason, failed=failed))
        return failed
