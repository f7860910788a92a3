"""``KernelPool``'s interface over fork servers (``forkserver.py``): the eval runtime.

Each program is a fresh forked child in a fresh working folder of its own (``folders.py``,
removed after it); ``size`` programs execute at once. Whole programs
(``run_cells``, ``run_program``, ``call``) go to the server in one round trip and queue there,
so the next one starts the moment one ends; programs that import third-party modules can go to
a second server that imported them at start (``heavy``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Any

from assistant.execution.config import KernelConfig
from assistant.execution.folders import ProgramFolders
from assistant.execution.forkprogram import ForkProgram, result_from_reply
from assistant.execution.forkserver import ForkServer
from assistant.execution.result import ExecResult, KernelDied

if TYPE_CHECKING:
    from assistant.execution.pool import Cell

log = logging.getLogger(__name__)


class ForkPool:
    """``KernelPool``'s interface over one fork server: each program a fresh forked child.

    ``size`` cells run at once (CPU); any number of programs may be open (a model run keeps
    its program open while the model generates the next turn).
    """

    def __init__(
        self,
        size: int = 2,
        config: KernelConfig | None = None,
        preload: Sequence[str] | None = None,
        heavy: Sequence[str] = (),
    ) -> None:
        self.size = max(1, size)
        self.config = config or KernelConfig()
        self.server = ForkServer(self.config, preload, spares=self.size)
        self.server.max_programs = self.size
        self._gate = asyncio.Semaphore(self.size)
        # Whole programs queue in the server (which runs ``size`` at once): twice as many in
        # flight keep it from waiting on the client between two programs.
        self._program_gate = asyncio.Semaphore(2 * self.size)
        # Programs known to import third-party modules (``run_cells(preload=...)``) go to a
        # second server that imports ``heavy`` at start, on another core, while the first
        # runs the light programs: forks of the light one stay small and cheap, and nobody
        # waits on pandas being imported.
        self.heavy: ForkServer | None = None
        self._heavy_start: asyncio.Task[ForkServer] | None = None
        if heavy:
            self.heavy = ForkServer(self.config, list(heavy), spares=self.size)
            self.heavy.max_programs = self.size
        self._start_lock = asyncio.Lock()
        self._folders: dict[int, ProgramFolders] = {}  # by id() of the server that uses them

    def folders(self, server: ForkServer) -> ProgramFolders:
        """Program folders inside ``server``'s scratch folder (writable in its sandbox)."""
        folders = self._folders.get(id(server))
        if folders is None:
            base = server._tmp or server.workdir
            assert base is not None, "the fork server is not started"
            folders = ProgramFolders(base, seed=self.config.workdir)
            self._folders[id(server)] = folders
        return folders

    async def start(self) -> ForkPool:
        if self.heavy is not None:
            self._heavy_start = asyncio.ensure_future(self.heavy.start())
        await self.server.start()
        return self

    async def __aenter__(self) -> ForkPool:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _live_server(self) -> ForkServer:
        async with self._start_lock:
            if self.server.dead:  # it runs no user code, but never leave the pool unusable
                log.warning("fork server pid %s is gone: starting a new one", self.server.pid)
                await self.server.shutdown()
                self.server = ForkServer(self.config, self.server.preload, self.size)
                self.server.max_programs = self.size
                await self.server.start()
        return self.server

    @contextlib.asynccontextmanager
    async def kernel(self) -> AsyncIterator[ForkProgram]:
        """A fresh program (a forked child); killed, with all it started, afterwards."""
        server = await self._live_server()
        folders = self.folders(server)
        prog = ForkProgram(server, self._gate)
        prog.cwd = folders.new()
        try:
            await prog.start()
            yield prog
        finally:
            await prog.shutdown()
            folders.remove(prog.cwd)

    async def run_cells(
        self, cells: Sequence[str], timeout: float | None = None, preload: Sequence[str] = ()
    ) -> list[ExecResult]:
        """A whole program in one round trip: a fresh child runs ``cells`` in order (the last
        one final), stopping at the first that is not ok, and is killed after. ``preload``:
        modules the server imports first, once, so that the child starts with them loaded."""
        timeout = self.config.timeout if timeout is None else timeout
        batch = [
            {"code": c, "final": i == len(cells) - 1, "timeout": timeout}
            for i, c in enumerate(cells)
        ]
        return await self._program(batch, preload)

    async def call(
        self,
        runner: str,
        args: dict[str, Any],
        timeout: float | None = None,
        preload: Sequence[str] = (),
    ) -> dict[str, Any]:
        """A pluggable program runner (``module:function``, e.g. an upstream-exact execution
        mode in ``kernels/``) called with ``args`` in a fresh child, in one round trip: the
        server's reply (``status``, ``value`` = what it returned, ``error``, ``stdout``...)."""
        timeout = self.config.timeout if timeout is None else timeout
        entry = {"runner": runner, "args": args, "timeout": timeout}
        try:
            replies = await self._replies([entry], preload)
        except KernelDied as exc:
            return {"status": "died", "cause": str(exc)}
        return replies[0] if replies else {"status": "died", "cause": "no answer"}

    async def _program(
        self, batch: list[dict[str, Any]], preload: Sequence[str] = ()
    ) -> list[ExecResult]:
        try:
            replies = await self._replies(batch, preload)
        except KernelDied as exc:
            return [ExecResult(status="died", message=str(exc), restarted=True)]
        return [
            result_from_reply(r, float(b["timeout"])) for r, b in zip(replies, batch, strict=False)
        ]

    async def _replies(
        self, batch: list[dict[str, Any]], preload: Sequence[str] = ()
    ) -> list[dict[str, Any]]:
        """The server's answers for one whole program; KernelDied if the server went away."""
        server = await self._live_server()
        if self._heavy_start is not None and any(_third_party(m) for m in preload):
            server = await self._heavy_start
        async with self._program_gate:
            folders = self.folders(server)
            cwd = folders.new()
            try:
                reply = await server.request(
                    {
                        "op": "program",
                        "sid": f"p{next(server._sids)}",
                        "cells": batch,
                        "preload": list(preload),
                        "cwd": str(cwd),
                    }
                )
            finally:  # the server killed the child and all it started before answering
                folders.remove(cwd)
        return list(reply.get("results") or [])

    async def run_program(
        self, cells: Sequence[Cell], *, stop_on_error: bool = True
    ) -> list[ExecResult]:
        """``KernelPool.run_program``: ``Cell``s (code, final, timeout) in one fresh child."""
        if stop_on_error:
            batch = [
                {
                    "code": c.code,
                    "final": bool(c.print_last),
                    "timeout": self.config.timeout if c.timeout is None else c.timeout,
                }
                for c in cells
            ]
            return await self._program(batch)
        results: list[ExecResult] = []
        async with self.kernel() as k:
            for cell in cells:
                results.append(
                    await k.execute(cell.code, print_last=cell.print_last, timeout=cell.timeout)
                )
        return results

    async def close(self) -> None:
        if self._heavy_start is not None:
            with contextlib.suppress(BaseException):
                await self._heavy_start
        if self.heavy is not None:
            await self.heavy.shutdown()
        await self.server.shutdown()
        for folders in self._folders.values():
            folders.remove_all()


def _third_party(module: str) -> bool:
    return module.split(".", 1)[0] not in sys.stdlib_module_names
