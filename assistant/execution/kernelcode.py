"""The one way kernel-side code (the ``kernels/`` folder) is loaded, in any process.

``kernels/`` is a package of standard-library modules that run in the user's interpreter: the
Jupyter kernel's hooks and limits, the fork server, upstream's execution mode. Wherever it runs
(the Jupyter kernel, the fork server, the app itself for the /proc helpers it shares),
``kernel_module`` registers the folder as the package ``PACKAGE`` (a name no user module
takes; nothing is added to ``sys.path``, so a program's own ``procs.py`` or ``limits`` package
is never shadowed) and imports one of its modules, which import each other relatively.

Other processes get that same function as source (``boot_source``): the Jupyter kernel's boot
cell (launch.py) and the fork server's ``python -c`` (forkserver.py). In the sandbox the folder
is bound read-only (sandbox.py); generated code can import the package as it can read the
files, and gains nothing by it: the limits are the OS kernel's (hard rlimits, no capabilities,
a pids cgroup), and nothing of the app's is in these modules.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType

PACKAGE = "assistant_kernels"


def kernel_module(folder: str, module: str) -> ModuleType:
    """``PACKAGE.module`` from ``folder`` (kernels/), loading the package once per process."""
    import importlib
    import importlib.util
    import os
    import sys

    name = "assistant_kernels"  # PACKAGE: this function also runs as source, without globals
    if name not in sys.modules:
        init = os.path.join(folder, "__init__.py")
        spec = importlib.util.spec_from_file_location(
            name, init, submodule_search_locations=[folder]
        )
        if spec is None or spec.loader is None:
            raise ImportError(f"cannot load the kernel code in {folder}")
        package = importlib.util.module_from_spec(spec)
        sys.modules[name] = package
        spec.loader.exec_module(package)
    return importlib.import_module(f"{name}.{module}")


def folder() -> str:
    """The app's own ``kernels/`` folder (in the wheel or the source tree)."""
    from assistant.resources import bundled_dir

    return str(bundled_dir("kernels"))


def app_module(module: str) -> ModuleType:
    """A module of ``kernels/`` in the app's own process (the helpers both sides share)."""
    return kernel_module(folder(), module)


@cache
def _loader_source() -> str:
    import inspect

    return inspect.getsource(kernel_module)


def boot_source(body: str) -> str:
    """Python source for another interpreter: defines ``kernel_module`` (and ``KERNELS``, the
    folder), runs ``body``, then removes those names again (a boot cell runs in the user's
    namespace)."""
    return "\n".join(
        [
            "from types import ModuleType",  # what the loader's annotations name
            _loader_source(),
            f"KERNELS = {folder()!r}",
            body,
            "del kernel_module, KERNELS, ModuleType",
        ]
    )
