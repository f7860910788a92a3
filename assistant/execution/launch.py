"""How a kernel process is launched: the kernelspec for the app's own Python (optionally inside
bubblewrap) and the boot code that installs the capture hooks and limits in the kernel."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    from assistant.execution.config import KernelConfig

OWN_KERNEL = "assistant-python"


def _kernel_argv() -> list[str]:
    return [
        sys.executable,
        "-m",
        "ipykernel_launcher",
        "-f",
        "{connection_file}",
        "--HistoryManager.enabled=False",
        # Output written straight to the process's descriptors (C code, subprocesses, forked
        # copies) is cell output, as in the fork runtime, and is also copied to the kernel log.
        # Said explicitly: ipykernel turns this off when it sees PYTEST_CURRENT_TEST, which
        # kernels no longer inherit (environment.py), so tests and users get the same.
        "--IPKernelApp.capture_fd_output=True",
    ]


def spec_manager(config: KernelConfig, writable: list[Path]) -> KernelSpecManager:
    """``writable``: folders the sandbox (if any) must leave writable: sockets, scratch dir."""
    from jupyter_client.kernelspec import KernelSpec, KernelSpecManager

    class OwnSpecManager(KernelSpecManager):
        """The app's own interpreter as a kernelspec, whatever the user has installed."""

        def get_kernel_spec(self, kernel_name: str, *args: Any, **kwargs: Any) -> KernelSpec:
            if kernel_name == OWN_KERNEL:
                argv = _kernel_argv()
                if config.sandboxed:
                    from assistant.execution.sandbox import bwrap_argv

                    # Without a parent pid (see sandbox.py) ipykernel prints a banner to the
                    # app's terminal unless quiet.
                    argv = bwrap_argv([*argv, "--quiet"], config, writable)
                # In the sandbox the kernel runs in its own session, out of reach of the
                # signal jupyter_client sends to the launcher's group: interrupt by message.
                mode = "message" if config.sandboxed else "signal"
                return KernelSpec(
                    argv=argv, display_name="assistant", language="python", interrupt_mode=mode
                )
            return super().get_kernel_spec(kernel_name, *args, **kwargs)

    return OwnSpecManager()


def boot_code(limits: dict[str, Any]) -> str:
    """The kernel's first cell: the print hook and the limits (kernels/), loaded by
    kernelcode.py. The client's own expressions (cell.py, pool.py) address the two modules
    under their short names."""
    from assistant.execution.kernelcode import boot_source

    return boot_source(
        "\n".join(
            [
                "kernel_module(KERNELS, 'assistant_kernel').install()",
                # A Python literal, not JSON: JSON's true/false/null are not Python names.
                f"kernel_module(KERNELS, 'limits').apply(**{limits!r})",
                "__import__('sys').modules.update(",
                "    assistant_kernel=kernel_module(KERNELS, 'assistant_kernel'),",
                "    assistant_limits=kernel_module(KERNELS, 'limits'),",
                ")",
            ]
        )
    )
