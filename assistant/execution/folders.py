"""A fresh working folder for each graded program, removed after it: both runtimes use it.

Programs graded in one run must not see each other's files: a program that writes ``out.txt``
(or appends to it, or makes ``os.mkdir('out')``) would otherwise change the verdict of the
next program that reads or creates the same name. The pools (``pool.py``, ``forkpool.py``)
give each program ``ProgramFolders.new()`` as its working folder and ``remove`` it once the
program (and every process it started) has ended.

The folders live in the runtime's private scratch folder, which the sandbox already leaves
writable, so they exist at the same path inside bubblewrap. When the user picked a working
folder (``--workdir``, where ``datasets/`` would be), each program's folder starts as a copy
of it: the program may change its copy, never the original nor another program's.

Removal runs on a thread of its own (``remove`` returns at once; ``remove_all`` waits for every
removal): on the event loop's thread the syscalls of ``rm -rf`` held up every other program's
answer (~0.6 ms each, 1,130 folders in an ``eval --upstream`` of the reference programs).
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shutil
import stat
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


class ProgramFolders:
    """Fresh folders under ``base`` (the runtime's scratch folder), seeded from ``seed``."""

    def __init__(self, base: Path, seed: Path | None = None) -> None:
        self.base = Path(base) / "programs"
        self.seed = Path(seed) if seed is not None else None
        self._numbers = itertools.count(1)
        self.live: set[Path] = set()
        self._made_base = False
        self._remover: ThreadPoolExecutor | None = None

    def new(self) -> Path:
        """An empty folder (or a copy of ``seed``) that no other program has used."""
        if not self._made_base:
            self.base.mkdir(mode=0o700, exist_ok=True)
            self._made_base = True
        path = self.base / f"p{next(self._numbers)}"
        if self.seed is not None and self.seed.is_dir():
            shutil.copytree(self.seed, path, symlinks=True)
        else:
            path.mkdir(mode=0o700)
        self.live.add(path)
        return path

    def remove(self, path: Path | None) -> None:
        """Delete a program's folder and all it holds, read-only entries included."""
        if path is None:
            return
        self.live.discard(path)
        if self._remover is None:
            self._remover = ThreadPoolExecutor(1, thread_name_prefix="remove-folders")
        self._remover.submit(remove_tree, path)

    def remove_all(self) -> None:
        """Every folder removed, those still being removed included, when it returns."""
        for path in list(self.live):
            self.remove(path)
        remover, self._remover = self._remover, None
        if remover is not None:
            remover.shutdown(wait=True)


def remove_tree(path: Path) -> None:
    """``rm -rf``: a program may have made its folders read-only or unreadable (``chmod 0``)."""
    if path.is_symlink() or not path.is_dir():
        return
    with contextlib.suppress(OSError):
        os.chmod(path, stat.S_IRWXU)
    # Top-down: each folder is made listable and writable before the walk reads it.
    for root, dirs, _files in os.walk(path):
        for d in dirs:
            sub = os.path.join(root, d)
            if not os.path.islink(sub):
                with contextlib.suppress(OSError):
                    os.chmod(sub, stat.S_IRWXU)
    shutil.rmtree(path, ignore_errors=True)
