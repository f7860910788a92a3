"""The samples of ``eval -n N`` lined up: their requests decoded together, round by round.

The N samples of one problem, test case and mode run at once, each in its own program with
its own engine (refinement, ranking, checks as ever). Their requests go to one ``Lineup``,
which decodes a round as soon as every sample still running is waiting for the model (a
sample running code is waited for; a finished one is not). Turn 1's prompt is the same for
all N, so it is evaluated once and its cache shared; later prompts share the problem's text
and whatever the samples' programs agree on (``LlamaModel.generate_many``). Which requests
form a round depends only on how far each sample got, never on timing. Each request keeps
the seed it would have had alone; batched numerics may still make a token differ.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from assistant.models.base import Cancelled, Completion, Request

if TYPE_CHECKING:
    from assistant.mtpb.jobs import EvalOptions, Job

log = logging.getLogger(__name__)


def lineup_groups(todo: list[Job], opts: EvalOptions, model: Any, runtime: str) -> list[list[Job]]:
    """The samples of each problem, case and mode, when they can decode together (several
    samples, an in-process llama.cpp model, the engine's sampler, forked programs: any number
    may be open at once); else none."""
    if not (
        opts.lineup
        and opts.samples > 1
        and runtime == "fork"
        and not opts.upstream
        and callable(getattr(model, "generate_many", None))
        and getattr(model, "parallel", 1) > 1
    ):
        return []
    by: dict[tuple[str, int, str], list[Job]] = {}
    for j in todo:
        by.setdefault((j.problem.id, j.case, j.mode), []).append(j)
    return list(by.values())


async def run_lined(
    groups: list[list[Job]], model: Any, jobs: int, one: Callable[[Job, Any], Awaitable[None]]
) -> None:
    """``jobs`` groups at a time; the samples of a group all at once, each through its own
    ``LinedUp`` view of ``model`` (``one(job, model)`` runs and stores one program)."""
    from concurrent.futures import ThreadPoolExecutor

    # Every sample of a group waits in a generation thread for its round: room for all.
    size = max(len(g) for g in groups) * jobs + 4
    asyncio.get_running_loop().set_default_executor(
        ThreadPoolExecutor(max_workers=size, thread_name_prefix="generate")
    )
    queue = list(groups)

    async def member(job: Job, lineup: Lineup) -> None:
        try:
            await one(job, lineup.member())
        finally:
            lineup.leave()

    async def worker() -> None:
        while queue:
            group = queue.pop(0)
            lineup = Lineup(model, len(group))
            try:
                await asyncio.gather(*(member(j, lineup) for j in group))
            finally:
                await asyncio.to_thread(lineup.close)

    await asyncio.gather(*(worker() for _ in range(jobs)))


@dataclass
class _Pending:
    asks: list[Any]
    result: list[Completion | Cancelled] | None = None
    error: BaseException | None = None
    done: bool = False


class Lineup:
    """One round of requests at a time for ``members`` samples sharing ``model`` (a backend
    with ``generate_many``: assistant.models.llama.LlamaModel)."""

    def __init__(self, model: Any, members: int) -> None:
        self.model = model
        self.rounds: list[int] = []  # requests per round decoded
        self._live = members
        self._pending: list[_Pending] = []
        self._closed = False
        self._cv = threading.Condition()
        self._thread = threading.Thread(target=self._serve, name="lineup", daemon=True)
        self._thread.start()

    def member(self) -> LinedUp:
        return LinedUp(self)

    def leave(self) -> None:
        """A sample is done (or failed): the rounds no longer wait for it."""
        with self._cv:
            self._live -= 1
            self._cv.notify_all()

    def close(self) -> None:
        """End the lineup; requests still waiting are answered with ``Cancelled``."""
        with self._cv:
            self._closed = True
            self._cv.notify_all()
        self._thread.join()

    def ask(self, asks: list[Any]) -> list[Completion | Cancelled]:
        """Wait for the round that decodes ``asks`` (called from a generation thread)."""
        pend = _Pending(asks)
        with self._cv:
            if self._closed:
                raise Cancelled("the evaluation ended")
            self._pending.append(pend)
            self._cv.notify_all()
            while not pend.done:
                self._cv.wait()
        if pend.error is not None:
            raise pend.error
        if pend.result is None:
            raise Cancelled("the evaluation ended")
        return pend.result

    def _serve(self) -> None:
        while True:
            with self._cv:
                while not self._closed and not (self._pending and len(self._pending) >= self._live):
                    self._cv.wait()
                batch, self._pending = self._pending, []
                if self._closed:
                    for p in batch:
                        p.done = True
                    self._cv.notify_all()
                    return
            asks = [a for p in batch for a in p.asks]
            self.rounds.append(len(asks))
            t0 = time.perf_counter()
            try:
                out = self.model.generate_many(asks)
            except BaseException as exc:  # every waiting sample sees the backend's error
                for p in batch:
                    p.error = exc
            else:
                at = 0
                for p in batch:
                    p.result = out[at : at + len(p.asks)]
                    at += len(p.asks)
            log.debug("round of %d request(s) in %.2f s", len(asks), time.perf_counter() - t0)
            with self._cv:
                for p in batch:
                    p.done = True
                self._cv.notify_all()


class LinedUp:
    """One sample's view of the model: the backend's attributes, generation through the
    lineup. Already safe to share: the engine uses it as is (no lock of its own)."""

    lined_up = True

    def __init__(self, lineup: Lineup) -> None:
        self._lineup = lineup

    def __getattr__(self, name: str) -> Any:
        return getattr(self._lineup.model, name)

    def generate(
        self,
        request: Request,
        on_text: Callable[[str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> Completion:
        return self.sample(
            request, 1, (lambda _i, t: on_text(t)) if on_text is not None else None, cancel
        )[0]

    def sample(
        self,
        request: Request,
        n: int,
        on_text: Callable[[int, str], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Completion]:
        from assistant.models.llama_batch import Ask, indexed

        base = request.seed if request.seed is not None else 0
        asks = [Ask(request, base + i, indexed(on_text, i), cancel) for i in range(max(1, n))]
        out = self._lineup.ask(asks)
        if any(isinstance(c, Cancelled) for c in out):
            raise Cancelled("generation cancelled")
        return [c for c in out if isinstance(c, Completion)]

    def describe(self) -> dict[str, Any]:
        return dict(self._lineup.model.describe())

    def close(self) -> None:
        """The lineup's owner closes the model."""
