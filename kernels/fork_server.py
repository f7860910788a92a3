"""Fork server: a warm Python process that runs each program in a forked child.

Started by ``assistant/execution/forkserver.py`` (``python fork_server.py``); it speaks JSON
lines on stdin/stdout. The first line configures it (modules to preload, limits, workdir,
output cap); then each request names a *session* (``sid``), one forked child per program:

* ``{"op": "open", "sid": S}``: fork a child (a clean copy of this warm process: the modules
  preloaded, the print hook installed, nothing of any other program). Reply ``opened``.
* ``{"op": "exec", "sid": S, "code": ..., "final": bool, "timeout": t}``: run one cell in the
  child, with the Jupyter kernel's semantics (assistant_kernel.py: the last print's arguments,
  a final cell's last bare expression printed; the output cap). Reply ``result``.
* ``{"op": "call", "sid": S, "runner": "module:function", "args": {...}, "timeout": t}``: the
  child calls a pluggable *program runner* (a module of this folder, or any importable one)
  with ``args`` and sends back the dict it returns (e.g. an upstream-exact execution mode).
* ``{"op": "close", "sid": S}``: kill the child, its process group and every process it left
  (reparented here: this process is a child subreaper). Reply ``closed``.

Why a fork per program: it isolates everything (module attributes, ``sys.modules``, cwd,
environment, open files, threads, child processes) for ~2 ms, where restarting a Jupyter kernel
takes ~700 ms and resetting one in place cannot undo ``math.pi = 3``.

The supervisor loop is single-threaded (threads and fork do not mix) and never runs user code.
A cell past its timeout is killed (state lost: the client reports a restart), a child that
dies (``os._exit``, a segfault, the OOM killer) is reported with its cause. Standard library
only at import time: this file runs in the user's interpreter.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import json
import os
import selectors
import signal
import sys
import time
import types
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
TAG_VAR = "ASSISTANT_KERNEL_TAG"  # the server's tag, inherited by all: see execution/reaper.py
PROGRAM_VAR = "ASSISTANT_PROGRAM_ID"  # which program a process belongs to
_PR_SET_CHILD_SUBREAPER = 36


def _boot(name: str, filename: str) -> types.ModuleType:
    path = os.path.join(HERE, filename)
    mod = types.ModuleType(name)
    mod.__file__ = path
    with open(path, encoding="utf-8") as f:
        exec(compile(f.read(), path, "exec"), mod.__dict__)
    sys.modules[name] = mod
    return mod


_child = _boot("assistant_fork_child", "fork_child.py")
Child, _children, _load = _child.Child, _child._children, _child._load


# ---------------------------------------------------------------------------------------------
# The supervisor
# ---------------------------------------------------------------------------------------------
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


class Server:
    def __init__(self, cfg: dict[str, Any]) -> None:
        self.cfg = cfg
        self.ak = _load("assistant_kernel", "assistant_kernel.py")
        self.limits_mod: Any = None
        if os.path.exists(os.path.join(HERE, "limits.py")):
            self.limits_mod = _load("assistant_limits", "limits.py")
        self.procs_mod: Any = None  # the per-kernel process guard (procs.py), loaded once
        if os.path.exists(os.path.join(HERE, "procs.py")):
            self.procs_mod = _load("assistant_procs", "procs.py")
        self.assistant = self.ak._Assistant()
        self.sessions: dict[str, Session] = {}  # opened, by the client's id
        self.spares: list[Session] = []  # forked ahead, ready to be opened
        self.live: dict[int, Session] = {}  # every child not yet killed, by number
        self.dying: set[int] = set()  # killed children not yet reaped (pids)
        self.by_fd: dict[int, Session] = {}
        self.kinds: dict[int, str] = {}
        self.exits: dict[int, int] = {}  # pid -> wait status, reaped early
        self.sel = selectors.DefaultSelector()
        self.cap = int(cfg.get("output_bytes") or 1_000_000) + 400
        # Ends a cell's output in whole-program mode; no program can guess it.
        self.marker = b"\x00\x1e" + os.urandom(8).hex().encode() + b"\x1e\x00"
        self.want_spares = max(0, int(cfg.get("spares", 2)))
        # Whole programs running at once (``--jobs``); more wait here, so the next one starts
        # the moment one ends, without a round trip to the client in between.
        self.max_programs = max(1, int(cfg.get("max_programs") or 1 << 30))
        self.programs = 0
        self.waiting: list[dict[str, Any]] = []
        self.out = sys.stdout.buffer
        self.inbuf = b""
        self.count = 0
        self.tried: set[str] = set()  # modules imported (or tried) by ensure()

    def final_transform(self, state: Any) -> ast.NodeTransformer:
        return self.ak.PrintLastExpression(state)  # type: ignore[no-any-return]

    def ensure(self, modules: list[str]) -> None:
        """Import modules here, once, before forking (children then start with them loaded).
        Spares forked before lack them: they are replaced."""
        new = [m for m in modules if m not in sys.modules and m not in self.tried]
        if not new:
            return
        for name in new:
            self.tried.add(name)
            with contextlib.suppress(BaseException):
                __import__(name)
        builtins.print = self.assistant._print  # a module may have looked at print
        for s in self.spares:
            self.kill(s)
            self._forget(s)
        self.spares = []
        import gc

        gc.freeze()

    def warm(self) -> None:
        # What every child needs (the fork guard wraps subprocess): imported once, here.
        import subprocess  # noqa: F401

        limits = self.limits_mod
        if limits is not None and self.cfg.get("max_procs"):
            with contextlib.suppress(Exception):
                room = 4 * int(self.cfg["max_procs"]) + 64
                self.cfg["nproc_limit"] = limits._user_tasks(os.getuid()) + room
        with contextlib.suppress(Exception):  # orphans of programs come back here
            import ctypes

            ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        with contextlib.suppress(Exception):  # every program inherits this (contain.py)
            _load("assistant_contain", "contain.py").drop_privileges()
        builtins.print = self.assistant._print
        import gc

        gc.collect()
        gc.freeze()  # fewer copy-on-write page faults in the children
        self.ensure(list(self.cfg.get("preload") or []))

    # -- replies -----------------------------------------------------------------------------
    def reply(self, msg: dict[str, Any]) -> None:
        self.out.write((json.dumps(msg, default=repr) + "\n").encode("utf-8", "surrogateescape"))
        self.out.flush()

    # -- children ----------------------------------------------------------------------------
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
                child = Child(self, str(num), 3, 4)
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

    def top_up(self) -> None:
        """Fork spares while nothing waits on this process: opening one is then instant."""
        while len(self.spares) < self.want_spares:
            try:
                self.spares.append(self.fork())
            except OSError:  # the process limit (a pids cgroup): try again later
                return

    def open(
        self, sid: str, rid: Any = None, reply: bool = True, preload: list[str] | None = None
    ) -> Session:
        if sid in self.sessions:
            self.close(sid, reply=False)
        if preload:
            self.ensure(preload)
        s = self.spares.pop(0) if self.spares else self.fork()
        s.sid = sid
        self.sessions[sid] = s
        if reply:
            self.reply({"ev": "opened", "sid": sid, "pid": s.pid, "rid": rid})
        return s

    def send(self, req: dict[str, Any]) -> None:
        sid = str(req.get("sid"))
        s = self.sessions.get(sid)
        if s is None or not s.alive:
            msg = {"ev": "result", "sid": sid, "status": "died", "cause": "no such program"}
            self.reply({**msg, "rid": req.get("rid")})
            return
        s.rid = req.get("rid")
        self._start(s, req)

    def _start(self, s: Session, req: dict[str, Any]) -> None:
        s.raw["out"].clear()
        s.raw["err"].clear()
        s.lost, s.buf = 0, b""
        s.timeout = float(req.get("timeout") or 20.0)
        s.deadline = time.monotonic() + s.timeout
        data = (json.dumps(req) + "\n").encode("utf-8", "surrogateescape")
        try:
            while data:
                data = data[os.write(s.ctl_w, data) :]
        except OSError:
            self.finish(s, self.dead_result(s))

    def run_program(self, req: dict[str, Any]) -> None:
        """A whole program at once: a fresh child runs the cells in order, stopping at the
        first that is not ok; one reply with every result; the child is killed after."""
        if self.programs >= self.max_programs:
            self.waiting.append(req)
            return
        self.programs += 1
        sid = str(req.get("sid"))
        s = self.open(sid, reply=False, preload=list(req.get("preload") or []))
        s.rid = req.get("rid")
        cells = list(req.get("cells") or [])
        s.batch = cells
        s.results = []
        if not cells:
            self._next_cell(s)
            return
        # The child runs them all and answers per cell; the deadline moves on at each answer.
        batch = {"op": "batch", "cells": cells, "timeout": cells[0].get("timeout")}
        self._start(s, {**batch, "cwd": req.get("cwd")})

    def _next_cell(self, s: Session) -> None:
        assert s.batch is not None
        n = len(s.results)
        if n < len(s.batch) and (not s.results or s.results[-1].get("status") == "ok"):
            s.timeout = float(s.batch[n].get("timeout") or 20.0)
            s.deadline = time.monotonic() + s.timeout  # the child is already running it
            return
        msg = {"ev": "program", "sid": s.sid, "rid": s.rid, "results": s.results}
        s.batch = None
        self.close(s.sid, reply=False)
        self.programs -= 1
        if self.waiting:
            self.run_program(self.waiting.pop(0))
        self.reply(msg)

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

    def on_readable(self, fd: int) -> None:
        s, kind = self.by_fd[fd], self.kinds[fd]
        if kind in ("out", "err"):
            if not self._drain(s, fd, s.raw[kind]):
                self._unregister(fd)
            return
        try:
            data = os.read(fd, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._unregister(fd)
            if s.deadline is not None:
                self.finish(s, self.dead_result(s))
            elif s.alive:  # a spare or an idle program died: forget it
                self.kill(s)
                if s in self.spares:
                    self.spares.remove(s)
                    self._forget(s)
            return
        s.buf += data
        while b"\n" in s.buf and s.alive:
            line, s.buf = s.buf.split(b"\n", 1)
            reply = json.loads(line)
            s.deadline = None
            if isinstance(reply.get("pid"), int):
                s.pid = reply["pid"]  # a snapshot now serves the program
            reply.update(self._output(s, marked=s.batch is not None))
            self.finish(s, reply)

    def finish(self, s: Session, result: dict[str, Any]) -> None:
        s.deadline = None
        if s.batch is not None:
            s.results.append(result)
            self._next_cell(s)
            return
        result.update(ev="result", sid=s.sid, rid=s.rid)
        self.reply(result)

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
            for kid in _children(pid):
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
        for pid in _children(os.getpid()):
            if pid in live or pid in self.dying:
                continue
            with contextlib.suppress(OSError):
                if os.getsid(pid) in groups:
                    continue  # a snapshot taking over its program, or a process it forked
            owner = _env_of(pid, PROGRAM_VAR)
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

    def close(self, sid: str, reply: bool = True, rid: Any = None) -> None:
        s = self.sessions.pop(sid, None)
        if s is not None:
            if s.deadline is not None:  # closed while a cell runs (an interrupt): answer it
                s.batch = None
                self.kill(s)
                self.finish(s, {"status": "interrupted", **self._output(s)})
            self.kill(s)
            self._forget(s)
            self.kill_orphans()  # daemons it left that were already re-parented here
        if reply:
            self.reply({"ev": "closed", "sid": sid, "rid": rid})

    # -- the loop ----------------------------------------------------------------------------
    def handle(self, req: dict[str, Any]) -> bool:
        op = req.get("op")
        if op == "open":
            self.open(str(req["sid"]), req.get("rid"), preload=list(req.get("preload") or []))
        elif op in ("exec", "call", "eval", "snapshot", "commit", "rollback"):
            self.send(req)
        elif op == "program":
            self.run_program(req)
        elif op == "close":
            self.close(str(req["sid"]), rid=req.get("rid"))
        elif op == "ping":
            self.reply({"ev": "pong", "sessions": len(self.sessions), "rid": req.get("rid")})
        elif op == "quit":
            return False
        return True

    def handle_safely(self, req: dict[str, Any]) -> bool:
        """``handle``, but a fork refused by the system (a pids cgroup full of another
        program's processes) fails that request, never the server."""
        try:
            return self.handle(req)
        except OSError as exc:
            msg = {"status": "died", "cause": f"could not start the program: {exc}"}
            if req.get("op") == "program":
                self.programs = max(0, self.programs - 1)
                self.reply({"ev": "program", "rid": req.get("rid"), "results": [msg]})
            else:
                self.reply({"ev": "result", "rid": req.get("rid"), **msg})
            return True

    def loop(self) -> None:
        stdin = sys.stdin.buffer.fileno()
        os.set_blocking(stdin, False)
        self.sel.register(stdin, selectors.EVENT_READ)
        while True:
            now = time.monotonic()
            due = [s.deadline for s in self.live.values() if s.deadline is not None]
            wait = max(0.0, min(due) - now) if due else 1.0
            events = self.sel.select(min(wait, 1.0))
            for key, _ in events:
                fd = key.fd
                if fd == stdin:
                    try:
                        data = os.read(stdin, 1 << 20)
                    except BlockingIOError:
                        continue
                    if not data:
                        return  # the app is gone
                    self.inbuf += data
                    while b"\n" in self.inbuf:
                        line, self.inbuf = self.inbuf.split(b"\n", 1)
                        if line.strip() and not self.handle_safely(json.loads(line)):
                            return
                elif fd in self.by_fd:
                    self.on_readable(fd)
            now = time.monotonic()
            for s in list(self.live.values()):
                if s.deadline is not None and now >= s.deadline:
                    self.finish(s, self.timeout_result(s))
            self.reap()
            if not events or len(self.spares) < self.want_spares:
                self.top_up()

    def shutdown(self) -> None:
        for sid in list(self.sessions):
            self.close(sid, reply=False)
        for s in self.spares:
            self.kill(s)
        deadline = time.monotonic() + 2.0
        while self.dying and time.monotonic() < deadline:
            self.reap()
            time.sleep(0.005)


def _env_of(pid: int, var: str) -> str:
    with contextlib.suppress(OSError), open(f"/proc/{pid}/environ", "rb") as f:
        for item in f.read().split(b"\0"):
            if item.startswith(var.encode() + b"="):
                return item.split(b"=", 1)[1].decode("utf-8", "replace")
    return ""


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


def main() -> None:
    # Programs see the working folder first on sys.path, as in a Jupyter kernel ('' = cwd),
    # not this folder (python put the script's folder there).
    if sys.path and os.path.realpath(sys.path[0] or ".") == os.path.realpath(HERE):
        sys.path[0] = ""
    cfg = json.loads(sys.stdin.buffer.readline() or b"{}")
    server = Server(cfg)
    server.warm()
    server.reply({"ev": "ready", "pid": os.getpid()})
    try:
        server.loop()
    finally:
        server.shutdown()


if __name__ == "__main__":
    main()
