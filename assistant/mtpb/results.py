"""The results JSONL of ``assistant eval``: which jobs are done, one flushed line per job.

Every finished job is appended as one JSON line and flushed (then fsynced), so an interrupted
run loses at most the jobs in flight: rerunning with the same ``--out`` skips what is done. A
torn last line (a crash mid-write) is dropped on the next run. Jobs the model server failed
(``ServerError``) are kept apart, never stored: a rerun does them.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

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

    def done(self, key: Key) -> bool:
        rec = self.records.get(key)
        return rec is not None and (not self.need_upstream or "upstream_verdict" in rec)

    def add(self, rec: dict[str, Any]) -> None:
        self.records[_key(rec)] = rec
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = jsontext.dumps(rec, default=repr) + "\n"  # kernel text: lone surrogates
        # One write per line, then flush + fsync: a kill leaves at most a torn last line.
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())


def _key(rec: dict[str, Any]) -> Key:
    return (str(rec["problem"]), int(rec["case"]), int(rec["sample"]), str(rec["mode"]))
