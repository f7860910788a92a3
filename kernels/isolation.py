"""What a program left behind in a pooled Jupyter kernel (loaded by the pool, not at boot).

``snapshot()`` records, once the kernel is warm: the loaded modules and the identity of every
attribute of each, the environment, the open file descriptors. ``taint()`` compares the kernel
with that record after a program and returns what differs (an empty list: clean). The pool
reuses a clean kernel (its namespace reset) and replaces a tainted one, so ``math.pi = 3``,
a module added to ``sys.modules``, a changed environment variable or a file left open never
reach the next program. The environment is put back in place instead (cheap and exact).

Comparing identities catches any rebinding (``math.pi = 3``, ``json.dumps = None``); it cannot
see mutation inside an object (``some_module.cache.clear()``), the cost of staying fast.
Standard library only: this file runs inside user kernels.
"""

from __future__ import annotations

import os
import sys
from typing import Any

# Attributes that change in normal operation of the kernel itself (ipykernel rebinds input()
# and getpass() for every request), not because of the program.
_VOLATILE: dict[str, set[str]] = {
    "sys": {
        "last_type",
        "last_value",
        "last_traceback",
        "last_exc",
        "stdout",
        "stderr",
        "displayhook",
        "excepthook",
        "ps1",
        "ps2",
        "ps3",
    },
    "builtins": {
        "_",
        "__",
        "___",
        "input",
        "raw_input",
        "exit",
        "quit",
        "get_ipython",
    },  # IPython swaps them
    "getpass": {"getpass"},
    "warnings": {"_filters_version", "_onceregistry"},
    "linecache": {"cache"},
}
# The kernel's own machinery (it imports and rebinds there lazily: tracebacks load pygments)
# and the user namespace (``__main__``, reset by the pool): not compared.
_KERNEL = (
    "__main__",
    "IPython",
    "ipykernel",
    "pygments",
    "zmq",
    "jupyter_client",
    "jupyter_core",
    "traitlets",
    "tornado",
    "comm",
    "debugpy",
    "jedi",
    "parso",
    "prompt_toolkit",
    "assistant_isolation",
    "assistant_kernels",  # this package (kernelcode.py), and the short names of two modules
    "assistant_kernel",
    "assistant_limits",
)

_state: dict[str, Any] = {}


def _fds() -> set[int]:
    try:
        own = os.open("/proc/self/fd", os.O_RDONLY | os.O_DIRECTORY)
    except OSError:
        return set()
    try:
        return {int(x) for x in os.listdir(own)} - {own}
    finally:
        os.close(own)


def _target(fd: int) -> str:
    try:
        return os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        return "?"


def _ids(name: str, mod: Any) -> dict[str, int]:
    skip = _VOLATILE.get(name, set())
    try:
        items = list(vars(mod).items())
    except TypeError:
        return {}
    return {k: id(v) for k, v in items if k not in skip}


def _watched(name: str) -> bool:
    """Not compared: the kernel's own packages."""
    return name.split(".", 1)[0] in _KERNEL


def _fingerprint(mod: Any) -> tuple[list[str], list[int]] | None:
    """Names and value identities of a module's attributes, built at C speed (a check of
    ~100k attributes takes a few ms)."""
    try:
        d = vars(mod)
    except TypeError:
        return None
    return list(d), list(map(id, d.values()))


def snapshot() -> None:
    mods = {n: m for n, m in list(sys.modules.items()) if not _watched(n)}
    _state["modules"] = {n: id(m) for n, m in mods.items()}
    _state["attrs"] = {n: _ids(n, m) for n, m in mods.items()}
    _state["prints"] = {n: _fingerprint(m) for n, m in mods.items() if n not in _VOLATILE}
    _state["env"] = dict(os.environ)
    _state["fds"] = _fds()


def taint() -> list[str]:
    """What the last program changed that a namespace reset cannot undo (empty: clean)."""
    if not _state:
        return []
    found: list[str] = []
    mods = {n: m for n, m in list(sys.modules.items()) if not _watched(n)}
    before = _state["modules"]
    added = sorted(set(mods) - set(before))
    if added:
        found.append(f"modules imported: {', '.join(added[:5])}")
    gone = sorted(n for n in before if n not in mods or id(mods[n]) != before[n])
    if gone:
        found.append(f"modules removed or replaced: {', '.join(gone[:5])}")
    attrs, prints = _state["attrs"], _state["prints"]
    changed: list[str] = []
    for n, m in mods.items():
        if n in prints and _fingerprint(m) == prints[n]:
            continue  # the common case: untouched
        if n in attrs:
            now, then = _ids(n, m), attrs[n]
            if now != then:
                keys = sorted(k for k in now.keys() | then.keys() if now.get(k) != then.get(k))
                changed.extend(f"{n}.{k}" for k in keys)
    if changed:
        found.append(f"module attributes changed: {', '.join(changed[:5])}")
    if dict(os.environ) != _state["env"]:
        os.environ.clear()
        os.environ.update(_state["env"])
    # Kernel internals (zmq's eventfds) come and go; a vanished fd was only being closed.
    extra = [
        fd for fd in _fds() - _state["fds"] if not _target(fd).startswith(("anon_inode:", "?"))
    ]
    if extra:
        found.append(f"files left open: {', '.join(_target(fd) for fd in sorted(extra)[:5])}")
    return found
