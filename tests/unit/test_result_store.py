"""The eval results file: every line readable the moment it is added, synced when a run ends."""

from __future__ import annotations

from pathlib import Path

from assistant.mtpb.results import ResultStore


def _rec(i: int) -> dict[str, object]:
    return {"problem": str(i), "case": 0, "sample": 0, "mode": "multi", "verdict": {"kind": "pass"}}


def test_each_line_is_readable_at_once_and_sync_closes_the_file(tmp_path: Path) -> None:
    path = tmp_path / "out" / "r.jsonl"
    store = ResultStore.open(path)
    store.SYNC_EVERY = 3600.0  # no timed sync in this test: only flushes
    for i in range(3):
        store.add(_rec(i))
        # What a kill would leave: the lines so far, whole (flushed, not yet fsynced).
        assert len(ResultStore.open(path).records) == i + 1
    store.sync()
    assert store._fh is None
    store.add(_rec(3))  # a later run with the same store opens it again, appending
    store.sync()
    store.sync()  # twice is harmless
    again = ResultStore.open(path)
    assert sorted(again.records) == [(str(i), 0, 0, "multi") for i in range(4)]
    assert not again.dropped_torn and again.bad_lines == []


def test_a_store_without_a_file_keeps_records_in_memory_only(tmp_path: Path) -> None:
    store = ResultStore(None)
    store.add(_rec(1))
    store.sync()
    assert list(store.records) == [("1", 0, 0, "multi")] and list(tmp_path.iterdir()) == []
