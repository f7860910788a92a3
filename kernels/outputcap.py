"""The output cap of a Jupyter kernel (limits.py): writes past a cell's quota are dropped.

``sys.stdout``/``sys.stderr`` writes past ``output_bytes`` are dropped in the kernel (a 200 MB
print never crosses the wire) and counted; limits.py ends the cell with a "truncated N bytes"
line. Threads started by an earlier cell that keep printing are muted (counted, not sent), so
they cannot pollute a later cell's output. Standard library only; nothing here may raise.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Any

from .textsafe import escape


class OutputCap:
    """What the cap has counted in the current cell, and the hooks that count it."""

    def __init__(self, output_bytes: int | None) -> None:
        self.output_bytes = output_bytes
        self.cell = 0
        self.used = 0
        self.dropped = 0
        self.muted = 0  # bytes from threads of earlier cells
        # Once a cell's quota is spent, its own writes are only counted (the fast path of
        # CappedWrite): a loop printing millions of lines must not pay for the full check.
        self.full = False
        self.cell_thread = threading.get_ident()  # the thread running cells
        # The dropped count, also kept in a file the client reads when the kernel is killed
        # mid-cell (a hard restart sends no end-of-cell marker): updated at the first drop,
        # then every 64 KiB, so it costs one comparison per dropped write.
        self.count_path = os.environ.get("ASSISTANT_DROPPED_FILE")
        self.next_report = 1 if self.count_path else 1 << 62
        self.reported = False
        self.stdout_class: type = type(sys.stdout)

    def capped_write(self, orig: Any, stream: Any, text: Any) -> int:
        if isinstance(text, str) and not text.isascii():
            text = escape(text)
        if not isinstance(text, str) or self.output_bytes is None:
            return int(orig(stream, text) or 0)
        n = len(text)
        cell = getattr(threading.current_thread(), "_asst_cell", None)
        if cell is not None and cell != self.cell:
            self.muted += n
            return n
        room = self.output_bytes - self.used
        if n <= room:
            self.used += n
            return int(orig(stream, text) or 0)
        keep = max(room, 0)
        self.used += keep
        self.dropped += n - keep
        self.full = cell is None and threading.get_ident() == self.cell_thread
        if self.dropped >= self.next_report:
            self.report_dropped()
        if keep:
            orig(stream, text[:keep])
        return n

    def drop_print(self, args: tuple[Any, ...]) -> bool:
        """A plain ``print(*args)`` on a full cell: counted, not written (see apply)."""
        if not self.full or threading.get_ident() != self.cell_thread:
            return False
        if type(sys.stdout) is not self.stdout_class:  # redirected: not ours to drop
            return False
        self.dropped += len(" ".join(map(str, args))) + 1
        if self.dropped >= self.next_report:
            self.report_dropped()
        return True

    def write_marker(self) -> None:
        """End the cell's output with what was dropped (through the cap: it is counted)."""
        desc = type(sys.stdout).__dict__.get("write")
        marker = f"\n[... truncated {self.dropped} bytes of output ...]\n"
        with contextlib.suppress(Exception):
            if isinstance(desc, CappedWrite):
                desc.orig(sys.stdout, marker)
            else:
                sys.stdout.write(marker)

    def report_dropped(self) -> None:
        self.next_report = self.dropped + 65536
        self.reported = True
        with contextlib.suppress(OSError, TypeError), open(self.count_path, "w") as f:  # type: ignore[arg-type]
            f.write(str(self.dropped))

    def wrap_stream_class(self, cls: type) -> None:
        """Cap ``cls.write`` with a data descriptor.

        IPython 9 tees every cell's output by setting ``stream.write`` on the instance and puts
        back what it found when the cell ends; for the boot cell that is the unpatched bound
        method, which would then shadow any class-level patch for good. The descriptor keeps
        such assignments (the tee works) but never lets the raw method bypass the cap.
        """
        if isinstance(cls.__dict__.get("write"), CappedWrite):
            return
        cls.write = CappedWrite(cls.write, self)  # type: ignore[attr-defined]

    def tag_threads(self) -> None:
        """Remember which cell started each thread, so its late output can be muted."""
        original_start = threading.Thread.start
        limits = self

        def start(thread: threading.Thread) -> None:
            thread._asst_cell = limits.cell  # type: ignore[attr-defined]
            original_start(thread)

        threading.Thread.start = start  # type: ignore[method-assign,assignment]


class CappedWrite:
    """``write`` for ipykernel's OutStream: the output cap, plus room for instance overrides."""

    def __init__(self, orig: Any, limits: OutputCap) -> None:
        self.orig = orig
        self.limits = limits

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        # Runs for every write: kept to two dict lookups in the common case.
        if obj is None:
            return self
        d = obj.__dict__
        inner = d.get("_asst_override")
        if inner is not None:
            return inner  # IPython's tee, which calls the capped write it saw at cell start
        capped = d.get("_asst_capped")
        if capped is None:
            orig, limits = self.orig, self.limits
            get_ident = threading.get_ident

            def capped(text: Any) -> int:
                if limits.full and type(text) is str and get_ident() == limits.cell_thread:
                    n = len(text)
                    limits.dropped += n
                    if limits.dropped >= limits.next_report:
                        limits.report_dropped()
                    return n
                return limits.capped_write(orig, obj, text)

            d["_asst_capped"] = capped
        return capped

    def __set__(self, obj: Any, value: Any) -> None:
        # Putting back the raw method (what IPython saw at boot) must not bypass the cap.
        raw = getattr(value, "__func__", None) is self.orig
        obj.__dict__["_asst_override"] = None if raw else value

    def __delete__(self, obj: Any) -> None:
        obj.__dict__.pop("_asst_override", None)
