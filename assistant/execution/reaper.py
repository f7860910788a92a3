"""Keep kernel processes from outliving the app.

Kernels run in their own process session, so Ctrl-C never reaches them and a crashed client
leaves them running. Every kernel pid is recorded in the state folder with the pid of the app
that owns it; at exit the app kills the process groups it started, and at start it kills the
groups of owners that are gone.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import signal
from pathlib import Path

from .. import paths

_mine: set[int] = set()
_reaped = False


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


def register(pid: int) -> None:
    _mine.add(pid)
    with contextlib.suppress(OSError):
        d = _dir()
        d.mkdir(parents=True, exist_ok=True)
        (d / f"{pid}.json").write_text(json.dumps({"pid": pid, "owner": os.getpid()}))


def unregister(pid: int) -> None:
    _mine.discard(pid)
    with contextlib.suppress(OSError):
        (_dir() / f"{pid}.json").unlink()


def reap_stale() -> int:
    """Kill kernels whose owning app is gone (once per process). Returns how many."""
    global _reaped
    if _reaped:
        return 0
    _reaped = True
    killed = 0
    d = _dir()
    if not d.is_dir():
        return 0
    for f in d.glob("*.json"):
        try:
            rec = json.loads(f.read_text())
            pid, owner = int(rec["pid"]), int(rec["owner"])
        except (OSError, ValueError, KeyError):
            with contextlib.suppress(OSError):
                f.unlink()
            continue
        if owner != os.getpid() and not _alive(owner):
            if _alive(pid):
                kill_group(pid)
                killed += 1
            with contextlib.suppress(OSError):
                f.unlink()
    return killed


@atexit.register
def _kill_mine() -> None:
    for pid in list(_mine):
        kill_group(pid)
        unregister(pid)
