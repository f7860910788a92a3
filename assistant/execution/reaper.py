"""Keep kernel processes from outliving the app.

Kernels run in their own process session, so Ctrl-C never reaches them and a crashed client
leaves them running. Every kernel pid is recorded in the state folder with the pid of the app
that owns it; at exit the app kills the process groups it started, and at start it kills the
groups of owners that are gone.

Scratch folders (a kernel's connection file with its HMAC key, its sockets, what the code
wrote) carry their owner in their name (``asst-<pid>.<start time>-...``, ``owner_stamp``):
removed at exit, and at the next start when their owner is gone (``kill -9``, a crash). The
start time tells a reused pid from the owner; folders of live owners are never touched.

A process group is not enough: generated code may start children that call ``setsid`` (or
double-fork into daemons). Every kernel therefore gets a tag in its environment
(``ASSISTANT_KERNEL_TAG``), inherited by everything it starts; ``kill_tree`` kills the group and
every process whose environment carries the tag, even after the kernel itself has died.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import re
import shutil
import signal
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from assistant import paths
from assistant.execution import kernelcode

# The /proc helpers the kernels use too (kernels/proctree.py): one copy, loaded as kernel code.
if TYPE_CHECKING:
    from kernels.proctree import descendants as descendants
    from kernels.proctree import running as running
    from kernels.proctree import stat_fields
else:
    _tree = kernelcode.app_module("proctree")
    descendants, running, stat_fields = _tree.descendants, _tree.running, _tree.stat_fields

TAG_VAR = "ASSISTANT_KERNEL_TAG"
_mine: dict[int, str] = {}
_folders: set[Path] = set()
_reaped = False
_STAMPED = re.compile(r"^asst-(?:[a-z]+-)?(\d+)\.(\d+)-")


def _dir() -> Path:
    return paths.state_dir() / "kernels"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def kill_group(pid: int) -> None:
    """SIGKILL the kernel's whole process group (it leads its own session)."""
    with contextlib.suppress(OSError):
        pgid = os.getpgid(pid)
        if pgid == pid:  # only groups the kernel leads: never our own
            os.killpg(pgid, signal.SIGKILL)
            return
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def tagged(tag: str) -> list[int]:
    """Pids of the processes whose environment carries ``tag`` (same user or root only)."""
    needle = f"{TAG_VAR}={tag}".encode()
    found: list[int] = []
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        if needle in env.split(b"\0"):
            found.append(int(name))
    return found


def kill_tree(pid: int | None, tag: str | None) -> int:
    """Kill a kernel, its process group, its descendants and every process under its tag.

    The tag also finds processes that left the tree (the kernel died first); the tree also
    finds processes started with a cleared environment.
    """
    killed = 0
    if pid:
        for p in descendants(pid):
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)
                killed += 1
        kill_group(pid)
    if tag:
        # Two rounds: a process forking while we kill may add a child after the first scan.
        for _ in range(2):
            pids = tagged(tag)
            for p in pids:
                with contextlib.suppress(OSError):
                    os.kill(p, signal.SIGKILL)
                    killed += 1
            if not pids:
                break
    return killed


def start_time(pid: int) -> str | None:
    """The process's start time (clock ticks after boot): with the pid, names one process."""
    fields = stat_fields(pid)
    return fields[19].decode() if fields is not None and len(fields) > 19 else None


def owner_stamp() -> str:
    """``<pid>.<start time>`` of this process, for the names of the folders it owns."""
    return f"{os.getpid()}.{start_time(os.getpid()) or 0}"


def track_folder(path: Path) -> None:
    """A scratch folder of this process: removed at exit if still there."""
    _folders.add(path)


def remove_folder(path: Path | None) -> None:
    if path is not None:
        _folders.discard(path)
        shutil.rmtree(path, ignore_errors=True)


def stale_folders(root: Path | None = None) -> list[Path]:
    """Scratch folders (this user's) whose owner process is gone."""
    root = Path(tempfile.gettempdir()) if root is None else root
    found: list[Path] = []
    uid = os.getuid()
    with contextlib.suppress(OSError):
        for entry in os.scandir(root):
            m = _STAMPED.match(entry.name)
            if m is None or not entry.is_dir(follow_symlinks=False):
                continue
            with contextlib.suppress(OSError):
                if entry.stat(follow_symlinks=False).st_uid != uid:
                    continue
                pid, started = int(m.group(1)), m.group(2)
                if start_time(pid) != started:
                    found.append(Path(entry.path))
    return found


def remove_stale_folders() -> int:
    folders = stale_folders()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)
    return len(folders)


def register(pid: int, tag: str | None = None) -> None:
    _mine[pid] = tag or ""
    with contextlib.suppress(OSError):
        d = _dir()
        d.mkdir(parents=True, exist_ok=True)
        rec = {"pid": pid, "owner": os.getpid(), "tag": tag}
        (d / f"{pid}.json").write_text(json.dumps(rec))


def unregister(pid: int) -> None:
    _mine.pop(pid, None)
    with contextlib.suppress(OSError):
        (_dir() / f"{pid}.json").unlink()


def reap_stale() -> int:
    """Kill kernels whose owning app is gone and remove the scratch folders of owners that are
    gone (once per process). Returns how many processes were killed."""
    global _reaped
    if _reaped:
        return 0
    _reaped = True
    killed = 0
    d = _dir()
    if d.is_dir():
        killed = _reap_records(d)
    remove_stale_folders()  # after their kernels are dead: nothing writes there any more
    return killed


def _reap_records(d: Path) -> int:
    killed = 0
    for f in d.glob("*.json"):
        try:
            rec = json.loads(f.read_text())
            pid, owner, tag = int(rec["pid"]), int(rec["owner"]), rec.get("tag")
        except (OSError, ValueError, KeyError):
            with contextlib.suppress(OSError):
                f.unlink()
            continue
        if owner != os.getpid() and not _alive(owner):
            # The pid may have been reused by now: only trust the group when the tag matches.
            if tag:
                killed += kill_tree(None, tag)
            elif _alive(pid):
                kill_group(pid)
                killed += 1
            with contextlib.suppress(OSError):
                f.unlink()
    return killed


@atexit.register
def _kill_mine() -> None:
    for pid, tag in list(_mine.items()):
        kill_tree(pid, tag)
        unregister(pid)
    for folder in list(_folders):
        remove_folder(folder)
