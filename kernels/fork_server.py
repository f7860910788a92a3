"""Fork server: a warm Python process that runs each program in a forked child.

Started by ``assistant/execution/forkserver.py`` (``python -c``, through the package loader of
``assistant/execution/kernelcode.py``, which then calls ``main``); it speaks JSON
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
dies (``os._exit``, a segfault, the OOM killer) is reported with its cause; the children
themselves are ``fork_children.py``'s. Standard library only at import time: this file runs in
the user's interpreter.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import os
import selectors
import sys
import time
from typing import Any

from .contain import drop_privileges
from .fork_child import runner_module
from .fork_children import Children, Session
from .proctree import become_subreaper, user_tasks


class Server(Children):
    """The protocol: requests from the app on stdin, replies on stdout."""

    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__(cfg)
        self.sessions: dict[str, Session] = {}  # opened, by the client's id
        self.spares: list[Session] = []  # forked ahead, ready to be opened
        self.want_spares = max(0, int(cfg.get("spares", 2)))
        # Whole programs running at once (``--jobs``); more wait here, so the next one starts
        # the moment one ends, without a round trip to the client in between.
        self.max_programs = max(1, int(cfg.get("max_programs") or 1 << 30))
        self.programs = 0
        self.waiting: list[dict[str, Any]] = []
        self.out = sys.stdout.buffer
        self.inbuf = b""
        self.tried: set[str] = set()  # modules imported (or tried) by ensure()

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

        if self.cfg.get("max_procs"):
            with contextlib.suppress(Exception):
                room = 4 * int(self.cfg["max_procs"]) + 64
                self.cfg["nproc_limit"] = user_tasks(os.getuid()) + room
        become_subreaper()  # orphans of programs come back here
        with contextlib.suppress(Exception):  # every program inherits this (contain.py)
            drop_privileges()
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
        cells = list(req.get("cells") or [])
        # A runner's module is imported here, once, not in every child (~2-3 ms each).
        runners = [runner_module(str(c["runner"])) for c in cells if c.get("runner")]
        s = self.open(sid, reply=False, preload=[*(req.get("preload") or []), *runners])
        s.rid = req.get("rid")
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


def main() -> None:
    # Programs see the working folder first on sys.path, as in a Jupyter kernel ('' = cwd):
    # what ``python -c`` (assistant/execution/forkserver.py) puts there.
    cfg = json.loads(sys.stdin.buffer.readline() or b"{}")
    server = Server(cfg)
    server.warm()
    server.reply({"ev": "ready", "pid": os.getpid()})
    try:
        server.loop()
    finally:
        server.shutdown()
