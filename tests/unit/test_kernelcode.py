"""kernels/ is one package, loaded one way (assistant/execution/kernelcode.py) in every process."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from assistant.execution import kernelcode, reaper

KERNELS = Path(kernelcode.folder())


def test_the_app_shares_the_kernels_proc_helpers() -> None:
    tree = kernelcode.app_module("proctree")
    assert tree.__name__ == f"{kernelcode.PACKAGE}.proctree"
    assert reaper.running is tree.running and reaper.descendants is tree.descendants
    assert kernelcode.app_module("proctree") is tree  # loaded once per process


def test_boot_source_loads_the_package_and_leaves_no_names() -> None:
    body = "print(kernel_module(KERNELS, 'textsafe').escape('a\\udcff'))"
    names = "print(sorted(n for n in dir() if not n.startswith('__')))"
    src = kernelcode.boot_source(body) + "\n" + names
    out = subprocess.run(
        [sys.executable, "-I", "-c", src], capture_output=True, text=True, check=True, timeout=60
    ).stdout.splitlines()
    assert out == ["a\\udcff", "[]"]


def test_kernel_code_imports_only_the_standard_library_and_itself() -> None:
    """It runs in the user's interpreter (any kernelspec), where only the standard library is
    certain: third-party modules may be imported lazily, inside functions, never at the top.
    Siblings are imported relatively (an absolute ``import procs`` would fail here too)."""
    for path in sorted(KERNELS.glob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", (path.name, name)
