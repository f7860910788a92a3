"""Sessions saved before ``Turn.final`` was renamed ``print_last`` still load."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.engine.session import Session

pytestmark = pytest.mark.unit


def test_old_final_key_loads_as_print_last(tmp_path: Path) -> None:
    s = Session(model="m")
    s.new_turn("a", print_last=False)
    s.new_turn("b")
    data = s.to_dict()
    for t in data["turns"]:
        t["final"] = t.pop("print_last")
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    loaded = Session.load(path)
    assert [t.print_last for t in loaded.turns] == [False, True]
