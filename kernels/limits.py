"""Limits installed in every kernel the assistant starts (run once, right after start).

``apply(memory_mb=, max_procs=, cpu_seconds=, output_bytes=)`` sets, inside the kernel:

* hard limits, and no capability to raise them (contain.py: as root the kernel drops
  ``CAP_SYS_RESOURCE``, ``CAP_SYS_ADMIN``, ``CAP_SYS_PTRACE`` and ``CAP_PERFMON``, bounding set included).
* memory: ``RLIMIT_AS`` (address space), so a huge allocation raises ``MemoryError`` in the
  cell instead of waking the OOM killer, which may pick the app holding the model instead.
* processes: two layers, because ``RLIMIT_NPROC`` counts *all* processes of the user and is
  ignored for root (the kernel skips the check for uid 0 in the initial user namespace, which
  is what CI containers run as):
  - ``RLIMIT_NPROC`` = the user's current task (thread) count + room for ``max_procs``
    processes and their threads (works for ordinary users, also against forks from C code and
    shells);
  - kernels/procs.py: an exact count of the kernel's session around every Python-level fork,
    serialized across forked copies, which works as root too; a cell that went over the
    limit fails, and whatever a cell leaves running is killed when it ends unless
    ``background`` is set.
  As root, the app also puts the kernel in a pids cgroup where it can make one
  (assistant/execution/cgroup.py), which the OS kernel enforces for root too.
  Whatever gets forked anyway is killed with the kernel: the client kills the kernel's process
  group and every process carrying the kernel's tag in its environment (see ``reaper``), and the
  kernel is made a child subreaper so daemonised grandchildren stay in its tree meanwhile.
* CPU time per cell (optional, off by default: the client's wall-clock timeout, interrupt and
  hard restart is the main guard): a soft ``RLIMIT_CPU`` set before each cell to the CPU used so
  far + ``cpu_seconds``; ``SIGXCPU`` raises ``TimeoutError`` in the cell. Only the soft limit
  moves, so it can be raised again for the next cell even by an unprivileged user.
* output per cell: ``sys.stdout``/``sys.stderr`` writes past ``output_bytes`` are dropped in the
  kernel (a 200 MB print never crosses the wire) and a "truncated N bytes" line ends the cell.
  Threads started by an earlier cell that keep printing are muted (counted, not sent), so they
  cannot pollute a later cell's output (outputcap.py).
* ``exit()``/``quit()`` raise ``SystemExit`` like in a script, instead of asking the kernel to
  shut down after the cell (ipykernel's behaviour); IPython reports ``SystemExit`` as an error
  and the kernel keeps running.

This file runs inside user kernels too: standard library only, and nothing here may raise.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import signal
import sys
import threading
import warnings
from typing import Any

from . import assistant_kernel
from .contain import drop_privileges, hard_limit
from .outputcap import OutputCap
from .procs import ProcessGuard
from .proctree import become_subreaper, children, running, user_tasks
from .textsafe import safe_packer

_state: _Limits | None = None


class _Limits(OutputCap):
    def __init__(self, max_procs: int | None, cpu_seconds: float | None, output_bytes: int | None):
        super().__init__(output_bytes)
        self.max_procs = max_procs
        self.procs: ProcessGuard | None = None
        self.cpu_seconds = cpu_seconds
        self.sid = os.getsid(0)
        self.pid = os.getpid()
        # The kernel's own threads, as objects: an ident is reused by the next thread once its
        # owner ends, so a program's thread could pass for a kernel thread that is gone.
        self.base_threads = set(threading.enumerate())

    # -- cell hooks ----------------------------------------------------------------------
    def pre_run_cell(self, *args: Any) -> None:
        self.cell += 1
        self.used = self.dropped = 0
        self.full = False
        if self.reported:  # the last cell's count must not pass for this one's
            self.reported = False
            with contextlib.suppress(OSError, TypeError):
                os.unlink(self.count_path)  # type: ignore[arg-type]
        if self.count_path:
            self.next_report = 1
        self.cell_thread = threading.get_ident()
        if self.procs is not None:
            self.procs.begin_cell()
        if self.cpu_seconds:
            with contextlib.suppress(Exception):
                ru = resource.getrusage(resource.RUSAGE_SELF)
                soft = int(ru.ru_utime + ru.ru_stime + self.cpu_seconds) + 1
                hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
                if hard != resource.RLIM_INFINITY:
                    soft = min(soft, hard)
                resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))

    def post_run_cell(self, *args: Any) -> None:
        if self.procs is not None:
            with contextlib.suppress(Exception):
                self.procs.end_cell()
        if self.cpu_seconds:
            with contextlib.suppress(Exception):
                hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
                resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
        if self.dropped:
            self.write_marker()
        # IPython 9 keeps every write of a cell in history_manager.outputs (even with history
        # off): a 200 MB print would stay in memory for the kernel's lifetime.
        with contextlib.suppress(Exception):
            from IPython import get_ipython

            get_ipython().history_manager.outputs.clear()

    def on_sigxcpu(self, signum: int, frame: Any) -> None:
        with contextlib.suppress(Exception):
            hard = resource.getrlimit(resource.RLIMIT_CPU)[1]
            resource.setrlimit(resource.RLIMIT_CPU, (hard, hard))
        raise TimeoutError(f"CPU time limit exceeded ({self.cpu_seconds:g} s per cell)")

    # -- reports for the client ----------------------------------------------------------
    def info(self) -> str:
        procs = self.procs.report() if self.procs is not None else None
        return json.dumps({"dropped": self.dropped, "muted": self.muted, "procs": procs})

    def left_threads(self) -> list[threading.Thread]:
        """Threads a program started that still run."""
        return [t for t in threading.enumerate() if t not in self.base_threads and t.is_alive()]

    def leftovers(self) -> int:
        """Threads and child processes still running after a program (the pool replaces)."""
        kids = [p for p in children(self.pid) if running(p)]
        return len(self.left_threads()) + len(kids)


def _install_exit(ip: Any) -> None:
    """Make exit()/quit() raise SystemExit (reported as an error) instead of ending the kernel."""
    base = type(ip.exiter)  # ZMQExitAutocall: the trait accepts only that class

    class RaisingExit(base):  # type: ignore[misc,valid-type]
        def __call__(self, code: Any = None, *args: Any, **kwargs: Any) -> None:
            raise SystemExit(code)

    ip.exiter = RaisingExit(ip)
    for ns in (ip.user_ns, ip.user_ns_hidden):  # hidden: namespace resets copy from there
        ns["exit"] = ns["quit"] = ip.exiter
    # IPython adds a "To exit: use 'exit'..." warning to SystemExit; it only confuses readers.
    warnings.filterwarnings("ignore", message="To exit: use")


def apply(
    memory_mb: int | None = None,
    max_procs: int | None = None,
    cpu_seconds: float | None = None,
    output_bytes: int | None = None,
    background: bool = False,
    **_ignored: Any,
) -> _Limits:
    """Install the limits in this kernel (idempotent per process: a second call is a no-op)."""
    global _state
    if _state is not None and _state.pid == os.getpid():
        return _state
    state = _Limits(max_procs, cpu_seconds, output_bytes)
    if memory_mb:
        hard_limit(resource.RLIMIT_AS, int(memory_mb) * 1024 * 1024)
    if max_procs:
        with contextlib.suppress(Exception):
            # Threads count too (ipykernel, BLAS pools): room for a few per allowed process;
            # the exact per-kernel process count is the guard's job.
            room = 4 * int(max_procs) + 64
            hard_limit(resource.RLIMIT_NPROC, user_tasks(os.getuid()) + room)
    with contextlib.suppress(Exception):  # no capability to raise them back (root only)
        drop_privileges()
    with contextlib.suppress(Exception):
        state.procs = ProcessGuard(max_procs, background=bool(background))
        if max_procs:
            state.procs.install()
    become_subreaper()  # Linux only; orphans then stay in the kernel's tree
    if cpu_seconds:
        signal.signal(signal.SIGXCPU, state.on_sigxcpu)
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            state.wrap_stream_class(type(stream))
    state.tag_threads()
    with contextlib.suppress(Exception):
        from IPython import get_ipython

        ip = get_ipython()
        if ip is not None:
            ip.events.register("pre_run_cell", state.pre_run_cell)
            ip.events.register("post_run_cell", state.post_run_cell)
            _install_exit(ip)
            helper = ip.user_ns.get("__assistant__")
            if helper is not None and hasattr(helper, "drop_if_full"):
                # The print hook asks first: past the quota a print costs one call, not the
                # print machinery and two capped writes.
                helper.drop_if_full = state.drop_print
            kernel = getattr(ip, "kernel", None)
            session = getattr(kernel, "session", None)
            if session is not None:  # an error value with a lone surrogate must still be sent
                session.pack = safe_packer(session.pack)
            if hasattr(ip, "_tee"):
                # IPython 9 copies every write of a cell into history_manager.outputs (even
                # with history off) and slows each write: a 200 MB print would stay in memory.
                ip._tee = lambda channel: contextlib.nullcontext()
    _state = state
    return state


def info() -> str:
    return _state.info() if _state is not None else "{}"


def leftovers() -> int:
    return _state.leftovers() if _state is not None else 0


def fetch_bounded(assistant: Any, max_chars: int = 1_000_000) -> str:
    """``assistant.fetch()`` (the last print's arguments, see assistant_kernel.py), unless a
    value is too big to send: then types and truncated reprs only, so printing a 200 MB string
    does not ship it to the app a second time as a "printed value"."""
    args = getattr(assistant, "last_args", None) or ()
    big = any(isinstance(a, (str, bytes, bytearray)) and len(a) > max_chars for a in args)
    if not big:
        text = str(assistant.fetch())
        if len(text) <= max_chars:
            return text
    described = []
    for a in args:
        kind = assistant_kernel.type_name(a)
        text = assistant_kernel.safe_repr(a)
        described.append({"type": kind, "value": None, "json": False, "repr": text})
    return json.dumps({"count": getattr(assistant, "cell_prints", 0), "last": described})
