"""Shared pieces of the hostile-code tests: kernels with the app's limits and process checks."""

from __future__ import annotations

import pytest_asyncio

from assistant.execution import Kernel, KernelConfig, reaper

# Tight limits so each case ends quickly; the process limit is small so a fork bomb hits it.
LIMITS = {"memory_mb": 2048, "max_procs": 24}


def config(**kw: object) -> KernelConfig:
    # A cell that is not about time gets room on a busy 2-core CI machine (printing 200 MB,
    # a deep recursion: seconds under load); the timeout cases give their own short timeout.
    base: dict[str, object] = {"timeout": 30.0, "interrupt_grace": 1.0, "limits": dict(LIMITS)}
    base.update(kw)
    return KernelConfig(**base)  # type: ignore[arg-type]


def tree(k: Kernel) -> list[int]:
    """Every live process started by this kernel (the kernel included), found by its tag."""
    return [p for p in reaper.tagged(k.tag) if reaper.running(p)]


@pytest_asyncio.fixture(loop_scope="package", scope="package")
async def kernel():
    """One kernel shared by every case that leaves it alive (saves ~0.7 s per case)."""
    k = await Kernel(config()).start()
    yield k
    await k.shutdown()
