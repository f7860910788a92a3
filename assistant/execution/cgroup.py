"""A pids cgroup per kernel or fork server, where the system lets the app make one.

RLIMIT_NPROC is never applied to root (uid 0 in the initial user namespace), capabilities or
not, so as root the process limit rested on a Python wrapper around ``os.fork`` that code can
step around (``os.fork.__wrapped__``, ``ctypes``). A pids cgroup is enforced by the kernel for
everyone: ``pids.max`` tasks (processes and threads) in the kernel's tree, then ``fork``
fails with EAGAIN.

* Where: the app's own pids cgroup, when it is writable: cgroup v1's ``pids`` hierarchy, or a
  cgroup v2 folder whose ``cgroup.subtree_control`` already has ``pids`` (a delegated tree).
  Otherwise nothing is done (``confine`` returns None): the other layers stay (RLIMIT_NPROC for
  ordinary users, the per-kernel guard, the end-of-cell count).
* The folder is ``assistant-<owner stamp>-<tag>``: removed when the kernel shuts down, and by
  the next start when its owner is gone (``remove_stale``), like the scratch folders.
* Code inside cannot raise ``pids.max`` or leave the cgroup in the sandbox (no ``/sys`` there,
  no capabilities). Without the sandbox, code running as root could write to ``/sys/fs/cgroup``
  itself (root owns those files): the README says so.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import re
from pathlib import Path

from assistant.execution import reaper

PREFIX = "assistant-"
# Threads of the kernel itself (ipykernel's, a BLAS pool) on top of the processes allowed.
ROOM = 64
_STAMPED = re.compile(r"^assistant-(\d+)\.(\d+)-")
_mine: set[Path] = set()


def _mounts() -> list[tuple[str, str, str]]:
    """(mount point, fs type, super options) of the cgroup mounts."""
    found: list[tuple[str, str, str]] = []
    with contextlib.suppress(OSError), open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            parts, rest = left.split(), right.split()
            if len(parts) > 4 and len(rest) >= 3 and rest[0] in ("cgroup", "cgroup2"):
                found.append((parts[4], rest[0], rest[2]))
    return found


def _own_paths() -> dict[str, str]:
    """This process's cgroup path per hierarchy: "pids" (v1) and "" (v2)."""
    paths: dict[str, str] = {}
    with contextlib.suppress(OSError), open("/proc/self/cgroup") as f:
        for line in f:
            _num, controllers, path = line.rstrip("\n").split(":", 2)
            for name in controllers.split(",") if controllers else [""]:
                paths[name] = path
    return paths


def base() -> Path | None:
    """The writable pids cgroup folder new kernels' cgroups go in, or None."""
    own = _own_paths()
    for mount, fstype, options in _mounts():
        if fstype == "cgroup" and "pids" in options.split(",") and "pids" in own:
            folder = Path(mount + own["pids"])
        elif fstype == "cgroup2" and "" in own:
            folder = Path(mount + own[""])
            try:
                if "pids" not in (folder / "cgroup.subtree_control").read_text().split():
                    continue
            except OSError:
                continue
        else:
            continue
        if folder.is_dir() and os.access(folder, os.W_OK):
            return folder
    return None


def confine(root: int, tag: str, max_tasks: int, folder: Path | None = None) -> Path | None:
    """Put process ``root`` and its whole tree in a cgroup of ``max_tasks`` tasks (the folder
    ``folder`` when given: a restarted kernel keeps its cgroup); the folder, or None where
    there is no pids cgroup to use.

    A child forked before its parent moved stays where it was: the tree is walked twice.
    Whatever is forked after the first walk moved its parent is inside already, and whatever
    was forked before that exists when the second walk lists the tree."""
    try:
        if folder is None:
            parent = base()
            if parent is None:
                return None
            folder = parent / f"{PREFIX}{reaper.owner_stamp()}-{tag}"
            folder.mkdir(exist_ok=True)
            _mine.add(folder)
            (folder / "pids.max").write_text(str(max_tasks))
        for _ in range(2):
            for pid in [root, *reaper.descendants(root)]:
                with contextlib.suppress(ProcessLookupError):
                    (folder / "cgroup.procs").write_text(str(pid))
    except OSError:
        remove(folder)
        return None
    return folder


def members(folder: Path) -> list[int]:
    with contextlib.suppress(OSError, ValueError):
        return [int(p) for p in (folder / "cgroup.procs").read_text().split()]
    return []


def remove(folder: Path | None) -> None:
    """Kill what is left in the cgroup and remove it.

    Members are stopped first, read after read until none is new (a stopped process cannot
    fork, and one forked before the stop is listed by the next read), then killed; the folder
    goes once the last of them has exited (rmdir fails while one is still exiting)."""
    if folder is None:
        return
    _mine.discard(folder)
    if not folder.is_dir():
        return
    import signal
    import time

    stopped: set[int] = set()
    while new := set(members(folder)) - stopped:
        for pid in new:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGSTOP)
        stopped |= new
    for pid in stopped:
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 2.0
    while True:
        try:
            folder.rmdir()
            return
        except FileNotFoundError:
            return
        except OSError:
            if time.monotonic() > deadline:
                return  # remove_stale tries again at the next start
            time.sleep(0.005)


_swept = False


def reap_stale() -> int:
    """What a runtime does before it starts: the reaper's sweep of kernels and folders whose app
    is gone, then their cgroups (once per process). Returns how many processes were killed."""
    global _swept
    killed = reaper.reap_stale()
    if not _swept:
        _swept = True
        remove_stale()
    return killed


def remove_stale() -> int:
    """Remove the cgroups of owners that are gone (after ``kill -9``); how many."""
    root = base()
    if root is None:
        return 0
    count = 0
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            m = _STAMPED.match(entry.name)
            if m and reaper.start_time(int(m.group(1))) != m.group(2):
                remove(Path(entry.path))
                count += 1
    return count


@atexit.register
def _remove_mine() -> None:
    for folder in list(_mine):
        remove(folder)
