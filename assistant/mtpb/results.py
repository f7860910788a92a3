"""The results JSONL of ``assistant eval``: which jobs are done, one flushed line per job.

Every finished job is appended as one JSON line and flushed at once, so an interrupted run (a
kill, a crash) loses at most the jobs in flight: rerunning with the same ``--out`` skips what
is done. The file is fsynced at most once a second and when the run ends (a sync per line took
~2 ms, 1.1 s of an 8 s ``eval --upstream`` of the reference programs), so a power cut loses at
most the last second. A torn last line (a crash mid-write) is dropped on the next run. Jobs the
model server failed (``ServerError``) are kept apart, never stored: a rerun does them.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from assistant import jsontext

Key = tuple[str, int, int, str]  # problem, case, sample, mode


@dataclass
class ResultStore:
    """The results JSONL: done keys on open, one flushed line per finished job."""

    path: Path | None
    records: dict[Key, dict[str, Any]] = field(default_factory=dict)
    dropped_torn: bool = False
    bad_lines: list[int] = field(default_factory=list)

    @classmethod
    def open(cls, path: Path | None) -> ResultStore:
        store = cls(path)
        if path is None or not path.exists():
            return store
        data = path.read_bytes()
        if data and not data.endswith(b"\n"):
            # A crash mid-write leaves a partial last line: cut it so appends start clean.
            cut = data.rfind(b"\n") + 1
            with path.open("r+b") as fh:
                fh.truncate(cut)
            data = data[:cut]
            store.dropped_torn = True
        for lineno, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if not line.strip():
                continue
            try:
                rec = json.loads(line)
                store.records[_key(rec)] = rec
            except (ValueError, KeyError, TypeError):
                store.bad_lines.append(lineno)
        return store

    # ``--upstream`` reports need upstream's verdict: a line graded without it is redone.
    need_upstream: bool = False
    # Jobs not graded because the model server failed them (``ServerError``: it cut the
    # completion twice): (key, message). Not stored: a rerun with the same file does them.
    server_errors: list[tuple[Key, str]] = field(default_factory=list)
    _fh: IO[str] | None = field(default=None, repr=False)
    _synced: float = 0.0  # time.monotonic() of the last fsync

    # Seconds between two fsyncs of the file (each line is flushed at once regardless).
    SYNC_EVERY = 1.0

    def done(self, key: Key) -> bool:
        rec = self.records.get(key)
        return rec is not None and (not self.need_upstream or "upstream_verdict" in rec)

    def add(self, rec: dict[str, Any]) -> None:
        self.records[_key(rec)] = rec
        if self.path is None:
            return
        line = jsontext.dumps(rec, default=repr) + "\n"  # kernel text: lone surrogates
        if self._fh is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fh = self.path.open("a", encoding="utf-8")
            self._synced = time.monotonic()
        # One write per line, flushed: a kill leaves at most a torn last line.
        self._fh.write(line)
        self._fh.flush()
        if time.monotonic() - self._synced >= self.SYNC_EVERY:
            self.sync()

    def sync(self) -> None:
        """Everything added is on disk (fsync); the file is closed (the next ``add`` opens
        it again). ``run_eval`` calls it when it ends, however it ends."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        try:
            fh.flush()
            os.fsync(fh.fileno())
        finally:
            fh.close()
            self._synced = time.monotonic()


def _key(rec: dict[str, Any]) -> Key:
    return (str(rec["problem"]), int(rec["case"]), int(rec["sample"]), str(rec["mode"]))
