"""The one place that picks a runtime: for many programs (``make_pool``: ``assistant eval``)
and for one interactive session (``session_runtime``: replays; the front ends' controller).

The contract both runtimes implement is in ``runtime.py``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from assistant.execution.config import KernelConfig
from assistant.execution.runtime import RUNTIMES, ProgramPool, RuntimeName

if TYPE_CHECKING:
    from assistant.execution.kernel import Kernel

__all__ = ["choose_runtime", "make_pool", "session_runtime"]


def choose_runtime(asked: str, config: KernelConfig) -> RuntimeName:
    """The runtime for many programs: the one asked for, except that another interpreter
    (a kernelspec) only runs in Jupyter kernels."""
    if asked not in RUNTIMES:
        raise ValueError(f"unknown runtime {asked!r}: choose one of {', '.join(RUNTIMES)}")
    return "jupyter" if config.kernel_name is not None or asked == "jupyter" else "fork"


def make_pool(
    size: int,
    config: KernelConfig,
    runtime: str = "fork",
    preload: Iterable[str] | None = None,
    heavy: Iterable[str] = (),
) -> ProgramPool:
    """Where programs run: forked children of a warm server (``ForkPool``, the default), or
    pre-warmed Jupyter kernels reset between programs (``KernelPool``). ``preload`` and
    ``heavy``: what the fork servers import at start (None: numpy and pandas)."""
    if choose_runtime(runtime, config) == "jupyter":
        from assistant.execution.pool import KernelPool

        return KernelPool(size=size, config=config)
    from assistant.execution.forkpool import ForkPool

    pre = None if preload is None else list(preload)
    return ForkPool(size=size, config=config, preload=pre, heavy=list(heavy))


def session_runtime(config: KernelConfig) -> Kernel:
    """The runtime of one interactive session (not started): a Jupyter kernel, which answers
    ``input()``, runs any kernelspec and lives as long as the session."""
    from assistant.execution.kernel import Kernel

    return Kernel(config)
