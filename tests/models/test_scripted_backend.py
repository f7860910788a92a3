"""The scripted backend: canned answers per problem, turn, attempt and candidate."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from assistant.models import load_model
from assistant.models.base import Cancelled, Model, ModelError, Request
from assistant.models.scripted import ScriptedModel

pytestmark = pytest.mark.unit

SCRIPT = {
    "turns": [
        ["first try", "second try"],
        "every attempt",
        [["cand 0", "cand 1"], {"code": "ranked", "logprob": -1.5}],
    ],
    "problems": {"7": {"turns": ["problem seven"]}},
    "logprob": -0.25,
}


def req(**meta: object) -> Request:
    return Request(prompt="p" * 40, meta=dict(meta))


def test_lookup_by_turn_attempt_candidate_and_problem() -> None:
    m = ScriptedModel(SCRIPT)
    assert isinstance(m, Model)
    assert m.generate(req(turn=0)).text == "first try"
    assert m.generate(req(turn=0, attempt=1)).text == "second try"
    assert m.generate(req(turn=0, attempt=9)).text == "second try"  # last one repeats
    assert m.generate(req(turn=1, attempt=3)).text == "every attempt"
    assert m.generate(req(turn=2, candidate=1)).text == "cand 1"
    ranked = m.generate(req(turn=2, attempt=1))
    assert ranked.text == "ranked" and ranked.mean_logprob == -1.5
    assert m.generate(req(turn=0)).mean_logprob == -0.25
    assert m.generate(req(problem=7, turn=0)).text == "problem seven"
    assert m.generate(req(problem=8, turn=1)).text == "every attempt"  # falls back to turns
    assert len(m.requests) == 9


def test_sample_sets_candidate_and_seed() -> None:
    m = ScriptedModel(SCRIPT)
    got: dict[int, str] = {}
    out = m.sample(
        Request(seed=5, meta={"turn": 2}),
        2,
        on_text=lambda i, t: got.update({i: got.get(i, "") + t}),
    )
    assert [c.text for c in out] == ["cand 0", "cand 1"] and got == {0: "cand 0", 1: "cand 1"}
    assert [r.seed for r in m.requests] == [5, 6]


def test_streams_small_pieces() -> None:
    m = ScriptedModel({"turns": ["x = 1\nprint(x)\n"]}, chunk_size=4)
    chunks: list[str] = []
    c = m.generate(req(turn=0), on_text=chunks.append)
    assert chunks == ["x = ", "1\npr", "int(", "x)\n"]
    assert "".join(chunks) == c.text and c.stats.completion_tokens == 4


def test_cancel_stops_streaming() -> None:
    m = ScriptedModel({"turns": ["a" * 64]}, chunk_size=8)
    cancel = threading.Event()
    chunks: list[str] = []

    def on_text(t: str) -> None:
        chunks.append(t)
        cancel.set()

    with pytest.raises(Cancelled):
        m.generate(req(turn=0), on_text, cancel)
    assert chunks == ["a" * 8]


def test_responder_function() -> None:
    m = ScriptedModel(lambda r: f"echo {r.meta['turn']}")
    assert m.generate(req(turn=3)).text == "echo 3"


def test_from_file_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "s.json"
    good.write_text(json.dumps(SCRIPT))
    m = load_model(f"scripted:{good}")
    assert m.generate(req(turn=1)).text == "every attempt"
    assert m.describe()["backend"] == "scripted"

    with pytest.raises(ModelError, match=r"not found: .*missing\.json"):
        ScriptedModel.from_file(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"turns": [\n  "x",\n}')
    with pytest.raises(ModelError, match=rf"{bad}:3: invalid JSON"):
        ScriptedModel.from_file(bad)
    empty = tmp_path / "empty.json"
    empty.write_text("{}")
    with pytest.raises(ModelError, match=rf"{empty}: .*'turns' or 'problems'"):
        ScriptedModel.from_file(empty)


def test_unknown_spec() -> None:
    with pytest.raises(ModelError, match="unknown model spec"):
        load_model("gpt-17")


def test_from_file_reads_the_delay(tmp_path: Path) -> None:
    script = tmp_path / "s.json"
    script.write_text('{"turns": ["print(1)"], "delay": 0.25}')
    assert ScriptedModel.from_file(script).delay == 0.25
    script.write_text('{"turns": ["print(1)"], "delay": "slow"}')
    with pytest.raises(ModelError, match="'delay' must be a number"):
        ScriptedModel.from_file(script)
