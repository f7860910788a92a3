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
  cannot pollute a later cell's output.
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

_PR_SET_CHILD_SUBREAPER = 36
_state: _Limits | None = None


def _user_tasks(uid: int) -> int:
    """Threads of all processes of ``uid``: what RLIMIT_NPROC really counts (tasks, not
    processes), so a desktop with a busy browser already holds thousands."""
    count = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            if os.stat(f"/proc/{name}").st_uid != uid:
                continue
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
            count += int(stat[stat.rfind(b")") + 2 :].split()[17])
    return count


def _children(pid: int) -> list[int]:
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids.extend(int(p) for p in f.read().split())
    return kids


class _Limits:
    def __init__(self, max_procs: int | None, cpu_seconds: float | None, output_bytes: int | None):
        self.max_procs = max_procs
        self.procs: Any = None  # kernels/procs.py ProcessGuard
        self.cpu_seconds = cpu_seconds
        self.output_bytes = output_bytes
        self.sid = os.getsid(0)
        self.pid = os.getpid()
        self.cell = 0
        self.used = 0
        self.dropped = 0
        self.muted = 0  # bytes from threads of earlier cells
        # Once a cell's quota is spent, its own writes are only counted (the fast path of
        # _CappedWrite): a loop printing millions of lines must not pay for the full check.
        self.full = False
        self.cell_thread = threading.get_ident()  # the thread running cells
        # The dropped count, also kept in a file the client reads when the kernel is killed
        # mid-cell (a hard restart sends no end-of-cell marker): updated at the first drop,
        # then every 64 KiB, so it costs one comparison per dropped write.
        self.count_path = os.environ.get("ASSISTANT_DROPPED_FILE")
        self.next_report = 1 if self.count_path else 1 << 62
        self.reported = False
        self.stdout_class: type = type(sys.stdout)
        self.base_threads = {t.ident for t in threading.enumerate()}

    # -- output --------------------------------------------------------------------------
    def capped_write(self, orig: Any, stream: Any, text: Any) -> int:
        if isinstance(text, str) and not text.isascii():
            text = _utf8_safe(text)
        if not isinstance(text, str) or self.output_bytes is None:
            return int(orig(stream, text) or 0)
        n = len(text)
        cell = getattr(threading.current_thread(), "_asst_cell", None)
        if cell is not None and cell != self.cell:
            self.muted += n
            return n
        room = self.output_bytes - self.used
        if n <= room:
            self.used += n
            return int(orig(stream, text) or 0)
        keep = max(room, 0)
        self.used += keep
        self.dropped += n - keep
        self.full = cell is None and threading.get_ident() == self.cell_thread
        if self.dropped >= self.next_report:
            self.report_dropped()
        if keep:
            orig(stream, text[:keep])
        return n

    def drop_print(self, args: tuple[Any, ...]) -> bool:
        """A plain ``print(*args)`` on a full cell: counted, not written (see apply)."""
        if not self.full or threading.get_ident() != self.cell_thread:
            return False
        if type(sys.stdout) is not self.stdout_class:  # redirected: not ours to drop
            return False
        self.dropped += len(" ".join(map(str, args))) + 1
        if self.dropped >= self.next_report:
            self.report_dropped()
        return True

    def report_dropped(self) -> None:
        self.next_report = self.dropped + 65536
        self.reported = True
        with contextlib.suppress(OSError, TypeError), open(self.count_path, "w") as f:  # type: ignore[arg-type]
            f.write(str(self.dropped))

    def wrap_stream_class(self, cls: type) -> None:
        """Cap ``cls.write`` with a data descriptor.

        IPython 9 tees every cell's output by setting ``stream.write`` on the instance and puts
        back what it found when the cell ends; for the boot cell that is the unpatched bound
        method, which would then shadow any class-level patch for good. The descriptor keeps
        such assignments (the tee works) but never lets the raw method bypass the cap.
        """
        if isinstance(cls.__dict__.get("write"), _CappedWrite):
            return
        cls.write = _CappedWrite(cls.write, self)  # type: ignore[attr-defined]

    def tag_threads(self) -> None:
        """Remember which cell started each thread, so its late output can be muted."""
        original_start = threading.Thread.start
        limits = self

        def start(thread: threading.Thread) -> None:
            thread._asst_cell = limits.cell  # type: ignore[attr-defined]
            original_start(thread)

        threading.Thread.start = start  # type: ignore[method-assign]

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
            desc = type(sys.stdout).__dict__.get("write")
            marker = f"\n[... truncated {self.dropped} bytes of output ...]\n"
            with contextlib.suppress(Exception):
                if isinstance(desc, _CappedWrite):
                    desc.orig(sys.stdout, marker)
                else:
                    sys.stdout.write(marker)
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

    def leftovers(self) -> int:
        """Threads and child processes still running after a program (the pool replaces)."""
        threads = [
            t for t in threading.enumerate() if t.ident not in self.base_threads and t.is_alive()
        ]
        kids = [p for p in _children(self.pid) if _alive_not_zombie(p)]
        return len(threads) + len(kids)


