"""Running code: Jupyter kernels (one per session) and a pre-warmed pool for grading."""

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
