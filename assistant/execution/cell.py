"""One cell in flight, in the steps nbclient runs it.

1. ``send``: the execute request (with the user expressions that fetch the print capture);
2. ``await_idle``: iopub messages of this request collected until ``status: idle``, under the
   output cap, while answering ``input()``, checking that the process lives and interrupting
   at the deadline; the run ends early when the kernel dies or ignores the interrupt;
3. ``await_reply``: the shell reply, with a deadline of its own (a kernel may die after idle);
4. ``result``: what all that says, as an ``ExecResult``.

Recovering from a death or an ignored interrupt (a restart, now or lazily) belongs to the
kernel (``Kernel._recover``): it owns the process. Keeping the steps apart keeps each one
short enough to read, and lets the wait loop be the only place that knows about polling.
"""

from __future__ import annotations

import logging
import queue
import time
from typing import TYPE_CHECKING, Any, Protocol

from assistant.execution.config import KernelConfig
from assistant.execution.output import Collector
from assistant.execution.result import ExecError, ExecResult, Status, strip_ansi
from assistant.execution.runtime import StdinHandler

if TYPE_CHECKING:
    from jupyter_client.asynchronous.client import AsyncKernelClient

__all__ = ["CellRun", "InputCancelled", "KernelProcess", "StdinHandler"]

log = logging.getLogger(__name__)


class KernelProcess(Protocol):
    """What a cell in flight needs of its kernel (``Kernel``, which owns the process)."""

    config: KernelConfig

    @property
    def pid(self) -> int | None: ...

    async def is_alive(self) -> bool: ...

    def exit_cause(self) -> str: ...

    async def interrupt(self) -> None: ...

    async def signal_interrupt(self) -> None: ...


class InputCancelled(Exception):
    """Raised by a ``StdinHandler`` when the person asked cancels (Ctrl+C, Esc): the kernel
    gets no answer (the code must not run on with an empty one), the cell is interrupted, and
    its error says the input was cancelled instead of showing the kernel's own traceback."""


# A Jupyter message as jupyter_client hands it over (header, parent_header, content...).
Msg = dict[str, Any]

# Seconds between liveness checks while a cell runs: a poll of the child process costs
# microseconds, and a crash (os._exit, segfault) sends no reply, so this bounds its detection.
_ALIVE_EVERY = 0.25

# The last print's arguments; through limits.py when present, which keeps huge values home.
_FETCH = (
    "(lambda m: m.fetch_bounded(__assistant__) if m else __assistant__.fetch())"
    "(__import__('sys').modules.get('assistant_limits'))"
)


