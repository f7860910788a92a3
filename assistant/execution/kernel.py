"""One Jupyter kernel, driven the way nbclient does it (async client, iopub filtered by msg_id).

``Kernel.execute`` never hangs: it watches a deadline (interrupt, then hard restart), checks
that the kernel process is alive every second, caps output, and answers ``input()`` through an
optional handler (the steps of one cell are in ``cell.py``). Kernel processes are tracked so
none outlives the app (see ``reaper``). Starts, restarts and why, interrupts and deaths are
logged under ``assistant.execution``: nowhere unless the app's ``--log-file`` asks for them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import subprocess
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.execution import cgroup, environment, reaper
from assistant.execution.cell import CellRun, StdinHandler
from assistant.execution.config import KernelConfig, scratch
from assistant.execution.kernel_log import KernelLog
from assistant.execution.launch import OWN_KERNEL, boot_code, spec_manager
from assistant.execution.output import read_limits, read_lost_count, read_prints
from assistant.execution.result import (
    ExecResult,
    KernelDied,
    KernelStartError,
    describe_exit,
    explain_sys_exit,
)
from assistant.execution.runtime import Checkpoint

if TYPE_CHECKING:
    from jupyter_client.asynchronous.client import AsyncKernelClient
    from jupyter_client.manager import AsyncKernelManager

__all__ = ["FINAL_MARKER", "Kernel", "StdinHandler"]

log = logging.getLogger(__name__)

FINAL_MARKER = "#%%assistant:final"


class Kernel:
    """A running Jupyter kernel with the assistant's capture code installed: a ``Runtime``
    (``runtime.py``) without snapshots."""

    snapshots = False  # no fork snapshots: a failed attempt is undone by restart and replay

    def __init__(self, config: KernelConfig | None = None) -> None:
        self.config = config or KernelConfig()
        self.km: AsyncKernelManager | None = None
        self.kc: AsyncKernelClient | None = None
        self._tmp: Path | None = None
        self.workdir: Path | None = None
        self._lock = asyncio.Lock()
        self.start_time = 0.0
        self.restarts = 0
        # Set by any timeout/death/restart: the pool replaces such a kernel, never reuses it.
        self.tainted = False
        self._stale = False  # dead or killed; restarted before the next cell (lazy_restart)
        self._run: CellRun | None = None  # the cell in flight, if any
        # Inherited by every process the kernel starts, so the reaper finds even daemons.
        self.tag = f"{os.getpid()}-{uuid.uuid4().hex[:12]}"
        self._cgroup: Path | None = None  # its pids cgroup, where one can be made (cgroup.py)
        self.log = KernelLog(self.tag, self.config.log_file)

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> Kernel:
        from jupyter_client.manager import AsyncKernelManager

        cgroup.reap_stale()
        environment.protect_app()
        t0 = time.perf_counter()
        self._tmp, self.workdir = scratch(self.config, "asst-")
        name = self.config.kernel_name or OWN_KERNEL
        self.km = km = AsyncKernelManager(
            kernel_name=name,
            kernel_spec_manager=spec_manager(self.config, [self._tmp, self.workdir]),
            transport="ipc",
            ip=str(self._tmp / "k"),
            connection_file=str(self._tmp / "kernel.json"),
        )
        self.log.open()
        try:
            await km.start_kernel(**self._launch_args())
            await self._connect()
        except Exception as exc:
            await self._force_stop()
            self.log.close()
            log.warning("kernel '%s' failed to start: %s", name, exc)
            raise KernelStartError(
                f"could not start kernel '{name}': {exc}{self.log.hint()}"
            ) from exc
        self.start_time = time.perf_counter() - t0
        log.info(
            "kernel '%s' started: pid %s in %.2f s (tag %s, sandbox %s)",
            name,
            self.pid,
            self.start_time,
            self.tag,
            "bwrap" if self.config.sandboxed else "none",
        )
        return self

    def _launch_args(self) -> dict[str, Any]:
        # jupyter_client keeps these launch arguments for restarts, so one open file serves
        # every process this Kernel object starts.
        args: dict[str, Any] = {"cwd": str(self.workdir), "env": self._env()}
        if self.log.file is not None:
            args["stdout"] = args["stderr"] = self.log.file
        return args

    def _env(self) -> dict[str, str]:
        own = {"PYDEVD_DISABLE_FILE_VALIDATION": "1", reaper.TAG_VAR: self.tag}
        if self._tmp is not None:  # kernels/limits.py keeps its dropped-output count there
            own["ASSISTANT_DROPPED_FILE"] = str(self._tmp / "dropped")
        if self.config.limits.get("memory_mb"):
            # BLAS pools reserve tens of MB of address space per thread: on a many-core machine
            # that alone can exceed RLIMIT_AS and make ``import numpy`` fail. Users may override.
            threads = str(min(4, os.cpu_count() or 1))
            for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
                own[var] = os.environ.get(var, threads)
        env = self.config.kernel_env(own)
        env.pop("JPY_PARENT_PID", None)
        return env

    async def _connect(self) -> None:
        assert self.km is not None
        self.kc = kc = self.km.client()
        kc.start_channels()
        try:
            await kc.wait_for_ready(timeout=self.config.startup_timeout)
        except RuntimeError as exc:
            raise KernelStartError(str(exc)) from exc
        pid = self.pid
        if pid:
            reaper.register(pid, self.tag)
            max_procs = self.config.limits.get("max_procs")
            if max_procs:  # before any generated code runs: its forks count from the start
                limit = int(max_procs) + cgroup.ROOM
                self._cgroup = cgroup.confine(pid, self.tag, limit, self._cgroup)
        boot = await self._run_cell(boot_code(self.config.kernel_limits()), silent=True, timeout=30)
        if boot.status != "ok":
            raise KernelStartError(f"kernel setup failed: {boot.feedback() or boot.stderr}")

    @property
    def pid(self) -> int | None:
        prov = getattr(self.km, "provisioner", None)
        proc = getattr(prov, "process", None)
        return getattr(proc, "pid", None)

    async def is_alive(self) -> bool:
        return bool(self.km is not None and await self.km.is_alive())

    async def restart(self, *, reason: str = "asked for") -> None:
        """Hard restart: a new process, all state lost, capture code reinstalled. ``reason``
        only goes to the log."""
        if self.km is None:
            raise KernelDied("the kernel is not running")
        km = self.km
        old = self.pid
        t0 = time.perf_counter()
        log.info("restarting kernel pid %s (%s)", old, reason)
        if self.kc is not None:
            self.kc.stop_channels()
        # Kill the old tree first (children that hold pipes, daemons): the new kernel gets the
        # same tag, so this must happen before it starts.
        reaper.kill_tree(old, self.tag)
        try:
            await km.restart_kernel(now=True)
        except Exception as exc:
            # A kernel that died badly can leave the manager confused: start afresh.
            log.info("restart of kernel pid %s failed (%s): starting a new one", old, exc)
            await km.shutdown_kernel(now=True)
            await km.start_kernel(**self._launch_args())
        if old:
            reaper.unregister(old)
        self.restarts += 1
        self.tainted = True
        self._stale = False
        await self._connect()
        log.info(
            "kernel restarted: pid %s is now pid %s (%.2f s)",
            old,
            self.pid,
            time.perf_counter() - t0,
        )

    async def interrupt(self) -> None:
        """Interrupt the running cell. A cell sent but not started yet is interrupted as soon
        as it starts: before that, ipykernel ignores SIGINT, and the signal would be lost."""
        run = self._run
        if run is not None and not run.started:
            log.info("kernel pid %s: interrupt deferred until the cell starts", self.pid)
            run.interrupt_on_start = True
            return
        await self.signal_interrupt()

    async def signal_interrupt(self) -> None:
        if self.km is not None:
            log.info("interrupting kernel pid %s", self.pid)
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
            cgroup.remove(self._cgroup)
            self._cgroup = None
            if self._tmp is not None:
                reaper.remove_folder(self._tmp)
            self.km = None
            self.kc = None
            self.log.close()
            log.debug("kernel pid %s shut down", pid)

    async def _force_stop(self) -> None:
        pid = self.pid
        reaper.kill_tree(pid, self.tag)
        if pid:
            reaper.unregister(pid)
        if self.kc is not None:
            self.kc.stop_channels()

    async def checkpoint(self, op: Checkpoint) -> bool:
        """No snapshots in a Jupyter kernel (``snapshots`` is False): never done."""
        return False

    def describe(self) -> dict[str, Any]:
        return {
            "runtime": "jupyter",
            "kernel": self.config.kernel_name or OWN_KERNEL,
            "pid": self.pid,
            "restarts": self.restarts,
            "sandbox": "bwrap" if self.config.sandboxed else "none",
            "snapshots": self.snapshots,
        }

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
                await self.restart(reason="killed after the last cell")
            return await self._run_cell(code, timeout=timeout, stdin=stdin, capture=True)

    async def execute_silent(
        self,
        code: str,
        *,
        timeout: float | None = None,
        user_expressions: dict[str, str] | None = None,
    ) -> ExecResult:
        """Run the app's own code: no output capture, no history, no execution count. For
        set-up and housekeeping cells (the pool's reset and snapshots) and expressions;
        ``result.expressions`` holds the ``user_expressions`` answers."""
        async with self._lock:
            if self._stale:
                await self.restart(reason="killed after the last cell")
            return await self._run_cell(
                code, silent=True, timeout=timeout, user_expressions=user_expressions
            )

    async def evaluate(self, expressions: dict[str, str]) -> dict[str, Any]:
        """Evaluate expressions in the user namespace without running a visible cell."""
        res = await self.execute_silent("", user_expressions=expressions, timeout=10)
        return res.expressions

    async def _run_cell(
        self,
        code: str,
        *,
        silent: bool = False,
        timeout: float | None = None,
        stdin: StdinHandler | None = None,
        capture: bool = False,
        user_expressions: dict[str, str] | None = None,
    ) -> ExecResult:
        """The steps of one cell (``cell.py``), then recovery; the caller holds the lock."""
        if self.kc is None:
            raise KernelDied("the kernel is not running")
        run = CellRun(self, self.kc, self.config.timeout if timeout is None else timeout)
        self._run = run
        try:
            run.send(
                code,
                silent=silent,
                capture=capture,
                user_expressions=user_expressions,
                allow_stdin=stdin is not None,
            )
            await run.await_idle(stdin)
            if run.status is None:
                await run.await_reply()
        finally:
            self._run = None
        result = run.result()
        if run.lost_kernel:
            await self._recover(result)
        if result.status not in ("ok", "error"):
            self.tainted = True
        if capture:
            read_prints(result)
            read_limits(result)
        explain_sys_exit(result)
        return result

    async def _recover(self, result: ExecResult) -> None:
        """After a death or an ignored interrupt: a new kernel, now or (``lazy_restart``) when
        the next cell comes. What the dead kernel had counted as dropped output is kept."""
        died = result.status == "died"
        if self._tmp is not None:
            read_lost_count(result, self._tmp / "dropped")
        why = "it died" if died else "it ignored the interrupt"
        if self.config.lazy_restart:
            pid = self.pid
            reaper.kill_tree(pid, self.tag)
            # A big process takes a few ms to die after SIGKILL: wait (and reap it) so
            # "killed now" is true when this returns.
            proc = self._process()
            if proc is not None:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(proc.wait, 2.0)
            self._stale = self.tainted = True
            log.info("kernel pid %s killed (%s); a new one starts with the next cell", pid, why)
        else:
            await self.restart(reason=why)
        result.restarted = True
        if died:
            result.message += "; the kernel was restarted (all state lost)" + self.log.hint()

    def _process(self) -> subprocess.Popen[bytes] | None:
        """The kernel's process (the local provisioner's), or None."""
        proc: subprocess.Popen[bytes] | None = getattr(
            getattr(self.km, "provisioner", None), "process", None
        )
        return proc

    def exit_cause(self) -> str:
        """How the kernel process ended (exit code or signal, with a hint), for messages."""
        proc = self._process()
        code = proc.poll() if proc is not None else None
        return describe_exit(code, sandboxed=self.config.sandboxed)