class _CappedWrite:
    """``write`` for ipykernel's OutStream: the output cap, plus room for instance overrides."""

    def __init__(self, orig: Any, limits: _Limits) -> None:
        self.orig = orig
        self.limits = limits

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        # Runs for every write: kept to two dict lookups in the common case.
        if obj is None:
            return self
        d = obj.__dict__
        inner = d.get("_asst_override")
        if inner is not None:
            return inner  # IPython's tee, which calls the capped write it saw at cell start
        capped = d.get("_asst_capped")
        if capped is None:
            orig, limits = self.orig, self.limits
            get_ident = threading.get_ident

            def capped(text: Any) -> int:
                if limits.full and type(text) is str and get_ident() == limits.cell_thread:
                    n = len(text)
                    limits.dropped += n
                    if limits.dropped >= limits.next_report:
                        limits.report_dropped()
                    return n
                return limits.capped_write(orig, obj, text)

            d["_asst_capped"] = capped
        return capped

    def __set__(self, obj: Any, value: Any) -> None:
        # Putting back the raw method (what IPython saw at boot) must not bypass the cap.
        raw = getattr(value, "__func__", None) is self.orig
        obj.__dict__["_asst_override"] = None if raw else value

    def __delete__(self, obj: Any) -> None:
        obj.__dict__.pop("_asst_override", None)


def _utf8_safe(text: str) -> str:
    """Text UTF-8 can carry: a lone surrogate (``print('\\ud800')``) becomes ``\\ud800``.

    ipykernel cannot send such text at all: the output was lost and a traceback per flush
    went to the kernel's stderr."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _alive_not_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return False
    return stat[stat.rfind(b")") + 2 :][:1] not in (b"Z", b"X")


def _set_limit(which: int, value: int) -> None:
    """Soft and hard limit (code may lower a hard limit, never raise it: contain.py)."""
    _soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    with contextlib.suppress(ValueError, OSError):
        resource.setrlimit(which, (value, value))


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
        _set_limit(resource.RLIMIT_AS, int(memory_mb) * 1024 * 1024)
    if max_procs:
        with contextlib.suppress(Exception):
            # Threads count too (ipykernel, BLAS pools): room for a few per allowed process;
            # the exact per-kernel process count is the guard's job.
            room = 4 * int(max_procs) + 64
            _set_limit(resource.RLIMIT_NPROC, _user_tasks(os.getuid()) + room)
    with contextlib.suppress(Exception):  # no capability to raise them back (root only)
        _load_sibling("contain.py", "assistant_contain").drop_privileges()
    with contextlib.suppress(Exception):
        state.procs = _load_sibling("procs.py", "assistant_procs").ProcessGuard(
            max_procs, background=bool(background)
        )
        if max_procs:
            state.procs.install()
    with contextlib.suppress(Exception):  # Linux only; orphans then stay in the kernel's tree
        import ctypes

        ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
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
                textsafe = _load_sibling("textsafe.py", "assistant_textsafe")
                session.pack = textsafe.safe_packer(session.pack)
            if hasattr(ip, "_tee"):
                # IPython 9 copies every write of a cell into history_manager.outputs (even
                # with history off) and slows each write: a 200 MB print would stay in memory.
                ip._tee = lambda channel: contextlib.nullcontext()
    _state = state
    return state


def _load_sibling(name: str, module: str) -> Any:
    """Load another file of kernels/ (this file is exec'd by path, not imported)."""
    import types

    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), name)
    mod = types.ModuleType(module)
    mod.__file__ = path
    with open(path, encoding="utf-8") as f:
        exec(compile(f.read(), path, "exec"), mod.__dict__)
    sys.modules[module] = mod
    return mod


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
    ak = sys.modules.get("assistant_kernel")
    described = []
    for a in args:
        kind = ak._type_name(a) if ak else type(a).__name__
        text = ak._safe_repr(a) if ak else repr(a)[:4000]
        described.append({"type": kind, "value": None, "json": False, "repr": text})
    return json.dumps({"count": getattr(assistant, "cell_prints", 0), "last": described})