class CellRun:
    """One execute request and what has been learnt about it so far."""

    def __init__(self, kernel: KernelProcess, kc: AsyncKernelClient, timeout: float) -> None:
        self.kernel = kernel
        self.kc = kc
        self.timeout = timeout
        self.msg_id = ""
        self.t0 = 0.0
        # The kernel caps output itself and adds its own marker; the client cap (with room for
        # that marker) is the backstop for kernels without kernels/limits.py.
        self.out = Collector(kernel.config.output_limit + 200)
        self.status: Status | None = None  # set early only by "died" or "timeout"
        self.message = ""
        self.interrupted_at: float | None = None
        self.input_cancelled = False  # the StdinHandler raised InputCancelled
        self.reply: Msg = {}  # the shell reply's content; empty when none came
        # ipykernel takes SIGINT only once it handles the request (its execute_input, or busy
        # for a silent cell, comes after): an interrupt asked for earlier waits for that.
        self.started = False
        self.interrupt_on_start = False
        self.silent = False

    def send(
        self,
        code: str,
        *,
        silent: bool,
        capture: bool,
        user_expressions: dict[str, str] | None,
        allow_stdin: bool,
    ) -> None:
        exprs = dict(user_expressions or {})
        if capture:
            exprs["__asst_print"] = _FETCH
            exprs["__asst_limits"] = "__import__('sys').modules['assistant_limits'].info()"
        self.t0 = time.perf_counter()
        self.silent = silent
        self.msg_id = self.kc.execute(
            code,
            silent=silent,
            store_history=False,
            user_expressions=exprs,
            allow_stdin=allow_stdin,
        )

    async def await_idle(self, stdin: StdinHandler | None) -> None:
        """Collect this request's iopub output until idle, a death, or an ignored interrupt."""
        grace = self.kernel.config.interrupt_grace
        deadline = self.t0 + self.timeout
        next_alive_check = self.t0 + _ALIVE_EVERY
        while True:
            now = time.perf_counter()
            if now >= next_alive_check:
                next_alive_check = now + _ALIVE_EVERY
                if not await self.kernel.is_alive():
                    cause = self.kernel.exit_cause()
                    log.warning("kernel pid %s died while running a cell (%s)", self.pid, cause)
                    self.status = "died"
                    self.message = f"the kernel died while running this cell ({cause})"
                    return
            if now >= deadline and self.interrupted_at is None:
                log.info("cell timed out after %g s in kernel pid %s", self.timeout, self.pid)
                self.interrupted_at = now
                await self.kernel.signal_interrupt()
            if self.interrupted_at is not None and now - self.interrupted_at > grace:
                log.warning(
                    "kernel pid %s ignored the interrupt for %g s: it will be restarted",
                    self.pid,
                    grace,
                )
                self.status = "timeout"
                self.message = (
                    f"timed out after {self.timeout:g} s; the interrupt was ignored, "
                    "so the kernel was restarted (all state lost)"
                )
                return
            if stdin is not None:
                await self._serve_stdin(stdin)
            wait = 0.05 if stdin is not None else min(1.0, max(0.01, next_alive_check - now))
            try:
                msg = await self.kc.get_iopub_msg(timeout=wait)
            except queue.Empty:
                continue
            if msg.get("parent_header", {}).get("msg_id") != self.msg_id:
                continue
            if not self.started and self._starts(msg):
                self.started = True
                if self.interrupt_on_start:
                    await self.kernel.signal_interrupt()
            if self.out.handle(msg):
                return

    def _starts(self, msg: Msg) -> bool:
        kind = msg["header"]["msg_type"]
        if kind == "execute_input":
            return True
        # a silent cell publishes no execute_input; busy comes just before the handler
        return (
            kind == "status" and msg["content"].get("execution_state") == "busy" and (self.silent)
        )

    async def _serve_stdin(self, handler: StdinHandler) -> None:
        try:
            msg = await self.kc.get_stdin_msg(timeout=0)
        except queue.Empty:
            return
        if msg["header"]["msg_type"] == "input_request":
            content = msg["content"]
            try:
                answer = await handler(content.get("prompt", ""), bool(content.get("password")))
            except InputCancelled:
                self.input_cancelled = True
                await self.kernel.interrupt()
                return
            self.kc.input(answer)

    async def await_reply(self) -> None:
        """The shell reply of a cell that went idle: ok or error (timeout if interrupted)."""
        self.reply = await self._shell_reply()
        self.status = "ok" if self.reply.get("status") == "ok" else "error"
        if self.interrupted_at is not None:
            self.status = "timeout"
            self.message = f"timed out after {self.timeout:g} s and was interrupted (state kept)"

    async def _shell_reply(self) -> Msg:
        deadline = time.perf_counter() + 10.0
        while time.perf_counter() < deadline:
            try:
                msg = await self.kc.get_shell_msg(timeout=1.0)
            except queue.Empty:
                if not await self.kernel.is_alive():
                    return {}
                continue
            if msg.get("parent_header", {}).get("msg_id") == self.msg_id:
                return dict(msg["content"])
        return {}

    def result(self) -> ExecResult:
        assert self.status is not None, "await_idle first"
        out, reply = self.out, self.reply
        result = ExecResult(
            status=self.status,
            stdout=out.stdout(),
            stderr=out.stderr(),
            display=out.display,
            error=out.error,
            duration=time.perf_counter() - self.t0,
            truncated_bytes=out.dropped,
            message=self.message,
        )
        if self.status == "error" and result.error is None and reply:
            result.error = ExecError(
                reply.get("ename", "Error"),
                reply.get("evalue", ""),
                [strip_ansi(t) for t in reply.get("traceback", [])],
            )
        result.expressions = dict(reply.get("user_expressions") or {})
        err = result.error
        if self.input_cancelled and err is not None and err.ename == "KeyboardInterrupt":
            # The cell's own frames only: the rest is ipykernel waiting for the answer.
            frames = [strip_ansi(t) for t in err.traceback]
            frames = [t for t in frames if t.startswith(("Cell In", "Input In"))]
            frames.append("KeyboardInterrupt: input() cancelled")
            result.error = ExecError("KeyboardInterrupt", "input() cancelled", frames)
            result.message = "input() cancelled: the code was stopped (variables kept)"
        return result

    @property
    def lost_kernel(self) -> bool:
        """The kernel died, or ignored the interrupt (no reply): it must be restarted."""
        return self.status == "died" or (self.status == "timeout" and not self.reply)

    @property
    def pid(self) -> int | None:
        return self.kernel.pid
