"""How kernels are started and how cells run: one settings object shared by both runtimes.

Kept apart from ``kernel.py`` so that the fork server, the sandbox, the launcher and the app's
settings can name it without importing the Jupyter kernel driver.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypedDict


class Limits(TypedDict, total=False):
    """Resource limits applied inside the kernel or fork server (kernels/limits.py)."""

    memory_mb: int  # address space (RLIMIT_AS): a huge allocation becomes MemoryError
    max_procs: int  # processes of this user (RLIMIT_NPROC): fork bombs stop
    cpu_seconds: float  # CPU time per cell, on top of the wall-clock timeout
    background: bool  # keep processes a cell leaves running (else killed at its end)


@dataclass
class KernelConfig:
    """How kernels are started and how cells are run. Defaults suit interactive use."""

    kernel_name: str | None = None  # None: the app's own Python; else any installed kernelspec
    timeout: float = 20.0  # seconds per cell
    interrupt_grace: float = 2.0  # after an interrupt, wait this long before a hard restart
    startup_timeout: float = 60.0
    output_limit: int = 1_000_000  # bytes of stdout+stderr kept per cell
    workdir: Path | None = None  # the kernel's cwd; None: a fresh scratch folder
    # Extra variables for the kernel, set by the app; the kernel gets no copy of the app's
    # environment, only what environment.minimal() keeps, plus the user's passthrough names.
    env: dict[str, str] = field(default_factory=dict)
    env_passthrough: tuple[str, ...] = ()
    limits: Limits = field(default_factory=lambda: Limits())
    sandbox: str = "none"  # "none" | "bwrap" | "auto" (bwrap where it works: sandbox.resolve)
    # Where the kernel process's own stdout/stderr go, never the app's terminal (kernel_log.py);
    # None: a new file in the state folder's log/.
    log_file: Path | None = None
    # After a death or an ignored interrupt, kill the kernel's processes at once but start the
    # new kernel only when the next cell comes: the pool discards such kernels anyway.
    lazy_restart: bool = False

    @property
    def sandboxed(self) -> bool:
        """Kernels run under bubblewrap (``auto`` resolved once per process). Only the app's
        own Python kernel is ever wrapped: another kernelspec runs as it is."""
        if self.sandbox == "none" or self.kernel_name is not None:
            return False
        from assistant.execution.sandbox import resolve

        return resolve(self.sandbox) == "bwrap"

    def kernel_env(self, own: dict[str, str]) -> dict[str, str]:
        """The environment of a kernel or fork server: the minimal one (no credentials), the
        configured extras, then ``own`` (the app's variables for this process)."""
        from assistant.execution.environment import minimal

        return minimal(self.env_passthrough, {**self.env, **own})

    def kernel_limits(self) -> dict[str, Any]:
        """Arguments for kernels/limits.py: the output cap is enforced in the kernel too."""
        return {"output_bytes": self.output_limit, **self.limits}


def scratch(config: KernelConfig, prefix: str) -> tuple[Path, Path]:
    """A private temporary folder for one runtime, and the programs' working folder: the
    configured ``workdir`` (created if missing) or a fresh ``work/`` inside the temporary one."""
    from assistant.execution import reaper

    # The owner in the name: the next start removes it if this process dies without cleanup.
    tmp = Path(tempfile.mkdtemp(prefix=f"{prefix}{reaper.owner_stamp()}-"))
    reaper.track_folder(tmp)
    if config.workdir is not None:
        workdir = Path(config.workdir)
        workdir.mkdir(parents=True, exist_ok=True)
    else:
        workdir = tmp / "work"
        workdir.mkdir()
    return tmp, workdir
