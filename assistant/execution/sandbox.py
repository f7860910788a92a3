"""The bubblewrap sandbox for kernels and fork servers (``sandbox = "auto" | "bwrap" | "none"``).

``auto`` (the default) is ``bwrap`` when bwrap is installed and works here (``resolve``: probed
once per process), else ``none``; ``notice()`` is the one line the front ends show.

What generated code gets inside the sandbox:

* no network: ``--unshare-net`` (only a loopback device of its own). The kernel's own sockets
  are Unix sockets in a folder bound into the sandbox (the app uses ``transport="ipc"``); those
  work across network namespaces, so the app still talks to the kernel.
* only what the kernel needs, read-only: the system folders (``/usr`` and its ``/bin``,
  ``/lib``... links, ``/etc`` without its secrets: ``SECRET_FILES`` covered, unreadable,
  ``SECRET_DIRS`` empty), the Python installation, the venv and its import path, the
  assistant's ``kernels/`` folder (not packages installed in editable mode elsewhere). Not
  the rest of the filesystem: no home folders (``/home``, ``/root``, the user's dotfiles), no
  ``/var``, ``/srv``, ``/mnt``, ``/media``, ``/run``, ``/opt`` or ``/sys``, unless the
  interpreter lives there (then only its own folder is bound);
* writable: the session's scratch folder (the kernel's cwd, or ``workdir`` when the user
  picked one), the folder holding the connection file and sockets, a private ``/tmp``, and a
  private empty home (``$HOME`` inside the scratch folder);
* its own PID namespace and ``/proc`` (``--unshare-pid``): the app and every other process of
  the user are invisible, and when the kernel's sandbox ends every process it started ends
  with it; ``--die-with-parent`` ends the sandbox when the app dies, even by ``kill -9``;
* ``--new-session``: code cannot inject keystrokes into the app's terminal (TIOCSTI). The
  kernel then sits outside the signal jupyter_client sends to interrupt, so sandboxed kernels
  are interrupted by message (``interrupt_mode="message"``) instead.

Run by root, bwrap keeps every capability for the sandboxed process (``--cap-drop`` would leave
the bounding set, so anything exec'd later would get them back): the kernel drops them all
itself, bounding set included, before any generated code runs (kernels/contain.py).

Needs the ``bwrap`` binary (Debian/Ubuntu: ``apt install bubblewrap``) and unprivileged user
namespaces (or root). With ``bwrap`` asked for explicitly and not usable, kernel start fails
with a message that says so. The resource limits of kernels/limits.py apply inside too.
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from assistant.execution.result import KernelStartError


class Configured(Protocol):
    """What the sandbox reads of a ``KernelConfig`` (``config.py`` imports this module, so
    this one names only the field it needs)."""

    @property
    def workdir(self) -> Path | None: ...


class SandboxError(KernelStartError):
    """The sandbox was asked for but cannot run here."""


def bwrap_path() -> str | None:
    return shutil.which("bwrap")


_PROBE_ARGS = ("--unshare-net", "--unshare-pid", "--ro-bind", "/", "/", "--proc", "/proc", "true")


@functools.cache
def _probe(bwrap: str) -> str | None:
    """None when bwrap can create the namespaces we use, else its error message."""
    try:
        proc = subprocess.run(
            [bwrap, *_PROBE_ARGS],
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


# Files of /etc no kernel needs that hold credentials or hashes: covered by /dev/null (a
# device bound nodev: unreadable), folders by an empty read-only tmpfs.
SECRET_FILES = (
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/sudoers",
    "/etc/security/opasswd",
    "/etc/machine-id",
)
SECRET_DIRS = ("/etc/sudoers.d", "/etc/ssh", "/etc/ssl/private", "/etc/NetworkManager")
SYSTEM = ("/usr", "/etc")
# Links of a merged-/usr system (or real folders on older ones).
SYSTEM_LINKS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")


@functools.cache
def resolve(name: str) -> str:
    """The sandbox in force for a setting: ``auto`` is ``bwrap`` where it works, else ``none``."""
    if name == "auto":
        return "bwrap" if available() else "none"
    return name


def notice(name: str, kernel: str | None = None) -> str:
    """One line saying which sandbox is in force and what that means (TUI, REPL, info);
    ``kernel``: another kernelspec than the app's own Python, which is never wrapped."""
    mode = "none" if kernel else resolve(name)
    if mode == "bwrap":
        return (
            "sandbox: bwrap (no network, private home, system read-only; "
            "only the session folder is writable)"
        )
    why = "sandbox = 'none'"
    if kernel and name != "none":
        why = f"kernel '{kernel}' is not the app's own Python, the only one bwrap wraps"
    elif name == "auto":
        path = bwrap_path()
        why = (
            "bubblewrap not installed"
            if path is None
            else f"bubblewrap cannot run here: {_probe(path) or 'unknown'}"
        )
    return (
        f"sandbox: none ({why}): generated code runs with your user's rights "
        "(files, network); no credentials of the app are passed to it"
    )


def _needed_paths() -> list[str]:
    """Folders outside the system ones the kernel needs, read-only: the interpreter, venv,
    import path and kernels/ (outermost first, none inside another or a system folder)."""
    import site
    import sys

    from assistant.resources import bundled_dir

    candidates = [sys.prefix, sys.base_prefix, sys.exec_prefix]
    candidates.append(str(Path(sys.executable).resolve().parent.parent))
    # The installation's import path, not the app's own (a checkout, a test runner's
    # folders): packages installed in editable mode elsewhere are not bound.
    candidates += [p for p in sys.path if "-packages" in p or p.startswith(sys.base_prefix)]
    with contextlib.suppress(Exception):
        candidates += [*site.getsitepackages(), site.getusersitepackages()]
    candidates.append(str(bundled_dir("kernels")))
    found: list[str] = []
    for item in candidates:
        path = Path(item).resolve()
        if not path.exists() or path == Path("/"):
            continue
        if path.is_file():  # python311.zip
            path = path.parent
        text = str(path)
        if any(text == f or text.startswith(f + "/") for f in (*SYSTEM, *found)):
            continue
        found = [f for f in found if not f.startswith(text + "/")] + [text]
    return sorted(found)


def _hidden_by_tmp() -> list[str]:
    """The needed folders under /tmp, which the private /tmp would otherwise hide."""
    return [p for p in _needed_paths() if p.startswith("/tmp/")]


def _system_binds() -> list[str]:
    out: list[str] = []
    for path in SYSTEM:
        out += ["--ro-bind-try", path, path]
    for link in SYSTEM_LINKS:
        p = Path(link)
        if p.is_symlink():
            out += ["--symlink", os.readlink(link), link]
        elif p.is_dir():
            out += ["--ro-bind", link, link]
    for path in SECRET_FILES:
        if Path(path).is_file():
            out += ["--ro-bind", "/dev/null", path]
    for path in SECRET_DIRS:
        if Path(path).is_dir():
            out += ["--tmpfs", path, "--remount-ro", path]
    return out


def bwrap_argv(
    argv: list[str], config: Configured, writable: Iterable[Path | str] = ()
) -> list[str]:
    """``argv`` wrapped in bubblewrap; ``writable`` folders are bound read-write, the first
    one also holds the private home."""
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
        *_system_binds(),
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
    for path in _needed_paths():
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
    if folders:
        home = folders[0].resolve() / "home"
        home.mkdir(exist_ok=True)
        # A private, empty, writable home; IPython keeps its profile there.
        out += ["--setenv", "HOME", str(home), "--setenv", "IPYTHONDIR", str(home / ".ipython")]
    out.append("--")
    return out + list(argv)
