"""A ``ProgramPool`` (``runtime.py``) over fork servers (``forkserver.py``): the eval runtime.

Each program is a fresh forked child in a fresh working folder of its own (``folders.py``,
removed after it); ``size`` programs execute at once, one fork server per job
(``ServerGroup``). Whole programs (``run_cells``, ``run_program``, ``call``) go to a server in
one round trip and queue there, so the next one starts the moment one ends; programs that
import third-party modules can go to other servers that imported them at start (``heavy``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

from assistant.execution.config import KernelConfig
from assistant.execution.folders import ProgramFolders
from assistant.execution.forkprogram import ForkProgram, result_from_reply
from assistant.execution.forkserver import ForkServer
from assistant.execution.result import ExecResult, KernelDied
from assistant.execution.runtime import Cell

log = logging.getLogger(__name__)


class ServerGroup:
    """Fork servers that preload the same modules, one per job. A server's own work (fork,
    kill, reap: ~3-7 ms a program on 2 cores) is serial, so one server for all jobs made
    ``--jobs 2`` no faster than ``--jobs 1``; one each runs that work on as many cores as jobs.
    Each program goes to the server with the fewest in flight."""

    def __init__(self, config: KernelConfig, preload: Sequence[str] | None, count: int) -> None:
        self.config = config
        self.preload = None if preload is None else list(preload)
        self.servers = [self._new() for _ in range(max(1, count))]
        self.load = [0] * len(self.servers)
        self._lock = asyncio.Lock()

    def _new(self) -> ForkServer:
        server = ForkServer(self.config, self.preload, spares=1)
        server.max_programs = 1  # the others wait in it: the next starts the moment one ends
        return server

    async def start(self) -> ServerGroup:
        await asyncio.gather(*(s.start() for s in self.servers))
        return self

    async def pick(self) -> tuple[int, ForkServer]:
        """The least busy server (started afresh if it died: it runs no user code, but the
        pool must never become unusable)."""
        i = min(range(len(self.servers)), key=self.load.__getitem__)
        async with self._lock:
            server = self.servers[i]
            if server.dead:
                log.warning("fork server pid %s is gone: starting a new one", server.pid)
                await server.shutdown()
                server = self.servers[i] = self._new()
                await server.start()
        return i, server

    @contextlib.asynccontextmanager
    async def use(self) -> AsyncIterator[ForkServer]:
        i, server = await self.pick()
        self.load[i] += 1
        try:
            yield server
        finally:
            self.load[i] -= 1

    async def close(self) -> None:
        await asyncio.gather(*(s.shutdown() for s in self.servers), return_exceptions=True)


class ForkPool:
    """``KernelPool``'s interface over fork servers: each program a fresh forked child.

    ``size`` cells run at once (CPU), one fork server per job; any number of programs may be
    open (a model run keeps its program open while the model generates the next turn).
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
        self.light = ServerGroup(self.config, preload, self.size)
        self._gate = asyncio.Semaphore(self.size)
        # Whole programs queue in the servers (each runs one at a time): twice as many in
        # flight as jobs keep them from waiting on the client between two programs.
        self._program_gate = asyncio.Semaphore(2 * self.size)
        # Programs known to import third-party modules (``run_cells(preload=...)``) go to
        # servers that import ``heavy`` at start, while the first ones run the light
        # programs: forks of the light ones stay small and cheap, and nobody waits on pandas
        # being imported.
        self.heavy: ServerGroup | None = None
        self._heavy_start: asyncio.Task[ServerGroup] | None = None
        if heavy:
            # One: few programs need them (80 of MTPB's 565), and each such server spends
            # seconds importing them, on the cores the light programs are using meanwhile.
            self.heavy = ServerGroup(self.config, list(heavy), 1)
        self._folders: dict[int, ProgramFolders] = {}  # by id() of the server that uses them

    @property
    def server(self) -> ForkServer:
        """The first light server (what a one-server pool called its server)."""
        return self.light.servers[0]

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
        await self.light.start()
        return self

    async def __aenter__(self) -> ForkPool:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def kernel(self) -> AsyncIterator[ForkProgram]:
        """A fresh program (a forked child); killed, with all it started, afterwards."""
        async with self.light.use() as server:
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
        group = self.light
        light = set(self.light.preload or ())
        if self._heavy_start is not None and any(
            _third_party(m) and m.split(".", 1)[0] not in light for m in preload
        ):
            group = await self._heavy_start
        async with self._program_gate, group.use() as server:
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
            await self.heavy.close()
        await self.light.close()
        for folders in self._folders.values():
            folders.remove_all()


def _third_party(module: str) -> bool:
    return module.split(".", 1)[0] not in sys.stdlib_module_names
