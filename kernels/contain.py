"""Make the kernel's limits stick: hard limits, and no privilege to raise them.

Loaded by limits.py in the Jupyter kernel and by the fork server before it forks any program,
so every process generated code can start inherits it:

* ``hard_limit(which, value)``: soft *and* hard limit. A process may lower its hard limit but
  raising it needs ``CAP_SYS_RESOURCE``, so ``setrlimit(RLIMIT_AS, (INF, INF))`` fails.
* ``drop_privileges()``: removes every capability from the bounding set and from the
  effective, permitted, inheritable and ambient sets; those that undo containment are ``CAP_SYS_RESOURCE``
  (raise hard limits, exceed RLIMIT_NPROC), ``CAP_SYS_ADMIN`` (also exceeds RLIMIT_NPROC;
  mounts, namespaces), ``CAP_SYS_PTRACE`` (read the app's memory and environment through
  /proc even though the app is non-dumpable). The bounding set also covers programs exec'd
  later (a setuid binary, ``sudo``, any program root execs would otherwise get every
  capability of the bounding set back), and ``no_new_privs`` stops setuid gains for ordinary
  users. Only root holds capabilities; for anyone else this is a cheap no-op. bwrap run by
  root leaves its child every capability (``--cap-drop`` clears all but the bounding set):
  this drop covers the sandboxed kernel too.

What it cannot do: the Linux kernel never applies RLIMIT_NPROC to uid 0 in the initial user
namespace, capabilities or not. As root the process count stays with the per-kernel guard
(procs.py), the end-of-cell count, and a pids cgroup where the app can create one.

Standard library only, and nothing here raises: it runs inside user kernels.
"""

from __future__ import annotations

import contextlib
import resource
from typing import Any

CAP_SYS_PTRACE = 19
CAP_SYS_ADMIN = 21
CAP_SYS_RESOURCE = 24
CAP_PERFMON = 38
DROPPED = (CAP_SYS_PTRACE, CAP_SYS_ADMIN, CAP_SYS_RESOURCE, CAP_PERFMON)

_PR_CAPBSET_DROP = 24
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAP_AMBIENT = 47
_PR_CAP_AMBIENT_CLEAR_ALL = 4
_CAPABILITY_VERSION_3 = 0x20080522


def hard_limit(which: int, value: int) -> None:
    """Set soft and hard limit to ``value`` (never above the current hard limit)."""
    with contextlib.suppress(ValueError, OSError):
        _soft, hard = resource.getrlimit(which)
        if hard != resource.RLIM_INFINITY:
            value = min(value, hard)
        resource.setrlimit(which, (value, value))


def _libc() -> Any:
    import ctypes

    return ctypes.CDLL(None, use_errno=True)


def _all_caps() -> tuple[int, ...]:
    last = 40
    with contextlib.suppress(OSError, ValueError), open("/proc/sys/kernel/cap_last_cap") as f:
        last = int(f.read())
    return tuple(range(last + 1))


def drop_privileges() -> list[int]:
    """Drop every capability everywhere it could come back from (``DROPPED`` are the ones
    that undo containment; the rest go too, as nothing here needs them and root inside bwrap
    would keep them all); the capabilities of ``DROPPED`` still held afterwards (empty on
    success, or when there were none)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = _libc()
        caps = _all_caps()
        # CAP_SETPCAP (8), which dropping from the bounding set needs, goes last.
        for cap in sorted(caps, key=lambda c: c == 8):
            libc.prctl(_PR_CAPBSET_DROP, cap, 0, 0, 0)
        libc.prctl(_PR_CAP_AMBIENT, _PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)

        class Header(ctypes.Structure):
            _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

        class Data(ctypes.Structure):
            _fields_ = [
                ("effective", ctypes.c_uint32),
                ("permitted", ctypes.c_uint32),
                ("inheritable", ctypes.c_uint32),
            ]

        header = Header(_CAPABILITY_VERSION_3, 0)
        data = (Data * 2)()
        if libc.capget(ctypes.byref(header), data) == 0:
            for word in (0, 1):
                data[word].effective = data[word].permitted = data[word].inheritable = 0
            libc.capset(ctypes.byref(header), data)
        libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    return held(DROPPED)


def held(caps: tuple[int, ...] = DROPPED) -> list[int]:
    """Which of ``caps`` this process has effective or could regain (bounding set)."""
    found: list[int] = []
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as f:
        sets = {
            line.split(":")[0]: int(line.split()[1], 16)
            for line in f
            if line.startswith(("CapEff", "CapBnd", "CapPrm"))
        }
        for cap in caps:
            if any(value >> cap & 1 for value in sets.values()):
                found.append(cap)
    return found
