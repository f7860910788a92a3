"""One Jupyter kernel, driven the way nbclient does it (async client, iopub filtered by msg_id).

``Kernel.execute`` never hangs: it watches a deadline (interrupt, then hard restart), checks
that the kernel process is alive every second, caps output, and answers ``input()`` through an
optional handler. Kernel processes are tracked so none outlives the app (see ``reaper``).
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import shutil
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import reaper
from .result import ExecError, ExecResult, KernelDied, KernelStartError, Printed, strip_ansi

FINAL_MARKER = "#%%assistant:final"
StdinHandler = Callable[[str, bool], Awaitable[str]]
OWN_KERNEL = "assistant-python"


@dataclass
class KernelConfig:
    """How kernels are started and how cells are run. Defaults suit interactive use."""

    kernel_name: str | None = None  # None: the app's own Python; else any installed kernelspec
    timeout: float = 20.0  # seconds per cell
    interrupt_grace: float = 2.0  # after an interrupt, wait this long before a hard restart
    startup_timeout: float = 60.0
    output_limit: int = 1_000_000  # bytes of stdout+stderr kept per cell
    workdir: Path | None = None  # the kernel's cwd; None: a fresh scratch folder
    env: dict[str, str] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)  # see kernels/limits.py
    sandbox: str = "none"  # "none" | "bwrap"


def _kernel_argv() -> list[str]:
    return [
        sys.executable,
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
        "--HistoryManager.enabled=False",
    ]


def _spec_manager(config: KernelConfig) -> Any:
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class OwnSpecManager(KernelSpecManager):
        """The app's own interpreter as a kernelspec, whatever the user has installed."""

        def get_kernel_spec(self, kernel_name: str, *args: Any, **kwargs: Any) -> Any:
            if kernel_name == OWN_KERNEL:
                argv = _kernel_argv()
                if config.sandbox == "bwrap":
                    from .sandbox import bwrap_argv

                    argv = bwrap_argv(argv, config)
                return KernelSpec(argv=argv, display_name="assistant", language="python")
            return super().get_kernel_spec(kernel_name, *args, **kwargs)

    return OwnSpecManager()


