"""Optional bubblewrap sandbox for kernels (``sandbox = "bwrap"`` in the config).

What the generated code gets inside the sandbox:

* no network: ``--unshare-net`` (only a loopback device). The kernel's own sockets are Unix
  sockets in a folder bound into the sandbox (the app uses ``transport="ipc"``); those work
  across network namespaces, so the app still talks to the kernel.
* a read-only view of the whole filesystem (``--ro-bind / /``): the Python installation, the
  venv and the user's files can be read but not changed or deleted;
* writable: the session's scratch folder (the kernel's cwd, or ``workdir`` when the user picked
  one), the folder holding the connection file and sockets, and a private ``/tmp``;
* its own PID namespace and ``/proc`` (``--unshare-pid``): when the kernel's sandbox ends, the
  kernel turns off every process it started, daemons included; ``--die-with-parent`` ends the
  sandbox when the app dies, even by ``kill -9``;
* ``--new-session``: code cannot inject keystrokes into the app's terminal (TIOCSTI). The
  kernel then sits outside the signal jupyter_client sends to interrupt, so sandboxed kernels
  are interrupted by message (``interrupt_mode="message"``) instead.

Needs the ``bwrap`` binary (Debian/Ubuntu: ``apt install bubblewrap``) and unprivileged user
namespaces (or root). Without them kernel start fails with a message that says so. The
resource limits of kernels/limits.py apply inside the sandbox as well.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from assistant.execution.result import KernelStartError

if TYPE_CHECKING:
    from assistant.execution.config import KernelConfig


class SandboxError(KernelStartError):
    """The sandbox was asked for but cannot run here."""


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


@functools.cache
def _probe(bwrap: str) -> str | None:
    """None when bwrap can create the namespaces we use, else its error message."""
    try:
        proc = subprocess.run(
            [bwrap, "--unshare-net", "--unshare-pid", "--ro-bind", "/", "/", "--", "true"],
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return str(exc)
    return None if proc.returncode == 0 else (proc.stderr.strip() or f"exit {proc.returncode}")


def available() -> bool:
    """bwrap is installed and works on this machine (tests skip on False)."""
    path = bwrap_path()
    return path is not None and _probe(path) is None


def required() -> bool:
    """The sandbox must work here: in CI (``CI=true``) or with ``ASSISTANT_REQUIRE_SANDBOX=1``
    its tests fail instead of skipping when bwrap is missing or broken."""
    flag = os.environ.get("ASSISTANT_REQUIRE_SANDBOX", os.environ.get("CI", ""))
    return flag.strip().lower() in ("1", "true", "yes")


def _hidden_by_tmp() -> list[str]:
    """Folders the kernel needs (interpreter, venv, import path, kernels/) that are under /tmp."""
    import sys

    from assistant.resources import bundled_dir

    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix, *sys.path]
    candidates.append(str(bundled_dir("kernels")))
    found: list[str] = []
    for item in candidates:
        if not item:
            continue
        path = Path(item).resolve()
        if path.exists() and path.is_relative_to("/tmp") and path != Path("/tmp"):
            text = str(path)
            if not any(text == f or text.startswith(f + "/") for f in found):
                found = [f for f in found if not f.startswith(text + "/")] + [text]
    return sorted(found)


def bwrap_argv(
    argv: list[str], config: KernelConfig, writable: Iterable[Path | str] = ()
) -> list[str]:
    """``argv`` wrapped in bubblewrap; ``writable`` folders are bound read-write."""
    bwrap = bwrap_path()
    if bwrap is None:
        raise SandboxError(
            "sandbox 'bwrap' was requested but bubblewrap is not installed "
            "(Debian/Ubuntu: apt install bubblewrap; Fedora: dnf install bubblewrap), "
            "or set sandbox = 'none'"
        )
    problem = _probe(bwrap)
    if problem is not None:
        raise SandboxError(
            f"bubblewrap cannot create a sandbox here ({problem}); unprivileged user "
            "namespaces may be disabled (sysctl kernel.unprivileged_userns_clone=1), "
            "or set sandbox = 'none'"
        )
    out = [
        bwrap,
        "--die-with-parent",
        "--new-session",
        "--unshare-net",
        "--unshare-pid",
        "--unshare-ipc",
        "--unshare-uts",
        "--ro-bind",
        "/",
        "/",
        "--dev",
        "/dev",
        "--proc",
        "/proc",
        "--tmpfs",
        "/tmp",
        # ipykernel exits when its parent looks gone (ppid 1), which is always true in a PID
        # namespace; --die-with-parent does that job here.
        "--unsetenv",
        "JPY_PARENT_PID",
    ]
    # The private /tmp hides whatever lives there: an interpreter, venv or checkout under /tmp
    # (CI clones, tox) must be bound back, read-only, or the kernel cannot even start.
    for path in _hidden_by_tmp():
        out += ["--ro-bind", path, path]
    folders = [Path(p) for p in writable]
    if config.workdir is not None:
        folders.append(Path(config.workdir))
    seen: set[str] = set()
    for folder in folders:
        path = str(folder.resolve())
        if path not in seen:
            seen.add(path)
            out += ["--bind", path, path]
    if folders:  # IPython wants a writable profile folder; $HOME is read-only in here
        out += ["--setenv", "IPYTHONDIR", str(folders[0].resolve() / ".ipython")]
    out.append("--")
    return out + list(argv)
