"""One program in the fork runtime: a forked child of a ``ForkServer`` (``forkserver.py``).

``ForkProgram`` is a ``Runtime`` (``runtime.py``) with snapshots (``checkpoint``: fork
snapshots for failed attempts), plus ``call`` for pluggable program runners. It reaches its
server only through ``ForkChannel`` (what ``ForkServer`` offers a program), so this module
does not import the server's. ``result_from_reply`` turns
the server's answer for a cell into the ``ExecResult`` a Jupyter kernel would have given, so
verdicts do not depend on the runtime. Child deaths and timeouts are logged
(``assistant.execution.forkprogram``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from pathlib import Path
from typing import Any, Protocol

from assistant.execution.config import KernelConfig
from assistant.execution.output import read_processes
from assistant.execution.result import (
    ExecError,
    ExecResult,
    KernelDied,
    Printed,
    explain_sys_exit,
    strip_ansi,
)
from assistant.execution.runtime import Checkpoint, StdinHandler

log = logging.getLogger(__name__)


class ForkChannel(Protocol):
    """What a program needs of its fork server (``ForkServer``)."""

    config: KernelConfig
    workdir: Path | None
    dead: bool

    @property
    def pid(self) -> int | None: ...

    async def request(self, msg: dict[str, Any]) -> dict[str, Any]: ...

    async def new_session(self) -> str: ...


class ForkProgram:
    """One program's state: a forked child. ``restart`` forks a fresh one."""

    snapshots = True  # ``checkpoint`` forks frozen copies of the program

    def __init__(self, server: ForkChannel, gate: asyncio.Semaphore | None = None) -> None:
        self.server = server
        self.config = server.config
        self.workdir = server.workdir
        self.cwd: Path | None = None  # the program's own working folder (folders.py), if any
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
        if self.cwd is not None:  # on every request: a child forked after a restart too
            msg["cwd"] = str(self.cwd)
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
        stdin: StdinHandler | None = None,
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
                log.warning("fork server lost while running a cell: %s", exc)
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

    def describe(self) -> dict[str, Any]:
        return {
            "runtime": "fork",
            "server_pid": self.server.pid,
            "program": self.sid,
            "restarts": self.restarts,
            "sandbox": "bwrap" if self.config.sandboxed else "none",
            "snapshots": self.snapshots,
        }

    async def checkpoint(self, op: Checkpoint) -> bool:
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

    def _result(self, reply: dict[str, Any], timeout: float) -> ExecResult:
        res = result_from_reply(reply, timeout)
        if res.restarted:
            self.tainted = True
            self.sid = None  # the server killed the child; the next cell forks a fresh one
        return res


def result_from_reply(reply: dict[str, Any], timeout: float) -> ExecResult:
    """The server's answer for one cell as an ``ExecResult`` (messages as the kernel's)."""
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
    read_processes(res, reply.get("procs") or {})  # the process limit, as in the kernel
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
        if status == "died":
            log.warning("fork child died: %s", res.message)
        else:
            log.info("fork child stopped: %s", res.message)
    explain_sys_exit(res)
    return res
