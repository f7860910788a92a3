"""One Jupyter kernel, driven the way nbclient does it (async client, iopub filtered by msg_id).

``Kernel.execute`` never hangs: it watches a deadline (interrupt, then hard restart), checks
that the kernel process is alive every second, caps output, and answers ``input()`` through an
optional handler. Kernel processes are tracked so none outlives the app (see ``reaper``).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from assistant.execution import reaper
from assistant.execution.config import KernelConfig, scratch
from assistant.execution.kernel_log import KernelLog
from assistant.execution.launch import OWN_KERNEL, boot_code, spec_manager
from assistant.execution.output import Collector, read_limits, read_lost_count, read_prints
from assistant.execution.result import (
    ExecError,
    ExecResult,
    KernelDied,
    KernelStartError,
    describe_exit,
    explain_sys_exit,
    strip_ansi,
)

FINAL_MARKER = "#%%assistant:final"
StdinHandler = Callable[[str, bool], Awaitable[str]]


# Seconds between liveness checks while a cell runs: a poll of the child process costs
# microseconds, and a crash (os._exit, segfault) sends no reply, so this bounds its detection.
_ALIVE_EVERY = 0.25

# The last print's arguments; through limits.py when present, which keeps huge values home.
_FETCH = (
    "(lambda m: m.fetch_bounded(__assistant__) if m else __assistant__.fetch())"
    "(__import__('sys').modules.get('assistant_limits'))"
)


class Kernel:
    """A running Jupyter kernel with the assistant's capture code installed."""

    def __init__(self, config: KernelConfig | None = None) -> None:
        self.config = config or KernelConfig()
        self.km: Any = None
        self.kc: Any = None
        self._tmp: Path | None = None
        self.workdir: Path | None = None
        self._lock = asyncio.Lock()
        self.start_time = 0.0
        self.restarts = 0
        # Set by any timeout/death/restart: the pool replaces such a kernel, never reuses it.
        self.tainted = False
        self._stale = False  # dead or killed; restarted before the next cell (lazy_restart)
        # Inherited by every process the kernel starts, so the reaper finds even daemons.
        self.tag = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self.log = KernelLog(self.tag, self.config.log_file)

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> Kernel:
        from jupyter_client.manager import AsyncKernelManager

        reaper.reap_stale()
        t0 = time.perf_counter()
        self._tmp, self.workdir = scratch(self.config, "asst-")
        name = self.config.kernel_name or OWN_KERNEL
        self.km = AsyncKernelManager(
            kernel_name=name,
            kernel_spec_manager=spec_manager(self.config, [self._tmp, self.workdir]),
            transport="ipc",
            ip=str(self._tmp / "k"),
            connection_file=str(self._tmp / "kernel.json"),
        )
        self.log.open()
        try:
            await self.km.start_kernel(**self._launch_args())
            await self._connect()
        except Exception as exc:
            await self._force_stop()
            self.log.close()
            raise KernelStartError(
                f"could not start kernel '{name}': {exc}{self.log.hint()}"
            ) from exc
        self.start_time = time.perf_counter() - t0
        return self

    def _launch_args(self) -> dict[str, Any]:
        # jupyter_client keeps these launch arguments for restarts, so one open file serves
        # every process this Kernel object starts.
        args: dict[str, Any] = {"cwd": str(self.workdir), "env": self._env()}
        if self.log.file is not None:
            args["stdout"] = args["stderr"] = self.log.file
        return args

    def _env(self) -> dict[str, str]:
        env = {**os.environ, **self.config.env, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        env.pop("JPY_PARENT_PID", None)
        env[reaper.TAG_VAR] = self.tag
        if self._tmp is not None:  # kernels/limits.py keeps its dropped-output count there
            env["ASSISTANT_DROPPED_FILE"] = str(self._tmp / "dropped")
        if self.config.limits.get("memory_mb"):
            # BLAS pools reserve tens of MB of address space per thread: on a many-core machine
            # that alone can exceed RLIMIT_AS and make ``import numpy`` fail. Users may override.
            threads = str(min(4, os.cpu_count() or 1))
            for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                env.setdefault(var, threads)
        return env

    async def _connect(self) -> None:
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            await self.kc.wait_for_ready(timeout=self.config.startup_timeout)
        except RuntimeError as exc:
            raise KernelStartError(str(exc)) from exc
        pid = self.pid
        if pid:
            reaper.register(pid, self.tag)
        boot = await self._run_raw(boot_code(self.config.kernel_limits()), silent=True, timeout=30)
        if boot.status != "ok":
            raise KernelStartError(f"kernel setup failed: {boot.feedback() or boot.stderr}")

    @property
    def pid(self) -> int | None:
        prov = getattr(self.km, "provisioner", None)
        proc = getattr(prov, "process", None)
        return getattr(proc, "pid", None)

    async def is_alive(self) -> bool:
        return bool(self.km is not None and await self.km.is_alive())

    async def restart(self) -> None:
        """Hard restart: a new process, all state lost, capture code reinstalled."""
        old = self.pid
        if self.kc is not None:
            self.kc.stop_channels()
        # Kill the old tree first (children that hold pipes, daemons): the new kernel gets the
        # same tag, so this must happen before it starts.
        reaper.kill_tree(old, self.tag)
        try:
            await self.km.restart_kernel(now=True)
        except Exception:
            # A kernel that died badly can leave the manager confused: start afresh.
            await self.km.shutdown_kernel(now=True)
            await self.km.start_kernel(**self._launch_args())
        if old:
            reaper.unregister(old)
        self.restarts += 1
        self.tainted = True
        self._stale = False
        await self._connect()

    async def interrupt(self) -> None:
        if self.km is not None:
            await self.km.interrupt_kernel()

    async def shutdown(self) -> None:
        pid = self.pid
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            # Its descendants first: once the kernel is gone they are no longer in its tree.
            reaper.kill_tree(pid, self.tag)
            if self.km is not None and await self.km.is_alive():
                await self.km.shutdown_kernel(now=True)
        except Exception:
            await self._force_stop()
        finally:
            reaper.kill_tree(pid, self.tag)
            if pid:
                reaper.unregister(pid)
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
            self.km = self.kc = None
            self.log.close()

    async def _force_stop(self) -> None:
        pid = self.pid
        reaper.kill_tree(pid, self.tag)
        if pid:
            reaper.unregister(pid)
        if self.kc is not None:
            self.kc.stop_channels()

    async def __aenter__(self) -> Kernel:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.shutdown()

    # -- execution ------------------------------------------------------------------------
    async def execute(
        self,
        code: str,
        *,
        print_last: bool = False,
        timeout: float | None = None,
        stdin: StdinHandler | None = None,
    ) -> ExecResult:
        """Run one cell. ``print_last`` wraps a last bare expression in print() (MTPB semantics).

        Never raises for anything the code does; a dead kernel is restarted and reported
        as ``status="died"`` with ``restarted=True``.
        """
        if print_last:
            code = code.rstrip("\n") + "\n" + FINAL_MARKER + "\n"
        async with self._lock:
            if self._stale:
                await self.restart()
            return await self._run_raw(code, timeout=timeout, stdin=stdin, capture=True)

    async def _run_raw(
        self,
        code: str,
        *,
        silent: bool = False,
        timeout: float | None = None,
        stdin: StdinHandler | None = None,
        capture: bool = False,
        user_expressions: dict[str, str] | None = None,
    ) -> ExecResult:
        if self.kc is None:
            raise KernelDied("the kernel is not running")
        kc = self.kc
        timeout = self.config.timeout if timeout is None else timeout
        exprs = dict(user_expressions or {})
        if capture:
            exprs["__asst_print"] = _FETCH
            exprs["__asst_limits"] = "__import__('sys').modules['assistant_limits'].info()"
        t0 = time.perf_counter()
        msg_id = kc.execute(
            code,
            silent=silent,
            store_history=False,
            user_expressions=exprs,
            allow_stdin=stdin is not None,
        )
        # The kernel caps output itself and adds its own marker; the client cap (with room for
        # that marker) is the backstop for kernels without kernels/limits.py.
        out = Collector(self.config.output_limit + 200)
        deadline = t0 + timeout
        status: str | None = None
        message = ""
        next_alive_check = t0 + _ALIVE_EVERY
        interrupted_at: float | None = None
        while True:
            now = time.perf_counter()
            if now >= next_alive_check:
                next_alive_check = now + _ALIVE_EVERY
                if not await self.is_alive():
                    status = "died"
                    message = f"the kernel died while running this cell ({self._exit_cause()})"
                    break
            if now >= deadline and interrupted_at is None:
                interrupted_at = now
                await self.interrupt()
            if interrupted_at is not None and now - interrupted_at > self.config.interrupt_grace:
                status = "timeout"
                message = (
                    f"timed out after {timeout:g} s; the interrupt was ignored, "
                    "so the kernel was restarted (all state lost)"
                )
                break
            if stdin is not None:
                await self._serve_stdin(kc, stdin)
            wait = 0.05 if stdin is not None else min(1.0, max(0.01, next_alive_check - now))
            try:
                msg = await kc.get_iopub_msg(timeout=wait)
            except queue.Empty:
                continue
            if msg.get("parent_header", {}).get("msg_id") != msg_id:
                continue
            if out.handle(msg):
                break
        reply: dict[str, Any] = {}
        if status is None:
            reply = await self._shell_reply(kc, msg_id)
            status = "ok" if reply.get("status") == "ok" else "error"
            if interrupted_at is not None:
                status = "timeout"
                message = f"timed out after {timeout:g} s and was interrupted (state kept)"
        result = ExecResult(
            status=status,  # type: ignore[arg-type]
            stdout=out.stdout(),
            stderr=out.stderr(),
            display=out.display,
            error=out.error,
            duration=time.perf_counter() - t0,
            truncated_bytes=out.dropped,
            message=message,
        )
        if status == "error" and result.error is None and reply:
            result.error = ExecError(
                reply.get("ename", "Error"),
                reply.get("evalue", ""),
                [strip_ansi(t) for t in reply.get("traceback", [])],
            )
        if status == "died" or (status == "timeout" and not reply):
            if self._tmp is not None:
                read_lost_count(result, self._tmp / "dropped")
            if self.config.lazy_restart:
                reaper.kill_tree(self.pid, self.tag)
                # A big process takes a few ms to die after SIGKILL: wait (and reap it) so
                # "killed now" is true when this returns.
                proc: Any = getattr(getattr(self.km, "provisioner", None), "process", None)
                if proc is not None:
                    with contextlib.suppress(Exception):
                        await asyncio.to_thread(proc.wait, 2.0)
                self._stale = self.tainted = True
            else:
                await self.restart()
            result.restarted = True
            message += "; the kernel was restarted (all state lost)" if status == "died" else ""
            message += self.log.hint() if status == "died" else ""
            result.message = message
        if status != "ok" and status != "error":
            self.tainted = True
        result.expressions = dict(reply.get("user_expressions") or {})
        if capture:
            read_prints(result)
            read_limits(result)
        explain_sys_exit(result)
        return result

    def _exit_cause(self) -> str:
        proc = getattr(getattr(self.km, "provisioner", None), "process", None)
        code = proc.poll() if proc is not None else None
        return describe_exit(code, sandboxed=self.config.sandbox == "bwrap")

    async def _shell_reply(self, kc: Any, msg_id: str) -> dict[str, Any]:
        deadline = time.perf_counter() + 10.0
        while time.perf_counter() < deadline:
            try:
                msg = await kc.get_shell_msg(timeout=1.0)
            except queue.Empty:
                if not await self.is_alive():
                    return {}
                continue
            if msg.get("parent_header", {}).get("msg_id") == msg_id:
                return dict(msg["content"])
        return {}

    async def _serve_stdin(self, kc: Any, handler: StdinHandler) -> None:
        try:
            msg = await kc.get_stdin_msg(timeout=0)
        except queue.Empty:
            return
        if msg["header"]["msg_type"] == "input_request":
            content = msg["content"]
            answer = await handler(content.get("prompt", ""), bool(content.get("password")))
            kc.input(answer)

    async def evaluate(self, expressions: dict[str, str]) -> dict[str, Any]:
        """Evaluate expressions in the user namespace without running a visible cell."""
        async with self._lock:
            if self._stale:
                await self.restart()
            res = await self._run_raw("", silent=True, user_expressions=expressions, timeout=10)
        return res.expressions
