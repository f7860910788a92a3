"""The child side of the fork server (``fork_server.py``): one program's process.

Forked from the warm server, it reads requests from its control pipe and answers on its result
pipe: cells run with the Jupyter kernel's semantics (assistant_kernel.py: the last print's
arguments, a final cell's last bare expression printed, the output cap, the limits of
limits.py), a pluggable program runner (``module:function``), expressions, and snapshots for
failed attempts (``checkpoint``). Standard library only: it runs in the user's interpreter.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import importlib
import io
import json
import os
import resource
import signal
import sys
import time
import traceback
from typing import Any

from .assistant_kernel import Assistant, PrintLastExpression, safe_repr
from .contain import hard_limit
from .limits import fetch_bounded
from .procs import ProcessGuard
from .proctree import children
from .textsafe import escape

HERE = os.path.dirname(os.path.abspath(__file__))
_TRUNC = "\n[... truncated {n} bytes of output ...]\n"
# The child's own references: a program that rebinds json.dumps or os.write (its own copy of
# those modules) must not break the channel that reports its result.
_dumps, _loads, _write = json.dumps, json.loads, os.write


class CappedStream(io.TextIOBase):
    """``sys.stdout``/``sys.stderr`` of a child: straight to its pipe, capped per cell."""

    def __init__(self, fd: int, name: str, child: Child) -> None:
        self._fd = fd
        self._name = name
        self._child = child

    @property
    def encoding(self) -> str:  # type: ignore[override]
        return "utf-8"

    @property
    def name(self) -> str:
        return self._name

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._fd

    def flush(self) -> None:
        pass

    def write(self, text: Any) -> int:
        if not isinstance(text, str):
            raise TypeError(f"write() argument must be str, not {type(text).__name__}")
        n = len(text)
        c = self._child
        room = c.output_bytes - c.used
        if n > room:
            keep = max(room, 0)
            c.dropped += n - keep
            text = text[:keep]
        c.used += len(text)
        if text:
            # A lone surrogate is written as its escape, as the Jupyter kernel does.
            data = escape(text).encode("utf-8", "surrogateescape")
            with contextlib.suppress(OSError):
                while data:
                    data = data[_write(self._fd, data) :]
        return n


class Child:
    """The forked child: reads cells from its control pipe, runs them, answers."""

    def __init__(
        self, cfg: dict[str, Any], marker: bytes, assistant: Assistant, rfd: int, wfd: int
    ) -> None:
        # What it inherits from the server it was forked from: its configuration, the marker
        # that ends a cell's output in whole-program mode, the print hook (builtins.print).
        self.cfg = cfg
        self.marker = marker
        self.assistant = assistant
        self.rfd, self.wfd = rfd, wfd
        self.output_bytes = int(cfg.get("output_bytes") or 1_000_000)
        self.used = self.dropped = 0
        self.ns: dict[str, Any] = {"__name__": "__main__", "__builtins__": builtins}
        self.pid = os.getpid()  # the process that speaks for the program (see _copy_exits)
        self.guard: ProcessGuard | None = None  # the process limit, leftovers
        self._snap: tuple[int, int] | None = None  # a frozen copy: (pid, its verdict pipe)

    def setup(self) -> None:
        cfg = self.cfg
        self.pid = os.getpid()
        os.setsid()  # its own session and group: one killpg ends it, the fork guard counts it
        with contextlib.suppress(OSError):
            os.chdir(cfg.get("workdir") or HERE)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        memory = cfg.get("memory_mb")
        if memory:
            hard_limit(resource.RLIMIT_AS, int(memory) * 1024 * 1024)
        nproc = cfg.get("nproc_limit")
        if cfg.get("max_procs") and nproc:
            hard_limit(resource.RLIMIT_NPROC, int(nproc))
        # As in the Jupyter kernel (limits.py): the exact per-program limit (its own session,
        # counted under a lock), a cell that had a fork refused or went over it fails, and
        # what a cell leaves running is stopped when it ends (unless background), so both
        # runtimes give the same verdicts.
        max_procs = int(cfg["max_procs"]) if cfg.get("max_procs") else None
        self.guard = ProcessGuard(max_procs, background=bool(cfg.get("background")))
        if max_procs:
            self.guard.install()
        sys.stdout = CappedStream(1, "<stdout>", self)
        sys.stderr = CappedStream(2, "<stderr>", self)
        sys.stdin = open(os.devnull)  # noqa: SIM115 - input() gets EOF, like a closed stdin

    def serve(self) -> None:
        reader = os.fdopen(self.rfd, "rb", buffering=65536)
        for line in reader:
            req = _loads(line)
            if req.get("cwd"):  # the program's own fresh folder (execution/folders.py)
                os.chdir(req["cwd"])
            if req.get("op") == "batch":  # a whole program: one request, one answer per cell
                cells = list(req.get("cells") or [])
                for i, cell in enumerate(cells):
                    if cell.get("runner"):  # a pluggable program runner, in this fresh child
                        reply = self.call(cell)
                    else:
                        reply = self.run_cell(str(cell.get("code", "")), bool(cell.get("final")))
                    self._copy_exits()
                    # Where this cell's output ends in the pipes, written before the answer:
                    # the next cell runs at once, the supervisor splits the output there.
                    for fd in (1, 2):
                        with contextlib.suppress(OSError):
                            _write(fd, self.marker)
                    self.send(reply)
                    if reply["status"] != "ok" or i == len(cells) - 1:
                        break
                continue
            if req.get("op") in ("snapshot", "commit", "rollback"):
                reply = self.checkpoint(str(req["op"]))
            elif req.get("op") == "eval":
                reply = self.evaluate(dict(req.get("exprs") or {}))
            elif req.get("op") == "call":
                reply = self.call(req)
            else:
                reply = self.run_cell(str(req.get("code", "")), bool(req.get("final")))
            self._copy_exits()
            self.send(reply)

    def _copy_exits(self) -> None:
        """A copy made by a bare ``os.fork()`` in a cell returns here when it finishes the
        cell: it never answers for the program nor reads its requests (it shares the pipes);
        it ends, as such a copy of a Jupyter kernel is stopped when the cell ends."""
        if os.getpid() != self.pid:
            with contextlib.suppress(BaseException):
                sys.stdout.flush()
            os._exit(0)

    def evaluate(self, exprs: dict[str, str]) -> dict[str, Any]:
        """Expressions in the program's namespace, answered like Jupyter user_expressions."""
        out: dict[str, Any] = {}
        for name, code in exprs.items():
            try:
                value = eval(compile(str(code), "<expression>", "eval"), self.ns)
                text = safe_repr(value) if not isinstance(value, str) else None
                out[name] = {"status": "ok", "data": {"text/plain": text or repr(value)}}
            except BaseException as exc:
                out[name] = {"status": "error", **_describe_error(exc)}
        return {"status": "ok", "expressions": out}

    def checkpoint(self, op: str) -> dict[str, Any]:
        """Snapshots for failed attempts: ``snapshot`` forks a frozen copy of this program;
        ``commit`` drops it; ``rollback`` wakes it up in place of this process, which ends
        with everything it started (threads, children): the attempt leaves no trace in the
        interpreter. The copy shares this process's pipes, so it answers the supervisor."""
        t0 = time.perf_counter()
        snap = self._snap
        if op == "snapshot":
            if snap is not None:
                self.checkpoint("commit")
            r, w = os.pipe()
            pid = os.fork()
            if pid == 0:  # the frozen copy: wait for the verdict on the attempt
                os.close(w)
                word = os.read(r, 1)
                os.close(r)
                if word != b"r":
                    os._exit(0)
                self._snap = None
                self.pid = os.getpid()  # this copy now speaks for the program
                if self.guard is not None:
                    self.guard.pid = self.pid
                    self.guard.keep = {self.pid, os.getppid(), 1}
                return {"status": "ok", "pid": os.getpid(), "duration": time.perf_counter() - t0}
            os.close(r)
            self._snap = (pid, w)
            if self.guard is not None:  # the frozen copy is no leftover of the next cell
                self.guard.keep.add(pid)
            return {"status": "ok", "pid": os.getpid(), "duration": time.perf_counter() - t0}
        if snap is None:
            return {"status": "error", "error": {"ename": "RuntimeError", "evalue": "no snapshot"}}
        self._snap = None
        pid, w = snap
        if self.guard is not None:
            self.guard.keep.discard(pid)
        if op == "commit":
            os.write(w, b"c")
            os.close(w)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
            return {"status": "ok", "pid": os.getpid(), "duration": time.perf_counter() - t0}
        # rollback: this process and what the attempt started go; the copy answers.
        for kid in children(os.getpid()):
            if kid != pid:
                with contextlib.suppress(OSError):
                    os.kill(kid, signal.SIGKILL)
        os.write(w, b"r")
        os._exit(0)

    def send(self, reply: dict[str, Any]) -> None:
        data = (_dumps(reply, default=repr) + "\n").encode("utf-8", "surrogateescape")
        while data:
            data = data[_write(self.wfd, data) :]

    def _begin(self) -> None:
        self.used = self.dropped = 0
        self.assistant.begin_cell()
        if self.guard is not None:
            with contextlib.suppress(Exception):
                self.guard.begin_cell()

    def _end(self, t0: float) -> dict[str, Any]:
        dropped = self.dropped
        if dropped:
            self.output_bytes += 10**9  # let the marker through
            sys.stdout.write(_TRUNC.format(n=dropped))
            self.output_bytes -= 10**9
        reply: dict[str, Any] = {"duration": time.perf_counter() - t0, "dropped": dropped}
        if self.guard is not None and os.getpid() == self.pid:
            with contextlib.suppress(Exception):
                self.guard.end_cell()
                reply["procs"] = self.guard.report()
        return reply

    def run_cell(self, code: str, final: bool) -> dict[str, Any]:
        state = self.assistant
        t0 = time.perf_counter()
        self._begin()
        state.final = final
        display: list[str] = []
        error = None
        try:
            tree = ast.parse(code, "<cell>")
            if final:
                tree = PrintLastExpression(state).visit(tree)
            last = None
            tail = tree.body[-1] if tree.body else None
            if not final and isinstance(tail, ast.Expr):
                # IPython shows a non-final cell's last bare expression (display, not print).
                tree.body.pop()
                last = ast.Expression(tail.value)
            exec(compile(tree, "<cell>", "exec"), self.ns)
            if last is not None:
                value = eval(compile(last, "<cell>", "eval"), self.ns)
                if value is not None:
                    display.append(safe_repr(value))
        except BaseException as exc:
            error = _describe_error(exc)
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        reply = self._end(t0)
        try:
            printed = fetch_bounded(state)
        except Exception:
            printed = _dumps({"count": state.cell_prints, "last": None})
        reply.update(
            status="ok" if error is None else "error",
            error=error,
            display=display,
            printed=printed,
        )
        return reply

    def call(self, req: dict[str, Any]) -> dict[str, Any]:
        """The pluggable program runner: ``module:function`` called with ``args``."""
        t0 = time.perf_counter()
        self._begin()
        error = None
        value: Any = None
        try:
            runner = str(req["runner"])
            mod = importlib.import_module(runner_module(runner))
            fname = runner.partition(":")[2]
            value = getattr(mod, fname)(**dict(req.get("args") or {}))
        except BaseException as exc:
            error = _describe_error(exc)
        reply = self._end(t0)
        reply.update(status="ok" if error is None else "error", error=error, value=value)
        return reply


def runner_module(runner: str) -> str:
    """The module of a runner ``module:function``: a module of this package, or any other."""
    modname = runner.partition(":")[0]
    if os.path.exists(os.path.join(HERE, modname + ".py")):
        return f"{__package__}.{modname}"
    return modname


def _describe_error(exc: BaseException) -> dict[str, Any]:
    try:
        evalue = escape(str(exc))
    except Exception:
        evalue = "<unprintable>"
    try:
        tb = traceback.format_exception(type(exc), exc, exc.__traceback__)
        # Drop this folder's frames (the runner, the fork guard): the program's own are what
        # a reader needs.
        tb = [escape(t) for t in tb if not t.startswith(f'  File "{HERE}')]
    except Exception:
        tb = []
    return {"ename": type(exc).__name__, "evalue": evalue, "traceback": tb}
