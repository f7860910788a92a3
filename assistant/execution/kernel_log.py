"""Where a kernel process's own stdout/stderr go: a log file, never the app's terminal.

ipykernel warnings, tornado tracebacks, "attempted to send message from fork" from forked
copies of the kernel and bubblewrap's errors used to be drawn over the TUI, interleave with the
REPL transcript and flood ``eval``'s stderr. They now go to ``<state folder>/log/kernel-*.log``
(one file per ``Kernel``, kept across its restarts); the UI names the file where it matters
(a kernel death, a failed start).
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import BinaryIO

KEEP = 50  # newest kernel logs kept; only kernels that wrote something leave a file


def kernel_log_dir() -> Path:
    from assistant import paths

    return paths.state_dir() / "log"


class KernelLog:
    def __init__(self, tag: str, path: Path | None = None) -> None:
        self.tag = tag
        self.wanted = path  # None: a new file in kernel_log_dir()
        self.path: Path | None = None
        self.file: BinaryIO | None = None  # open while the kernel runs; given to the launcher

    def open(self) -> BinaryIO:
        if self.file is not None:
            return self.file
        try:
            path = self.wanted
            if path is None:
                folder = kernel_log_dir()
                folder.mkdir(parents=True, exist_ok=True)
                _prune(folder)
                path = folder / f"kernel-{time.strftime('%Y%m%d-%H%M%S')}-{self.tag}.log"
            self.file = open(path, "ab", buffering=0)  # noqa: SIM115 (open while it runs)
            self.path = Path(path)
        except OSError:
            # No writable log folder: drop the output rather than draw it over the UI.
            self.file = open(os.devnull, "wb")  # noqa: SIM115
            self.path = None
        return self.file

    def close(self) -> None:
        file, self.file = self.file, None
        if file is None:
            return
        file.close()
        path = self.path
        try:  # a kernel that never wrote anything leaves no file behind (pools start many)
            if path is not None and path.stat().st_size == 0:
                path.unlink()
        except OSError:
            pass

    def hint(self) -> str:
        """`` (kernel log: PATH)`` when the file holds something, else empty."""
        path = self.path
        try:
            if path is not None and path.stat().st_size > 0:
                return f" (kernel log: {path})"
        except OSError:
            pass
        return ""


def _prune(folder: Path) -> None:
    try:
        logs = sorted(folder.glob("kernel-*.log"), key=lambda p: p.stat().st_mtime)
        for old in logs[:-KEEP]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