def _boot_code(limits: dict[str, Any]) -> str:
    from ..resources import kernel_file

    path = str(kernel_file("assistant_kernel.py"))
    limits_path = kernel_file("limits.py")
    lines = [
        "def __asst_boot(path, name):",
        "    import sys, types",
        "    mod = types.ModuleType(name); mod.__file__ = path",
        "    exec(compile(open(path, encoding='utf-8').read(), path, 'exec'), mod.__dict__)",
        "    sys.modules[name] = mod",
        "    return mod",
        f"__asst_boot({path!r}, 'assistant_kernel').install()",
    ]
    if limits_path.exists():
        lines.append(
            f"__asst_boot({str(limits_path)!r}, 'assistant_limits').apply(**{json.dumps(limits)})"
        )
    lines.append("del __asst_boot")
    return "\n".join(lines)


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

    # -- lifecycle ------------------------------------------------------------------------
    async def start(self) -> Kernel:
        from jupyter_client.manager import AsyncKernelManager

        reaper.reap_stale()
        t0 = time.perf_counter()
        self._tmp = Path(tempfile.mkdtemp(prefix="asst-"))
        if self.config.workdir is not None:
            self.workdir = Path(self.config.workdir)
            self.workdir.mkdir(parents=True, exist_ok=True)
        else:
            self.workdir = self._tmp / "work"
            self.workdir.mkdir()
        name = self.config.kernel_name or OWN_KERNEL
        self.km = AsyncKernelManager(
            kernel_name=name,
            kernel_spec_manager=_spec_manager(self.config),
            transport="ipc",
            ip=str(self._tmp / "k"),
            connection_file=str(self._tmp / "kernel.json"),
        )
        env = {**os.environ, **self.config.env, "PYDEVD_DISABLE_FILE_VALIDATION": "1"}
        env.pop("JPY_PARENT_PID", None)
        try:
            await self.km.start_kernel(cwd=str(self.workdir), env=env)
            await self._connect()
        except Exception as exc:
            await self._force_stop()
            raise KernelStartError(f"could not start kernel '{name}': {exc}") from exc
        self.start_time = time.perf_counter() - t0
        return self

    async def _connect(self) -> None:
        self.kc = self.km.client()
        self.kc.start_channels()
        try:
            await self.kc.wait_for_ready(timeout=self.config.startup_timeout)
        except RuntimeError as exc:
            raise KernelStartError(str(exc)) from exc
        pid = self.pid
        if pid:
            reaper.register(pid)
        boot = await self._run_raw(_boot_code(self.config.limits), silent=True, timeout=30)
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
        try:
            await self.km.restart_kernel(now=True)
        except Exception:
            # A kernel that died badly can leave the manager confused: start afresh.
            await self.km.shutdown_kernel(now=True)
            env = {**os.environ, **self.config.env}
            await self.km.start_kernel(cwd=str(self.workdir), env=env)
        if old:
            reaper.unregister(old)
        self.restarts += 1
        await self._connect()

    async def interrupt(self) -> None:
        if self.km is not None:
            await self.km.interrupt_kernel()

    async def shutdown(self) -> None:
        pid = self.pid
        try:
            if self.kc is not None:
                self.kc.stop_channels()
            if self.km is not None and await self.km.is_alive():
                await self.km.shutdown_kernel(now=True)
        except Exception:
            await self._force_stop()
        finally:
            if pid:
                reaper.kill_group(pid)
                reaper.unregister(pid)
            if self._tmp is not None:
                shutil.rmtree(self._tmp, ignore_errors=True)
            self.km = self.kc = None

    async def _force_stop(self) -> None:
        pid = self.pid
        if pid:
            reaper.kill_group(pid)
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
        final: bool = False,
        timeout: float | None = None,
        stdin: StdinHandler | None = None,
    ) -> ExecResult:
        """Run one cell. ``final`` wraps a last bare expression in print() (MTPB semantics).

        Never raises for anything the code does; a dead kernel is restarted and reported
        as ``status="died"`` with ``restarted=True``.
        """
        if final:
            code = code.rstrip("\n") + "\n" + FINAL_MARKER + "\n"
        async with self._lock:
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
            exprs["__asst_print"] = "__assistant__.fetch()"
        t0 = time.perf_counter()
        msg_id = kc.execute(
            code,
            silent=silent,
            store_history=False,
            user_expressions=exprs,
            allow_stdin=stdin is not None,
        )
        out = _Collector(self.config.output_limit)
        deadline = t0 + timeout
        status: str | None = None
        message = ""
        next_alive_check = t0 + 1.0
        interrupted_at: float | None = None
        while True:
            now = time.perf_counter()
            if now >= next_alive_check:
                next_alive_check = now + 1.0
                if not await self.is_alive():
                    status = "died"
                    message = "the kernel died while running this cell (process exited)"
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
            await self.restart()
            result.restarted = True
        result.expressions = dict(reply.get("user_expressions") or {})
        if capture:
            _read_prints(result)
        return result

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
            res = await self._run_raw("", silent=True, user_expressions=expressions, timeout=10)
        return res.expressions


class _Collector:
    """Accumulates iopub output for one cell, dropping what goes over the byte cap."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.dropped = 0
        self._out: list[str] = []
        self._err: list[str] = []
        self.display: list[str] = []
        self.error: ExecError | None = None

    def _keep(self, text: str) -> str:
        room = self.limit - self.used
        if len(text) <= room:
            self.used += len(text)
            return text
        kept = text[: max(room, 0)]
        self.used += len(kept)
        self.dropped += len(text) - len(kept)
        return kept

    def handle(self, msg: dict[str, Any]) -> bool:
        """Take one iopub message; True when the cell is finished (status idle)."""
        kind = msg["header"]["msg_type"]
        content = msg["content"]
        if kind == "status":
            return bool(content.get("execution_state") == "idle")
        if kind == "stream":
            text = self._keep(content.get("text", ""))
            (self._out if content.get("name") == "stdout" else self._err).append(text)
        elif kind in ("execute_result", "display_data"):
            text = content.get("data", {}).get("text/plain")
            if text is not None:
                self.display.append(self._keep(text))
        elif kind == "error":
            self.error = ExecError(
                content.get("ename", "Error"),
                content.get("evalue", ""),
                [strip_ansi(t) for t in content.get("traceback", [])],
            )
        elif kind == "clear_output":
            self._out.clear()
        return False

    def _marker(self) -> str:
        return f"\n[... truncated {self.dropped} bytes of output ...]\n" if self.dropped else ""

    def stdout(self) -> str:
        return "".join(self._out) + self._marker()

    def stderr(self) -> str:
        return "".join(self._err)


def _read_prints(result: ExecResult) -> None:
    cap = result.expressions.pop("__asst_print", None)
    if not cap or cap.get("status") != "ok":
        return
    import ast

    try:
        text = ast.literal_eval(cap["data"]["text/plain"])
        payload = json.loads(text)
    except (ValueError, SyntaxError, KeyError):
        return
    result.print_count = int(payload.get("count", 0))
    last = payload.get("last")
    if last is not None:
        result.printed = [Printed.from_dict(d) for d in last]
