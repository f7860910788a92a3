"""The fork server's children: forking them, reading their pipes, killing what they leave.

The process side of ``fork_server.py`` (which speaks the JSON protocol over it): each program
runs in a forked child (``fork_child.py``) with a control pipe, a result pipe and its own
stdout/stderr pipes; a child's output is capped here too (output from C code and subprocesses
bypasses the child's own cap); a killed program takes its whole tree with it, and the orphans it
left, re-parented here (this process is a child subreaper), are killed when they show up.
Standard library only: it runs in the user's interpreter.
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import time
from typing import Any

from .assistant_kernel import Assistant
from .fork_child import Child
from .proctree import children, env_of

PROGRAM_VAR = "ASSISTANT_PROGRAM_ID"  # which program a process belongs to


class Session:
    """One forked child: a spare until the client opens it as program ``sid``."""

    def __init__(self, num: int, pid: int, ctl_w: int, res_r: int, out_r: int, err_r: int):
        self.num = num  # the server's own number (ASSISTANT_PROGRAM_ID in the child)
        self.sid = ""
        self.pid = pid  # the process serving it (changes on a rollback to a snapshot)
        self.group = pid  # its process group and session, whatever process serves it
        self.ctl_w, self.res_r, self.out_r, self.err_r = ctl_w, res_r, out_r, err_r
        self.buf = b""
        # Output read from the child's stdout/stderr pipes, not yet handed to a cell.
        self.raw: dict[str, bytearray] = {"out": bytearray(), "err": bytearray()}
        self.lost = 0  # bytes over the supervisor's cap (output from C code, subprocesses)
        self.deadline: float | None = None
        self.timeout = 0.0
        self.rid: Any = None  # the request being run, echoed in its reply
        self.alive = True
        # A whole program sent at once ("program" op): the cells left and the results so far.
        self.batch: list[dict[str, Any]] | None = None
        self.results: list[dict[str, Any]] = []


class Children:
    """The forked children of one server, by number, and their pipes."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.assistant = Assistant()  # the print hook every child inherits
        self.live: dict[int, Session] = {}  # every child not yet killed, by number
        self.dying: set[int] = set()  # killed children not yet reaped (pids)
        self.by_fd: dict[int, Session] = {}
        self.kinds: dict[int, str] = {}
        self.exits: dict[int, int] = {}  # pid -> wait status, reaped early
        self.sel = selectors.DefaultSelector()
        self.cap = int(cfg.get("output_bytes") or 1_000_000) + 400
        # Ends a cell's output in whole-program mode; no program can guess it.
        self.marker = b"\x00\x1e" + os.urandom(8).hex().encode() + b"\x1e\x00"
        self.count = 0

    def fork(self) -> Session:
        ctl_r, ctl_w = os.pipe()
        res_r, res_w = os.pipe()
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        self.count += 1
        num = self.count
        pid = os.fork()
        if pid == 0:  # the child: never returns
            code = 0
            try:
                os.dup2(out_w, 1)
                os.dup2(err_w, 2)
                null = os.open(os.devnull, os.O_RDONLY)
                os.dup2(null, 0)
                os.dup2(ctl_r, 3)
                os.dup2(res_w, 4)
                # Nothing of the supervisor or of other programs stays open in this one.
                os.closerange(5, 1 << 16)
                os.environ[PROGRAM_VAR] = str(num)
                child = Child(self.cfg, self.marker, self.assistant, 3, 4)
                child.setup()
                child.serve()
            except BaseException:
                # The child's stderr is already the program's: the reason reaches the client.
                import traceback

                traceback.print_exc()
                code = 70
            finally:
                os._exit(code)
        for fd in (ctl_r, res_w, out_w, err_w):
            os.close(fd)
        s = Session(num, pid, ctl_w, res_r, out_r, err_r)
        self.live[num] = s
        for fd, kind in ((res_r, "res"), (out_r, "out"), (err_r, "err")):
            os.set_blocking(fd, False)
            self.by_fd[fd] = s
            self.kinds[fd] = kind
            self.sel.register(fd, selectors.EVENT_READ)
        return s

    def _drain(self, s: Session, fd: int, raw: bytearray) -> bool:
        """Read what is there; False at end of file. Only the output after the last cell
        marker can grow: past the cap its middle is dropped (and counted), keeping its end,
        where a marker may be arriving."""
        m = len(self.marker)
        while True:
            try:
                data = os.read(fd, 1 << 16)
            except BlockingIOError:
                return True
            except OSError:
                return False
            if not data:
                return False
            raw += data
            last = raw.rfind(self.marker)
            start = 0 if last < 0 else last + m
            if len(raw) - start > self.cap + (1 << 16):
                cut_from, cut_to = start + self.cap, len(raw) - (m - 1)
                s.lost += cut_to - cut_from
                del raw[cut_from:cut_to]

    def _unregister(self, fd: int) -> None:
        with contextlib.suppress(KeyError, ValueError):
            self.sel.unregister(fd)
        self.by_fd.pop(fd, None)
        self.kinds.pop(fd, None)
        with contextlib.suppress(OSError):
            os.close(fd)

    def _output(self, s: Session, marked: bool = False) -> dict[str, Any]:
        """The output of the cell that just ended. Whatever the child wrote before its answer
        is already in the pipes; with ``marked`` (whole programs) it ends at a marker and
        what follows belongs to the next cell."""
        out: dict[str, Any] = {}
        for kind, fd in (("out", s.out_r), ("err", s.err_r)):
            raw = s.raw[kind]
            if fd in self.by_fd:
                self._drain(s, fd, raw)
            end = raw.find(self.marker) if marked else -1
            chunk = bytes(raw[:end]) if end >= 0 else bytes(raw)
            del raw[: end + len(self.marker) if end >= 0 else len(raw)]
            if len(chunk) > self.cap:
                s.lost += len(chunk) - self.cap
                chunk = chunk[: self.cap]
            out["std" + kind] = chunk.decode("utf-8", "replace")
        out["lost"], s.lost = s.lost, 0
        return out

    def dead_result(self, s: Session) -> dict[str, Any]:
        status = self._wait(s.pid)
        self.kill(s)
        return {"status": "died", "cause": _cause(status), **self._output(s)}

    def timeout_result(self, s: Session) -> dict[str, Any]:
        self.kill(s)
        return {"status": "timeout", **self._output(s)}

    def _wait(self, pid: int) -> int | None:
        """The exit status of a child whose result pipe closed (it is exiting, or it closed
        the pipe itself and runs on: then it is killed after 0.2 s)."""
        if pid in self.exits:
            return self.exits.pop(pid)
        for i in range(200):
            try:
                got, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return None
            if got == pid:
                return status
            if i == 199:
                with contextlib.suppress(OSError):
                    os.killpg(pid, signal.SIGKILL)
                return None
            time.sleep(0.001)
        return None

    def kill(self, s: Session) -> None:
        """End a program and everything it started. Not waited for here (an exit takes ~1 ms
        of teardown): ``reap`` collects it, then kills whatever it left."""
        if not s.alive:
            return
        s.alive = False
        self.live.pop(s.num, None)
        # Its descendants first, while they are still in its tree (setsid children included):
        # once killed they cannot run another instruction, so the next program never meets them.
        todo, seen = [s.pid, s.group], set()
        while todo:
            pid = todo.pop()
            for kid in children(pid):
                if kid not in seen:
                    seen.add(kid)
                    todo.append(kid)
                    with contextlib.suppress(OSError):
                        os.kill(kid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.killpg(s.group, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(s.pid, signal.SIGKILL)
        self.dying.add(s.pid)

    def reap(self) -> None:
        """Collect exited children; after a program's child is gone, kill what it left."""
        ended = False
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            if pid in self.dying:
                self.dying.discard(pid)
                ended = True
            elif any(x.pid == pid for x in self.live.values()):
                self.exits[pid] = status
            else:
                ended = True  # an orphan we killed, or one that ended by itself
        if ended:
            self.kill_orphans()

    def kill_orphans(self) -> None:
        """Processes re-parented here whose program is over (daemons, setsid children, the
        children of a killed program): killed with their groups, then reaped."""
        live = {x.pid for x in self.live.values()}
        groups = {x.group for x in self.live.values()}
        for pid in children(os.getpid()):
            if pid in live or pid in self.dying:
                continue
            with contextlib.suppress(OSError):
                if os.getsid(pid) in groups:
                    continue  # a snapshot taking over its program, or a process it forked
            owner = env_of(pid, PROGRAM_VAR)
            if owner.isdigit() and int(owner) in self.live:
                continue  # a daemon of a program still running: its close kills it
            with contextlib.suppress(OSError):
                os.killpg(os.getpgid(pid), signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
            self.dying.add(pid)

    def _forget(self, s: Session) -> None:
        for fd in (s.res_r, s.out_r, s.err_r):
            self._unregister(fd)
        with contextlib.suppress(OSError):
            os.close(s.ctl_w)


def _cause(status: int | None) -> str:
    if status is None:
        return "process exited"
    if os.WIFSIGNALED(status):
        sig = os.WTERMSIG(status)
        try:
            name = signal.Signals(sig).name
        except ValueError:
            name = f"signal {sig}"
        hint = {"SIGSEGV": "a crash in C code", "SIGKILL": "killed, maybe out of memory"}
        return f"killed by {name}" + (f": {hint[name]}" if name in hint else "")
    return f"process exited with code {os.WEXITSTATUS(status)}"
