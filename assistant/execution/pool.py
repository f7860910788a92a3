"""A pool of pre-warmed kernels for running many independent programs in parallel.

Each program gets a clean kernel, in a fresh working folder of its own (``folders.py``:
created before it, removed after it, so no file of one program reaches another): after a clean run the kernel is reset in place (fast:
imported modules stay loaded); after a timeout, a death, a restart, an exception in the
caller, or ``recycle_after`` programs, it is replaced by a fresh process started in the
background. A program that leaves anything a namespace reset cannot undo is replaced too:
threads or child processes still running (they could print into, or compete with, the next
program), files left open, a module imported, removed or with an attribute rebound
(``math.pi = 3``; see kernels/isolation.py); the environment is put back in place. So one
program never affects another's verdict. Kernels start with numpy and pandas loaded, so
programs that import them do not cost a replacement.

Replacements and recycles are logged (``assistant.execution.pool``, info) with their reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Coroutine, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from assistant.execution.config import KernelConfig
from assistant.execution.folders import ProgramFolders
from assistant.execution.kernel import Kernel
from assistant.execution.kernel_call import call_in_kernel
from assistant.execution.result import ExecResult
from assistant.execution.runtime import Cell

__all__ = ["PRELOAD", "Cell", "KernelPool"]

log = logging.getLogger(__name__)

# Between programs: drop the program's names and put IPython's hidden ones back (the print
# capture ``__assistant__`` among them), go to the next program's fresh folder, reset the capture.
# ~17 ms where IPython's ``reset()`` takes 70-120 ms (gc, history) and also wipes
# ``__assistant__``. Imported modules stay loaded, as in upstream's harness.
_RESET = (
    "(lambda ip: ([ip.user_ns.pop(k) for k in list(ip.user_ns) if k not in ip.user_ns_hidden],"
    " ip.user_ns.update(ip.user_ns_hidden), __import__('os').chdir({workdir!r}),"
    " ip.user_ns['__assistant__'].begin_cell()))(get_ipython())"
)
# Threads and live child processes a program left behind (0 without kernels/limits.py).
_LEFTOVERS = "getattr(__import__('sys').modules.get('assistant_limits'), 'leftovers', int)()"
# What else it changed that a reset cannot undo (kernels/isolation.py): [] when clean.
_TAINT = "getattr(__import__('sys').modules.get('assistant_isolation'), 'taint', list)()"
# Modules loaded before the snapshot: programs importing them leave the kernel clean.
PRELOAD = ("numpy", "pandas")


def _isolation_code() -> str:
    from assistant.execution.kernelcode import boot_source

    return boot_source(
        "\n".join(
            [
                "def __asst_iso(preload):",
                "    for name in preload:",
                "        try:",
                "            __import__(name)",
                "        except Exception:",
                "            pass",
                f"__asst_iso({list(PRELOAD)!r})",
                "del __asst_iso",
                "__import__('sys').modules['assistant_isolation'] = kernel_module(KERNELS, 'isolation')",
            ]
        )
    )


class KernelPool:
    """A ``ProgramPool`` (``runtime.py``) of Jupyter kernels."""

    def __init__(
        self, size: int = 2, config: KernelConfig | None = None, recycle_after: int = 200
    ) -> None:
        self.size = max(1, size)
        self.config = config or KernelConfig()
        self.recycle_after = recycle_after
        self._idle: asyncio.Queue[Kernel] = asyncio.Queue()
        self._uses: dict[int, int] = {}
        self._all: set[Kernel] = set()
        self._pending: set[asyncio.Task[None]] = set()
        self._closed = False
        self.replaced_tainted = 0  # kernels replaced because a program left something behind
        # Each kernel's next program's working folder, made ahead (at start, at each reset).
        self._cwd: dict[int, tuple[ProgramFolders, Path]] = {}

    async def start(self) -> KernelPool:
        t0 = time.perf_counter()
        kernels = await asyncio.gather(*(self._new_kernel() for _ in range(self.size)))
        for k in kernels:
            self._idle.put_nowait(k)
        log.info("pool of %d kernels ready in %.2f s", self.size, time.perf_counter() - t0)
        return self

    async def _new_kernel(self) -> Kernel:
        cfg = replace(self.config, lazy_restart=True)
        k = await Kernel(cfg).start()
        await k.execute_silent(_isolation_code(), timeout=60)
        # A first cell and a first user expression make the kernel open what it opens lazily
        # (zmq descriptors...), so the snapshot is of the kernel as programs find it.
        await k.execute("pass")
        folders = ProgramFolders(k._tmp or Path(str(k.workdir)), seed=self.config.workdir)
        cwd = folders.new()
        self._cwd[id(k)] = (folders, cwd)
        await k.execute_silent(
            f"__import__('os').chdir({str(cwd)!r});"
            "__import__('sys').modules['assistant_isolation'].snapshot()",
            user_expressions={"x": "1"},
        )
        self._all.add(k)
        self._uses[id(k)] = 0
        return k

    async def __aenter__(self) -> KernelPool:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @contextlib.asynccontextmanager
    async def kernel(self) -> AsyncIterator[Kernel]:
        """A clean kernel for one program; it goes back to the pool (or is replaced) after."""
        k = await self._idle.get()
        healthy = True
        try:
            yield k
        except BaseException:
            healthy = False
            raise
        finally:
            self._uses[id(k)] = self._uses.get(id(k), 0) + 1
            self._give_back(k, healthy)

    def _give_back(self, k: Kernel, healthy: bool) -> None:
        if self._closed:
            self._spawn(self._discard(k))
            return
        uses = self._uses[id(k)]
        if not healthy:
            self._spawn(self._replace(k, "the caller raised while using it"))
        elif k.restarts or k.tainted:
            self._spawn(self._replace(k, "a cell timed out or the kernel died or restarted"))
        elif uses >= self.recycle_after:
            self._spawn(self._replace(k, f"recycled after {uses} programs"))
        else:
            self._spawn(self._reset(k))

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(coro)
        self._pending.add(task)
        task.add_done_callback(self._pending.discard)

    async def _reset(self, k: Kernel) -> None:
        why = ""
        folders, used = self._cwd[id(k)]
        try:
            cwd = folders.new()
            self._cwd[id(k)] = (folders, cwd)
            code = _RESET.format(workdir=str(cwd))
            res = await k.execute_silent(
                code, timeout=10, user_expressions={"left": _LEFTOVERS, "taint": _TAINT}
            )
            left = res.expressions.get("left", {})
            taint = res.expressions.get("taint", {})
            clean = left.get("status") == "ok" and left["data"]["text/plain"] == "0"
            clean = clean and taint.get("status") == "ok" and taint["data"]["text/plain"] == "[]"
            self.replaced_tainted += not clean
            if not clean:
                why = (
                    f"the program left something behind ({_text(left)} threads or "
                    f"processes running; changed: {_text(taint)})"
                )
            elif not res.ok:
                why = f"the reset failed ({res.feedback()})"
            elif not await k.is_alive():
                why = "the kernel died during the reset"
        except Exception as exc:
            why = f"the reset failed ({exc!r})"
        if not why:
            self._idle.put_nowait(k)
        else:  # what the program left running goes with the kernel
            await self._replace(k, why)
        folders.remove(used)

    async def _replace(self, k: Kernel, why: str) -> None:
        log.info("replacing kernel pid %s: %s", k.pid, why)
        await self._discard(k)
        if not self._closed:
            t0 = time.perf_counter()
            new = await self._new_kernel()
            log.info("new kernel pid %s ready in %.2f s", new.pid, time.perf_counter() - t0)
            self._idle.put_nowait(new)

    async def _discard(self, k: Kernel) -> None:
        self._all.discard(k)
        self._uses.pop(id(k), None)
        with contextlib.suppress(Exception):
            await k.shutdown()
        folders = self._cwd.pop(id(k), None)
        if folders is not None:
            folders[0].remove_all()

    async def run_program(
        self, cells: Sequence[Cell], *, stop_on_error: bool = True
    ) -> list[ExecResult]:
        """Run cells in order in one clean kernel; stop at the first failure by default."""
        results: list[ExecResult] = []
        async with self.kernel() as k:
            for cell in cells:
                res = await k.execute(cell.code, print_last=cell.print_last, timeout=cell.timeout)
                results.append(res)
                if stop_on_error and not res.ok:
                    break
        return results

    async def run_cells(
        self, cells: Sequence[str], timeout: float | None = None, preload: Sequence[str] = ()
    ) -> list[ExecResult]:
        """A whole program in one clean kernel, cell by cell (the last one final), stopping at
        the first that is not ok. ``preload`` is for runtimes that load modules ahead: kernels
        start with ``PRELOAD`` and import the rest as the program does."""
        last = len(cells) - 1
        program = [
            Cell(code, print_last=i == last, timeout=timeout) for i, code in enumerate(cells)
        ]
        return await self.run_program(program)

    async def call(
        self,
        runner: str,
        args: dict[str, Any],
        timeout: float | None = None,
        preload: Sequence[str] = (),
    ) -> dict[str, Any]:
        """A pluggable program runner in one clean kernel (``kernel_call.py``)."""
        timeout = self.config.timeout if timeout is None else timeout
        async with self.kernel() as k:
            reply, _ = await call_in_kernel(k, runner, args, timeout)
        return reply

    async def close(self) -> None:
        log.debug("closing %d kernels", len(self._all))
        self._closed = True
        if self._pending:
            await asyncio.gather(*list(self._pending), return_exceptions=True)
        await asyncio.gather(*(k.shutdown() for k in list(self._all)), return_exceptions=True)
        self._all.clear()


def _text(answer: dict[str, Any]) -> str:
    """A user-expression answer as text, for the log."""
    if answer.get("status") == "ok":
        return str(answer.get("data", {}).get("text/plain", ""))
    return f"{answer.get('ename', 'error')}: {answer.get('evalue', '')}"
