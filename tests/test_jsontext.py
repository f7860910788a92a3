"""Kernel text with lone surrogates is written as JSON that UTF-8 holds and reads back equal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant import jsontext
from assistant.mtpb.runner import ResultStore

pytestmark = pytest.mark.unit


def test_lone_surrogates_round_trip_and_the_rest_stays_readable() -> None:
    value = {"out": "a\ud800 b\udcff ü 😀", "k\udfff": [1, "\ud83d"]}
    text = jsontext.dumps(value)
    text.encode("utf-8")  # would raise with plain ensure_ascii=False
    assert "ü 😀" in text and "\\ud800" in text
    assert json.loads(text) == value


def test_eval_results_store_keeps_a_record_with_surrogates(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    store = ResultStore.open(path)
    rec = {"problem": "1", "case": 0, "sample": 0, "mode": "multi", "stdout": "\ud800\n"}
    store.add(rec)
    again = ResultStore.open(path)
    assert list(again.records.values()) == [rec] and again.bad_lines == []
