"""Programs run in forked children of a warm fork server (``kernels/fork_server.py``).

The grading runtime of ``assistant eval``: one server process per pool imports numpy, pandas
and whatever the programs import, installs the print hook, and forks one child per program.
A child is a clean copy of that warm process, so nothing one program does (``math.pi = 3``,
``sys.modules``, cwd, environment, open files, threads, child processes) reaches the next, and
isolation costs ~2 ms instead of a kernel restart (~700 ms) or a namespace reset (which cannot
undo module state). Cells keep the Jupyter kernel's semantics (print capture, the final cell's
bare expression printed, output cap, memory and process limits, timeouts, crash reports), so
verdicts are the same. The Jupyter kernel stays the interactive runtime.

``ForkProgram`` has the part of ``Kernel``'s interface that the runner and the engine use
(``execute``, ``restart``, ``interrupt``, ``evaluate``), plus ``call`` for pluggable program
runners and ``checkpoint`` (fork snapshots for failed attempts). ``ForkPool``
(``forkpool.py``) has ``KernelPool``'s (``kernel()``, ``run_program``); its ``size`` bounds
the cells running at once, not the programs open, so many programs can wait on a model.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import shutil
import sys
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.execution import reaper
from assistant.execution.config import KernelConfig, scratch
from assistant.execution.result import (
    ExecError,
    ExecResult,
    KernelDied,
    KernelStartError,
    Printed,
    explain_sys_exit,
    strip_ansi,
)

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

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    async def start(self) -> ForkServer:
        from assistant.resources import kernel_file

        reaper.reap_stale()
        t0 = time.perf_counter()
        self._tmp, self.workdir = scratch(self.config, "asst-fork-")
        argv = [sys.executable, str(kernel_file("fork_server.py"))]
        if self.config.sandbox == "bwrap":
            from assistant.execution.sandbox import bwrap_argv

            argv = bwrap_argv(argv, self.config, [self._tmp, self.workdir])
        env = {**os.environ, **self.config.env, reaper.TAG_VAR: self.tag}
        # Programs are small and run two at a time: BLAS thread pools only cost memory here.
        for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env.setdefault(var, "1")
        log = open(self._tmp / "fork_server.log", "wb")  # noqa: SIM115
        try:
            self.proc = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                cwd=str(self.workdir),
                env=env,
                start_new_session=True,
                limit=1 << 26,
            )
        finally:
            log.close()
        reaper.register(self.proc.pid, self.tag)
        limits = self.config.limits
        cfg = {
            "preload": self.preload,
            "workdir": str(self.workdir),
            "output_bytes": self.config.output_limit,
            "memory_mb": limits.get("memory_mb"),
            "max_procs": limits.get("max_procs"),
            "cpu_seconds": limits.get("cpu_seconds"),
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
            await self.shutdown()
            tail = self._log_tail()
            raise KernelStartError(f"could not start the fork server: {tail or 'no answer'}")
        self._reader = asyncio.ensure_future(self._read())
        self.start_time = time.perf_counter() - t0
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
            with contextlib.suppress(Exception):
                assert proc.stdin is not None
                proc.stdin.write(b'{"op": "quit"}\n')
                await proc.stdin.drain()
                proc.stdin.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), timeout=2.0)
            reaper.kill_tree(proc.pid, self.tag)
            reaper.unregister(proc.pid)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(proc.wait(), timeout=2.0)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(BaseException):
                await self._reader
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    async def __aenter__(self) -> ForkServer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()


class ForkProgram:
    """One program's state: a forked child. ``restart`` forks a fresh one."""

    def __init__(self, server: ForkServer, gate: asyncio.Semaphore | None = None) -> None:
        self.server = server
        self.config = server.config
        self.workdir = server.workdir
        self.sid: str | None = None
        self.restarts = 0
        self.tainted = False
        self._gate = gate
        self._lock = asyncio.Lock()

    async def start(self) -> ForkProgram:
        self.sid = await self.server.new_session()
        return self

    async def restart(self) -> None:
        """All state lost: the child is killed and a fresh one forked."""
        async with self._lock:
            await self._close()
            self.sid = await self.server.new_session()
            self.restarts += 1
            self.tainted = True

    async def interrupt(self) -> None:
        """Stop a running cell: here that ends the program (the next cell gets a fresh one)."""
        if self.sid is not None and not self.server.dead:
            sid, self.sid = self.sid, None
            with contextlib.suppress(Exception):
                await self.server.request({"op": "close", "sid": sid})

    async def _close(self) -> None:
        sid, self.sid = self.sid, None
        if sid is not None and not self.server.dead:
            with contextlib.suppress(KernelDied):
                await self.server.request({"op": "close", "sid": sid})

    async def shutdown(self) -> None:
        async with self._lock:
            await self._close()

    async def _roundtrip(self, msg: dict[str, Any]) -> dict[str, Any]:
        if self.sid is None:  # killed by a timeout or a crash: a fresh program, as a restart
            self.sid = await self.server.new_session()
        msg["sid"] = self.sid
        if self._gate is None:
            return await self.server.request(msg)
        async with self._gate:
            return await self.server.request(msg)

    async def execute(
        self,
        code: str,
        *,
        print_last: bool = False,
        timeout: float | None = None,
        stdin: Any = None,
    ) -> ExecResult:
        """Run one cell; like ``Kernel.execute`` (``stdin`` is ignored: input() gets EOF)."""
        timeout = self.config.timeout if timeout is None else timeout
        async with self._lock:
            t0 = time.perf_counter()
            try:
                reply = await self._roundtrip(
                    {"op": "exec", "code": code, "final": print_last, "timeout": timeout}
                )
            except KernelDied as exc:
                self.sid = None
                self.tainted = True
                return ExecResult(status="died", message=str(exc), restarted=True)
            res = self._result(reply, timeout)
            if not res.duration:
                res.duration = time.perf_counter() - t0
            return res

    async def call(
        self, runner: str, args: dict[str, Any], timeout: float | None = None
    ) -> dict[str, Any]:
        """Call ``module:function(**args)`` in the program's child (a pluggable program runner,
        e.g. an upstream-exact execution mode in ``kernels/``); returns the server's reply:
        ``status``, ``value`` (what the function returned), ``error``, ``stdout``, ``stderr``."""
        timeout = self.config.timeout if timeout is None else timeout
        async with self._lock:
            reply = await self._roundtrip(
                {"op": "call", "runner": runner, "args": args, "timeout": timeout}
            )
            if reply.get("status") in ("timeout", "died", "interrupted"):
                self.sid = None
                self.tainted = True
            return reply

    async def evaluate(self, expressions: dict[str, str]) -> dict[str, Any]:
        """``Kernel.evaluate``: expressions in the program's namespace, as Jupyter answers
        user_expressions (``{"status": "ok", "data": {"text/plain": repr}}`` each)."""
        async with self._lock:
            reply = await self._roundtrip({"op": "eval", "exprs": expressions, "timeout": 10.0})
            return dict(reply.get("expressions") or {})

    async def checkpoint(self, op: str) -> bool:
        """``snapshot`` (fork a frozen copy of the program before an attempt), ``commit``
        (drop it) or ``rollback`` (the copy takes over: the attempt leaves no trace in the
        interpreter, ~ a fork's cost). False when it could not be done (no program, a timeout
        killed it): then only a restart and replay bring the committed state back."""
        if self.sid is None:
            return False
        async with self._lock:
            try:
                reply = await self._roundtrip({"op": op, "timeout": 10.0})
            except KernelDied:
                return False
            return reply.get("status") == "ok"

    @staticmethod
    def _result_of(reply: dict[str, Any], timeout: float) -> ExecResult:
        prog = ForkProgram.__new__(ForkProgram)
        prog.tainted, prog.sid = False, None
        return prog._result(reply, timeout)

    def _result(self, reply: dict[str, Any], timeout: float) -> ExecResult:
        status = str(reply.get("status", "died"))
        res = ExecResult(
            status=status,  # type: ignore[arg-type]
            stdout=str(reply.get("stdout", "")),
            stderr=str(reply.get("stderr", "")),
            display=list(reply.get("display") or []),
            duration=float(reply.get("duration") or 0.0),
            truncated_bytes=int(reply.get("dropped") or 0) + int(reply.get("lost") or 0),
        )
        lost = int(reply.get("lost") or 0)
        if lost:
            res.stdout += f"\n[... truncated {lost} bytes of output ...]\n"
        err = reply.get("error")
        if err:
            res.error = ExecError(
                str(err.get("ename", "Error")),
                str(err.get("evalue", "")),
                [strip_ansi(t) for t in err.get("traceback") or []],
            )
        printed = reply.get("printed")
        if printed:
            with contextlib.suppress(ValueError, KeyError, TypeError):
                payload = json.loads(printed)
                res.print_count = int(payload.get("count", 0))
                last = payload.get("last")
                if last is not None:
                    res.printed = [Printed.from_dict(d) for d in last]
        if status == "interrupted":
            res.message = "interrupted: the program was stopped (all state lost)"
        elif status == "timeout":
            res.message = f"timed out after {timeout:g} s; the program was stopped (all state lost)"
        elif status == "died":
            cause = reply.get("cause") or reply.get("message") or "process exited"
            res.message = (
                f"the program's process died while running this cell ({cause}); "
                "the kernel was restarted (all state lost)"
            )
        if status in ("timeout", "died", "interrupted"):
            res.restarted = True
            self.tainted = True
            self.sid = None  # the server killed the child; the next cell forks a fresh one
        explain_sys_exit(res)
        return res
