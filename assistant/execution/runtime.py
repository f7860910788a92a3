"""The runtime contract: what the engine and the MTPB runner may ask of the code runner.

Two runtimes implement it, and callers see only these protocols:

* ``Kernel`` (``kernel.py``, ``cell.py``; pooled by ``KernelPool`` in ``pool.py``): a Jupyter
  kernel. Any kernelspec, ``input()`` answered, the interactive runtime; no snapshots.
* ``ForkProgram`` (``forkprogram.py``, ``forkserver.py``; pooled by ``ForkPool`` in
  ``forkpool.py``): a forked child of a warm fork server. Fast, fully isolated, fork snapshots
  for failed attempts; the grading runtime of ``assistant eval``.

``Runtime`` is one program's interpreter; ``ProgramPool`` hands out clean ones and runs whole
programs (in one round trip where the runtime can). What a runtime can do beyond the common
part is said by its ``snapshots`` attribute, never probed with ``hasattr``. ``make_pool``
(``choose.py``) is the one place that picks a runtime for many programs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, Literal, Protocol

from assistant.execution.config import KernelConfig
from assistant.execution.result import ExecResult

__all__ = ["RUNTIMES", "Cell", "Checkpoint", "ProgramPool", "Runtime", "StdinHandler"]

# Answers ``input(prompt)`` (``password``: getpass) while a cell runs.
StdinHandler = Callable[[str, bool], Awaitable[str]]
# ``snapshot`` (a frozen copy of the program before an attempt), ``commit`` (drop it),
# ``rollback`` (the copy takes over: the attempt leaves no trace in the interpreter).
Checkpoint = Literal["snapshot", "commit", "rollback"]
RuntimeName = Literal["fork", "jupyter"]
RUNTIMES: tuple[RuntimeName, ...] = ("fork", "jupyter")


@dataclass
class Cell:
    """One cell of a program for ``ProgramPool.run_program`` (``print_last``: the final one)."""

    code: str
    print_last: bool = False
    timeout: float | None = None


class Runtime(Protocol):
    """One program's interpreter: cells run in it one after another and share its state."""

    # Whether ``checkpoint`` works here (fork snapshots); False: it always answers False and
    # only a restart and a replay bring a committed state back.
    snapshots: bool
    restarts: int  # hard restarts so far (state lost each time)
    tainted: bool  # a timeout, death or restart happened: a pool never reuses it as clean

    async def start(self) -> Runtime: ...

    async def execute(
        self,
        code: str,
        *,
        print_last: bool = False,
        timeout: float | None = None,
        stdin: StdinHandler | None = None,
    ) -> ExecResult:
        """Run one cell. Never raises for anything the code does; a death or a stop is
        ``status`` "died" / "timeout" / "interrupted" with ``restarted`` set when state is lost."""
        ...

    async def evaluate(self, expressions: dict[str, str]) -> dict[str, Any]:
        """Expressions in the program's namespace, answered as Jupyter's user_expressions."""
        ...

    async def checkpoint(self, op: Checkpoint) -> bool:
        """A snapshot operation; False when it was not done (see ``snapshots``)."""
        ...

    async def restart(self) -> None:
        """A fresh interpreter: all state lost."""
        ...

    async def interrupt(self) -> None: ...

    async def shutdown(self) -> None: ...

    def describe(self) -> dict[str, Any]:
        """What runs the code, for logs and reports (runtime name, process, capabilities)."""
        ...


class ProgramPool(Protocol):
    """Clean runtimes for many independent programs, ``size`` running at once."""

    size: int
    config: KernelConfig

    async def start(self) -> ProgramPool: ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> ProgramPool: ...

    async def __aexit__(self, *exc: object) -> None: ...

    def kernel(self) -> AbstractAsyncContextManager[Runtime]:
        """A clean runtime for one program, given back (reset or replaced) after."""
        ...

    async def run_cells(
        self, cells: Sequence[str], timeout: float | None = None, preload: Sequence[str] = ()
    ) -> list[ExecResult]:
        """A whole program in a clean runtime: ``cells`` in order, the last one final (a bare
        expression printed), stopping at the first that is not ok. ``preload``: modules it
        imports, which a runtime may load ahead of it."""
        ...

    async def run_program(
        self, cells: Sequence[Cell], *, stop_on_error: bool = True
    ) -> list[ExecResult]: ...

    async def call(
        self,
        runner: str,
        args: dict[str, Any],
        timeout: float | None = None,
        preload: Sequence[str] = (),
    ) -> dict[str, Any]:
        """``module:function(**args)`` (a module of ``kernels/``) in a clean runtime: the reply
        ``status`` ("ok", "error", "timeout", "died"), ``value`` (what it returned, as JSON),
        ``error``."""
        ...
