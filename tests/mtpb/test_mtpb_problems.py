"""Loading and validating mtpb.jsonl, filling prompts like upstream, finding the data file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.mtpb import problems as P
from assistant.mtpb.problems import (
    DataNotFound,
    fill_prompt,
    load_problems,
    parse_ids,
    placeholders,
    resolve_path,
)


def _line(**over: object) -> str:
    base = {
        "id": "1",
        "name": "n",
        "description": "d",
        "category": "string",
        "prompts": ["Assign {A} to a.", "Print a."],
        "inputs": [{"A": i} for i in range(5)],
        "outputs": list(range(5)),
        "max_gen_length": 128,
    }
    base.update(over)
    return json.dumps({k: v for k, v in base.items() if v is not _DROP})


_DROP = object()


@pytest.mark.unit
def test_real_data_loads(mtpb_path: Path) -> None:
    res = load_problems(mtpb_path)
    assert res.errors == []
    assert len(res.problems) == 115
    assert [p.num for p in res.problems] == list(range(1, 116))
    by = res.by_id()
    assert {p.id for p in res.problems if p.datasets()} == {"38", "46"}
    assert by["38"].datasets() == ["./datasets/mlbootcamp5_train.csv"]
    # Problem 57 has 6 outputs for 5 inputs: upstream zips them, so the extra one is dropped.
    assert len(by["57"].outputs) == 5 and any(":57:" in w for w in res.warnings)
    # 7 lines have no max_gen_length: upstream's sampler default (256) applies.
    raw = [json.loads(line) for line in mtpb_path.read_text().splitlines()]
    absent = [str(r["id"]) for r in raw if "max_gen_length" not in r]
    assert len(absent) == 7 and all(by[i].max_gen_length == 256 for i in absent)
    types = {type(o).__name__ for p in res.problems for o in p.outputs}
    assert types == {"int", "list", "str", "float", "bool", "dict", "NoneType"}


@pytest.mark.unit
def test_malformed_lines_report_file_and_line_and_rest_loads(tmp_path: Path) -> None:
    lines = [
        _line(id="1"),
        "{not json",
        _line(id="3", name=_DROP),
        _line(id="4", prompts="Assign."),
        _line(id="5", outputs=[1, 2]),
        _line(id="6", prompts=["Use {B} here."]),
        _line(id="7", max_gen_length=-3),
        _line(id="1"),
        "",
        _line(id="9", inputs=[1, 2, 3, 4, 5]),
        _line(id="10"),
    ]
    f = tmp_path / "bad.jsonl"
    f.write_text("\n".join(lines) + "\n")
    res = load_problems(f)
    assert [p.id for p in res.problems] == ["1", "10"]
    text = "\n".join(res.errors)
    assert f"{f}:2: invalid JSON" in text
    assert f"{f}:3: missing field 'name'" in text
    assert f"{f}:4: field 'prompts' must be a list of strings, got str" in text
    assert f"{f}:5: 5 inputs but 2 outputs" in text
    assert f"{f}:6: prompts[0] uses {{B}} but inputs[0] has only ['A']" in text
    assert f"{f}:7: field 'max_gen_length' must be a positive integer" in text
    assert f"{f}:8: duplicate id 1 (first on line 1)" in text
    assert f"{f}:10: inputs[0] must be an object" in text
    assert all(e.startswith(f"{f}:") for e in res.errors)
    assert res.problems[0].line == 1 and res.problems[1].line == 11


@pytest.mark.unit
def test_unused_input_is_a_warning_and_bad_template_an_error(tmp_path: Path) -> None:
    f = tmp_path / "m.jsonl"
    f.write_text(
        _line(id="1", prompts=["Only text."]) + "\n" + _line(id="2", prompts=["Broken {A"]) + "\n"
    )
    res = load_problems(f)
    assert [p.id for p in res.problems] == ["1"]
    assert any("no prompt uses" in w and ":1:" in w for w in res.warnings)
    assert any(f"{f}:2: prompts[0] is not a valid template" in e for e in res.errors)


@pytest.mark.unit
def test_fill_prompt_is_upstream_str_format() -> None:
    inputs = {"A": [1, 2], "s": "abc", "x": 1.5, "d": {"k": (1, 2)}, "n": None}
    assert fill_prompt("v = {A}", inputs) == "v = [1, 2]"
    assert fill_prompt('s = "{s}"', inputs) == 's = "abc"'  # str, not repr
    assert fill_prompt("{x} {d} {n}", inputs) == "1.5 {'k': (1, 2)} None"
    assert fill_prompt('Use "{{:.1f}}" with {x}', inputs) == 'Use "{:.1f}" with 1.5'
    assert placeholders("a {A} b {{not}} {s}") == {"A", "s"}


@pytest.mark.unit
def test_filled_prompts_of_real_problem(mtpb_path: Path) -> None:
    by = load_problems(mtpb_path).by_id()
    first = by["1"].filled_prompts(1)[0]
    assert first == 'Assign the string "abcdecadeCADE" to a variable named "my_string".'
    assert '"{:.1f} {:.1f}"' in by["46"].filled_prompts(0)[-1]


@pytest.mark.unit
def test_resolve_path_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    own = tmp_path / "own.jsonl"
    own.write_text(_line() + "\n")
    assert resolve_path(str(own)) == own
    with pytest.raises(DataNotFound, match="not found"):
        resolve_path(str(tmp_path / "missing.jsonl"))
    cache = tmp_path / "cache" / "mtpb.jsonl"
    shared = tmp_path / "shared.jsonl"
    monkeypatch.setattr(P, "cached_copy", lambda: cache)
    monkeypatch.setattr(P, "shared_copy", lambda: shared)
    with pytest.raises(DataNotFound, match="assistant mtpb download") as err:
        resolve_path(None)
    assert "--mtpb" in str(err.value)
    shared.write_text("x")
    assert resolve_path(None) == shared
    cache.parent.mkdir()
    cache.write_text("x")
    assert resolve_path(None) == cache


@pytest.mark.unit
def test_default_shared_copy_is_beside_the_repo(mtpb_path: Path) -> None:
    assert P.shared_copy() == mtpb_path


@pytest.mark.unit
def test_parse_ids() -> None:
    known = [str(i) for i in range(1, 116)]
    assert parse_ids(None, known) == known
    assert parse_ids("1-3,42, 7", known) == ["1", "2", "3", "7", "42"]
    with pytest.raises(ValueError, match="unknown problem ids: 200"):
        parse_ids("199-200", [*known, "199"])
    with pytest.raises(ValueError, match="bad problem range"):
        parse_ids("a-b", known)


@pytest.mark.unit
def test_truncated_line_is_reported_where_it_ends_and_rejected_lines_get_no_warnings(
    tmp_path: Path,
) -> None:
    whole = _line(id="2")
    cut = whole[:40]
    f = tmp_path / "m.jsonl"
    # line 2 is cut off; line 3 has an unused input (a warning) and a bad template (an error)
    bad = _line(id="3", prompts=["Broken {A", "Only text."], inputs=[{"A": 1, "Z": 2}] * 5)
    f.write_text(_line(id="1") + "\n" + cut + "\n" + bad + "\n")
    res = load_problems(f)
    assert [p.id for p in res.problems] == ["1"]
    truncated = [e for e in res.errors if e.startswith(f"{f}:2:")]
    assert len(truncated) == 1
    assert f"at column {len(cut) + 1}" in truncated[0] and "truncated" in truncated[0]
    assert "column 1)" not in truncated[0] and "column 1:" not in truncated[0]
    assert any(e.startswith(f"{f}:3:") for e in res.errors)
    assert res.warnings == []  # line 3 was rejected: its errors only


@pytest.mark.kernel
def test_eval_after_skipping_malformed_lines_exits_3(
    tmp_path: Path, mtpb_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from assistant.cli import main

    good = mtpb_path.read_text(encoding="utf-8").splitlines()[0]
    data = tmp_path / "mtpb.jsonl"
    data.write_text(good + "\n" + good[:50] + "\n", encoding="utf-8")
    code = main(
        ["eval", "--mtpb", str(data), "--model", "reference", "--out", str(tmp_path / "r.jsonl")]
    )
    captured = capsys.readouterr()
    assert code == 3
    assert "samples: 5/5 passed" in captured.out  # the good line was still graded
    assert "1 malformed line(s) of the MTPB data were skipped" in captured.err
