"""Programs run in forked children of a warm fork server (``kernels/fork_server.py``).

The grading runtime of ``assistant eval``: one server process per pool imports numpy, pandas
and whatever the programs import, installs the print hook, and forks one child per program.
A child is a clean copy of that warm process, so nothing one program does (``math.pi = 3``,
``sys.modules``, cwd, environment, open files, threads, child processes) reaches the next, and
isolation costs ~2 ms instead of a kernel restart (~700 ms) or a namespace reset (which cannot
undo module state). Cells keep the Jupyter kernel's semantics (print capture, the final cell's
bare expression printed, output cap, memory and process limits, timeouts, crash reports), so
verdicts are the same. The Jupyter kernel stays the interactive runtime.

``ForkProgram`` (``forkprogram.py``) is the ``Runtime`` of this runtime (``runtime.py``: the
contract the Jupyter ``Kernel`` implements too), with fork snapshots for failed attempts;
``ForkPool`` (``forkpool.py``) its ``ProgramPool``, whose ``size`` bounds the cells running at
once, not the programs open, so many programs can wait on a model.
Server starts, failed starts and unexpected exits are logged (``assistant.execution.forkserver``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.execution import cgroup, environment, reaper
from assistant.execution.config import KernelConfig, scratch
from assistant.execution.forkprogram import ForkProgram
from assistant.execution.result import KernelDied, KernelStartError

log = logging.getLogger(__name__)

# What a fresh server imports before forking (on top of the programs' own imports).
DEFAULT_PRELOAD = ("numpy", "pandas")


class ForkServer:
    """One fork server process; ``open()`` gives a fresh program (a forked child)."""

    def __init__(
        self,
        config: KernelConfig | None = None,
        preload: Sequence[str] | None = None,
        spares: int = 2,
    ) -> None:
        self.config = config or KernelConfig()
        self.spares = spares  # children forked ahead, while the server waits
        self.max_programs = 0  # whole programs ("program" op) running at once; 0: no limit
        self.preload = list(DEFAULT_PRELOAD if preload is None else preload)
        self.proc: asyncio.subprocess.Process | None = None
        self.tag = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._tmp: Path | None = None
        self.workdir: Path | None = None
        self._sids = itertools.count(1)
        self._rids = itertools.count(1)
        self._waiting: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reader: asyncio.Task[None] | None = None
        self._write_lock = asyncio.Lock()
        self.start_time = 0.0
        self.dead = False
        self._cgroup: Path | None = None  # its pids cgroup, where one can be made (cgroup.py)

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    async def start(self) -> ForkServer:
        from assistant.execution.kernelcode import boot_source

        cgroup.reap_stale()
        environment.protect_app()
        t0 = time.perf_counter()
        self._tmp, self.workdir = scratch(self.config, "asst-fork-")
        argv = [sys.executable, "-c", boot_source("kernel_module(KERNELS, 'fork_server').main()")]
        if self.config.sandboxed:
            from assistant.execution.sandbox import bwrap_argv

            argv = bwrap_argv(argv, self.config, [self._tmp, self.workdir])
        own = {reaper.TAG_VAR: self.tag}
        # Programs are small and run two at a time: BLAS thread pools only cost memory here.
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            own[var] = os.environ.get(var, "1")
        env = self.config.kernel_env(own)
        server_log = open(self._tmp / "fork_server.log", "wb")  # noqa: SIM115
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=server_log,
                cwd=str(self.workdir),
                env=env,
                start_new_session=True,
                limit=1 << 26,
            )
        finally:
            server_log.close()
        reaper.register(self.proc.pid, self.tag)
        limits = self.config.limits
        cfg = {
            "preload": self.preload,
            "workdir": str(self.workdir),
            "output_bytes": self.config.output_limit,
            "memory_mb": limits.get("memory_mb"),
            "max_procs": limits.get("max_procs"),
            "cpu_seconds": limits.get("cpu_seconds"),
            "background": bool(limits.get("background")),
            "spares": self.spares,
            "max_programs": self.max_programs,
        }
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write((json.dumps(cfg) + "\n").encode())
        try:
            line = await asyncio.wait_for(
                self.proc.stdout.readline(), timeout=self.config.startup_timeout
            )
            ready = json.loads(line) if line else {}
        except (TimeoutError, ValueError):
            ready = {}
        if ready.get("ev") != "ready":
            tail = self._log_tail()
            await self.shutdown()
            log.warning("fork server failed to start: %s", tail or "no answer")
            raise KernelStartError(f"could not start the fork server: {tail or 'no answer'}")
        if limits.get("max_procs"):
            # Ready: the server (inside bwrap, if any) exists. Every program may use
            # max_procs; the per-program count is procs.py's job.
            programs = max(1, self.max_programs) + self.spares
            limit = int(limits["max_procs"]) * programs + cgroup.ROOM
            self._cgroup = cgroup.confine(self.proc.pid, self.tag, limit)
        self._reader = asyncio.ensure_future(self._read())
        self.start_time = time.perf_counter() - t0
        log.info(
            "fork server started: pid %s in %.2f s (preload %s, sandbox %s)",
            self.pid,
            self.start_time,
            ",".join(self.preload) or "nothing",
            "bwrap" if self.config.sandboxed else "none",
        )
        return self

    def _log_tail(self) -> str:
        if self._tmp is None:
            return ""
        with contextlib.suppress(OSError):
            return (self._tmp / "fork_server.log").read_text(errors="replace")[-2000:].strip()
        return ""

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        try:
            while True:
                line = await self.proc.stdout.readline()
                if not line:
                    break
                msg = json.loads(line)
                fut = self._waiting.pop(str(msg.get("rid")), None)
                if fut is not None and not fut.done():
                    fut.set_result(msg)
        finally:
            self.dead = True
            why = KernelDied(f"the fork server exited ({self._log_tail() or 'no message'})")
            if self.proc is not None:  # not shutdown()'s doing
                log.warning("fork server pid %s: %s", self.proc.pid, why)
            for fut in self._waiting.values():
                if not fut.done():
                    fut.set_exception(why)
            self._waiting.clear()

    async def request(self, msg: dict[str, Any]) -> dict[str, Any]:
        """Send one request and wait for its reply."""
        if self.dead or self.proc is None or self.proc.stdin is None:
            raise KernelDied("the fork server is not running")
        rid = str(next(self._rids))
        msg = {**msg, "rid": rid}
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._waiting[rid] = fut
        async with self._write_lock:
            try:
                self.proc.stdin.write((json.dumps(msg) + "\n").encode("utf-8", "surrogateescape"))
                await self.proc.stdin.drain()
            except (ConnectionError, RuntimeError) as exc:
                self._waiting.pop(rid, None)
                raise KernelDied(f"the fork server is not running ({exc})") from exc
        return await fut

    async def open(self) -> ForkProgram:
        prog = ForkProgram(self)
        await prog.start()
        return prog

    async def new_session(self) -> str:
        sid = str(next(self._sids))
        reply = await self.request({"op": "open", "sid": sid})
        if reply.get("ev") != "opened":
            raise KernelStartError(f"the fork server could not fork: {reply}")
        return sid

    async def shutdown(self) -> None:
        proc, self.proc = self.proc, None
        if proc is not None:
            log.debug("fork server pid %s shutting down", proc.pid)
            with contextlib.suppress(Exception):
                assert proc.stdin is not None
                proc.stdin.write(b'{"op": "quit"}\n')
                await proc.stdin.drain()
                proc.stdin.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), timeout=2.0)
            reaper.kill_tree(proc.pid, self.tag)
            reaper.unregister(proc.pid)
            cgroup.remove(self._cgroup)
            self._cgroup = None
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), timeout=2.0)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self._tmp is not None:
            reaper.remove_folder(self._tmp)
            self._tmp = None

    async def __aenter__(self) -> ForkServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()
