"""Processes started by a cell: an exact per-kernel limit, and no leftovers after the cell.

Used by limits.py (``apply(max_procs=..., background=...)``) and the fork runtime; standard
library only, and nothing here may raise into user code except the refusal of a fork.

* The limit holds even as root (where ``RLIMIT_NPROC`` is ignored) and against a fork bomb
  whose copies all fork at once: every guarded fork (``os.fork``, ``posix_spawn``,
  ``subprocess``) counts the kernel's session and forks while holding an ``fcntl`` lock on a
  file all copies share, so no two processes can both see room for one more. A refused fork
  raises ``BlockingIOError`` (EAGAIN, what a real fork failure raises) and is recorded in that
  file, so a refusal inside a forked copy (whose traceback nobody sees) still fails the cell.
* When a cell ends, every process it left running (the kernel's tree: forked copies of the
  kernel, ``Popen`` children, daemons re-parented to the kernel, which is a child subreaper;
  the orphans of a fork server's child, re-parented to the server, in the child's session)
  is stopped first
  (SIGSTOP, scan after scan, until none is new: copies still forking cannot slip between a
  scan and the kill), then killed and reaped, unless the user asked for background work
  (``background = true`` in the settings). A cell that went over the limit, or had a fork
  refused anywhere, fails; a replay of such a cell fails the same way and leaves nothing
  behind. A refusal is charged to the cell whose process it was, never to a later one.
* Processes that fork from C (a shell loop, ``os.system``, a Python subprocess) or through
  ``os.fork.__wrapped__`` bypass the guard; the OS kernel still stops them: as an ordinary
  user ``RLIMIT_NPROC`` (a hard limit: contain.py), as root (where Linux ignores it) a pids
  cgroup the app puts the kernel in where it can make one (assistant/execution/cgroup.py).
  Either way the end-of-cell count fails the cell and kills them.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import signal
import tempfile
import threading
import time
from typing import Any

from .proctree import children, descendants, running, stat_fields


def session_members(sid: int) -> list[int]:
    """Live (non-zombie) processes of session ``sid`` (a /proc scan: ~1 ms per 300)."""
    found: list[int] = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        fields = stat_fields(name)
        if fields and len(fields) > 3 and fields[0] not in (b"Z", b"X") and int(fields[3]) == sid:
            found.append(int(name))
    return found


def _reaped_elsewhere(pid: int, ours: set[int]) -> bool:
    """Gone, or a zombie whose parent is none of ``ours`` (a fork server reaps its orphans)."""
    fields = stat_fields(pid)
    return not fields or (fields[0] in (b"Z", b"X") and int(fields[1]) not in ours)


def _session(pid: int) -> int | None:
    """The session of ``pid`` (a zombie's too): one syscall, not a /proc read."""
    try:
        return os.getsid(pid)
    except OSError:
        return None


def _settled(pid: int) -> bool:
    """Stopped, gone, or a zombie: it forks, exits and re-parents nothing any more. A
    process in uninterruptible sleep (a vfork parent waiting on its stopped child) is not
    going anywhere either."""
    fields = stat_fields(pid)
    return not fields or fields[0] in (b"T", b"t", b"Z", b"X", b"D")


def _nameless_file() -> int:
    """A close-on-exec descriptor of a file no path leads to (exec'd programs never see it):
    a memfd where there is one (no disk; ``mkstemp`` + ``unlink`` cost ~0.6 ms a program), an
    unlinked temporary file elsewhere."""
    memfd = getattr(os, "memfd_create", None)
    if memfd is not None:
        with contextlib.suppress(OSError):
            return int(memfd("asst-procs", os.MFD_CLOEXEC))
    fd, path = tempfile.mkstemp(prefix=".asst-procs-")
    os.unlink(path)
    os.set_inheritable(fd, False)
    return fd


class ProcessGuard:
    def __init__(self, max_procs: int | None, background: bool = False) -> None:
        self.max_procs = max_procs
        self.background = background
        self.pid = os.getpid()
        self.sid = os.getsid(0)
        # Never ours to kill: the kernel's parents (bwrap's init in a sandbox) and pid 1.
        self.keep = {self.pid, os.getppid(), 1}
        # A file with no name: forked copies share it through the inherited descriptor, and
        # it disappears with the last of them. Each refusal appends one byte: the number (mod
        # 256) of the cell whose process was refused, so a cell is charged only for its own.
        self.fd = _nameless_file()
        # fcntl locks exclude processes, not threads of one process: this excludes threads.
        # A copy forked while another thread held it would inherit it locked: renewed there.
        self.thread_lock = threading.Lock()
        os.register_at_fork(after_in_child=self._renew_thread_lock)
        self.refused_before = 0  # file size when the cell started
        self.cell = 0  # the cell running; a forked copy keeps the number of its own
        self.over = 0  # most processes counted at the end of the cell, when over the limit
        self.killed = 0

    # -- the limit -----------------------------------------------------------------------
    def check(self) -> None:
        """Raise BlockingIOError when the session is full (called with the lock held)."""
        if not self.max_procs:
            return
        if len(session_members(self.sid)) >= self.max_procs:
            with contextlib.suppress(OSError):
                os.write(self.fd, bytes([self.cell % 256]))
            raise BlockingIOError(
                errno.EAGAIN,
                f"Resource temporarily unavailable: process limit reached "
                f"({self.max_procs} processes per kernel)",
            )

    def _renew_thread_lock(self) -> None:
        self.thread_lock = threading.Lock()

    @contextlib.contextmanager
    def locked(self) -> Any:
        # fcntl locks belong to a process and are not inherited: a forked child returning
        # through here unlocks nothing, the parent's unlock releases the lock for the next.
        with self.thread_lock:
            fcntl.lockf(self.fd, fcntl.LOCK_EX)
            try:
                yield
            finally:
                with contextlib.suppress(OSError):
                    fcntl.lockf(self.fd, fcntl.LOCK_UN)

    def wrap(self, fn: Any) -> Any:
        guard = self

        def guarded(*args: Any, **kwargs: Any) -> Any:
            with guard.locked():
                guard.check()
                return fn(*args, **kwargs)

        guarded.__wrapped__ = fn  # type: ignore[attr-defined]
        guarded.__name__ = getattr(fn, "__name__", "fork")
        return guarded

    def install(self) -> None:
        import subprocess

        for name in ("fork", "forkpty", "posix_spawn", "posix_spawnp"):
            if hasattr(os, name):
                setattr(os, name, self.wrap(getattr(os, name)))
        if getattr(subprocess, "_fork_exec", None) is not None:
            subprocess._fork_exec = self.wrap(subprocess._fork_exec)  # type: ignore[attr-defined]

    # -- cell hooks ----------------------------------------------------------------------
    def begin_cell(self) -> None:
        self.over = self.killed = 0
        self.cell += 1
        with contextlib.suppress(OSError):
            self.refused_before = os.fstat(self.fd).st_size

    def end_cell(self) -> None:
        if os.getpid() != self.pid:
            return  # a forked copy of the kernel finishing the cell: not our business
        # The kernel's tree costs a few small reads, not a /proc scan: this runs after every
        # cell. Anything in it (a zombie too: its children may be moving to the kernel right
        # now) calls for the thorough sweep.
        if not self._members():
            return
        if self.background:
            left = self.leftovers()
            if self.max_procs and len(left) + 1 > self.max_procs:
                self.over = len(left) + 1
            return
        stopped = self.stop_leftovers()
        if self.max_procs and len(stopped) + 1 > self.max_procs:
            self.over = len(stopped) + 1
        if stopped:
            self.killed = self.kill_leftovers(stopped)

    def leftovers(self) -> list[int]:
        """Running (not zombie) processes the kernel started, bar its parents (``_members``)."""
        return sorted(p for p in self._members() if running(p))

    def _members(self) -> set[int]:
        """The kernel's tree, zombies included, and where the kernel leads its session, the
        trees of its parent's children in that session: a fork server's child is no
        subreaper, so the orphans of its copies go to the server (the Jupyter kernel is one,
        they stay in its tree). The parent's children are read last: an orphan moving there
        while the tree is read is seen in one place or the other."""
        found = set(descendants(self.pid))
        if self.sid == self.pid:
            for p in children(os.getppid()):
                if p != self.pid and p not in found and _session(p) == self.sid:
                    found.add(p)
                    found.update(descendants(p))
        return found - self.keep

    def stop_leftovers(self) -> list[int]:
        """SIGSTOP everything the cell left, until a scan finds nothing new; the processes
        still alive, all stopped. A process that forks while this runs cannot escape: once a
        signal is queued its fork fails (and is restarted after the stop), so a child forked
        before is in the next scan. A scan counts as the last only when every process seen is
        stopped or gone: then none can fork, exit or re-parent its children while it runs."""
        seen: set[int] = set()
        deadline = time.monotonic() + 2.0
        while True:
            settled = all(_settled(p) for p in seen) or time.monotonic() > deadline
            new = self._members() - seen
            for p in new:
                with contextlib.suppress(OSError):
                    os.kill(p, signal.SIGSTOP)
            seen |= new
            if not new and settled:
                break
            if not new:
                time.sleep(0.001)  # a signalled process stops when it next runs
        return sorted(p for p in seen if running(p))

    def kill_leftovers(self, pids: list[int]) -> int:
        """SIGKILL the stopped processes and reap them (zombies would still count)."""
        killed: set[int] = set()
        for p in pids:
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)
                killed.add(p)
        # Reap only what was killed here: a finished Popen's zombie keeps its exit status for
        # the user's p.wait(). A grandchild becomes our child once its parent is gone.
        waiting = set(killed)
        deadline = time.monotonic() + 2.0
        while waiting and time.monotonic() < deadline:
            for p in list(waiting):
                try:
                    done, _status = os.waitpid(p, os.WNOHANG)
                except ChildProcessError:
                    done = p if _reaped_elsewhere(p, waiting | {self.pid}) else 0
                if done:
                    waiting.discard(p)
            if waiting:
                time.sleep(0.002)
        return len(killed)

    def report(self) -> dict[str, Any]:
        refused = 0
        with contextlib.suppress(OSError):
            size = os.fstat(self.fd).st_size - self.refused_before
            mine = bytes([self.cell % 256])
            refused = os.pread(self.fd, max(size, 0), self.refused_before).count(mine)
        return {
            "max_procs": self.max_procs,
            "refused": refused,
            "over": self.over,
            "killed": self.killed,
        }
