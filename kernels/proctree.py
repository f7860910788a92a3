"""Processes as Linux's /proc shows them: the helpers every side shares.

Used in kernels and fork servers (limits.py, procs.py, the fork runtime) and by the app
(assistant/execution/reaper.py): one copy. Standard library only; nothing here raises.
"""

from __future__ import annotations

import contextlib
import os

_PR_SET_CHILD_SUBREAPER = 36


def stat_fields(pid: int | str) -> list[bytes] | None:
    """The fields of ``/proc/<pid>/stat`` after the command name (state first), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    return stat[stat.rfind(b")") + 2 :].split()


def running(pid: int) -> bool:
    """The process exists and is not a zombie."""
    fields = stat_fields(pid)
    return fields is not None and len(fields) > 0 and fields[0] not in (b"Z", b"X")


def children(pid: int) -> list[int]:
    """The direct children of ``pid`` (of all its threads)."""
    kids: list[int] = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids.extend(int(p) for p in f.read().split())
    return kids


def descendants(pid: int) -> list[int]:
    """Children, grandchildren... of ``pid`` (a child subreaper keeps orphaned daemons in
    its tree while it lives)."""
    found: list[int] = []
    todo = [pid]
    while todo:
        kids = children(todo.pop())
        found.extend(kids)
        todo.extend(kids)
    return found


def user_tasks(uid: int) -> int:
    """Threads of all processes of ``uid``: what RLIMIT_NPROC really counts (tasks, not
    processes), so a desktop with a busy browser already holds thousands."""
    count = 0
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            if os.stat(f"/proc/{name}").st_uid != uid:
                continue
            fields = stat_fields(name)
            if fields:
                count += int(fields[17])
    return count


def env_of(pid: int, var: str) -> str:
    """The value of ``var`` in the environment ``pid`` started with ("" when unreadable)."""
    with contextlib.suppress(OSError), open(f"/proc/{pid}/environ", "rb") as f:
        for item in f.read().split(b"\0"):
            if item.startswith(var.encode() + b"="):
                return item.split(b"=", 1)[1].decode("utf-8", "replace")
    return ""


def become_subreaper() -> None:
    """Orphans of this process's descendants are re-parented here, not to init, so they stay
    in its tree (Linux only; elsewhere they leave it)."""
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
