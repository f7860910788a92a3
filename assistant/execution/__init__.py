"""Running code: one ``Runtime`` contract (``runtime.py``) with two implementations, Jupyter
kernels (one per session; ``KernelPool`` for grading) and forked children of a warm fork server
(``ForkPool``, the eval default); ``choose.make_pool`` picks one for many programs."""

import logging

from assistant.execution.config import KernelConfig
from assistant.execution.kernel import Kernel
from assistant.execution.result import (
    ExecError,
    ExecResult,
    KernelDied,
    KernelError,
    KernelStartError,
    Printed,
)

__all__ = [
    "ExecError",
    "ExecResult",
    "Kernel",
    "KernelConfig",
    "KernelDied",
    "KernelError",
    "KernelStartError",
    "Printed",
]

# Kernel starts, restarts, interrupts and deaths are logged under this package. They go where
# the app's logging set-up sends them (``assistant --log-file``, ``assistant.logs``) and,
# without one, nowhere: not to stderr through logging's last resort, which would draw over the
# TUI and flood ``eval``'s output with every crashing program.
logging.getLogger(__name__).addHandler(logging.NullHandler())
