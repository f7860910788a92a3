"""`assistant eval` on model runs: upstream's sampler with --upstream, upstream's prompt bytes,
truncation and max_gen_length in the default (engine) mode too."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.config import Settings
from assistant.models.scripted import ScriptedModel
from assistant.mtpb.problems import Problem, load_problems
from assistant.mtpb.runner import EvalOptions, ResultStore, make_jobs, run_sync

pytestmark = pytest.mark.kernel

PREFIX = "# Import libraries.\n\nimport numpy as np\n\n"

# Problem 1 (5 turns) answered by a base model that splits a def across turns, starts a turn
# with a comment (nothing kept) and runs on past the turn (cut).
SPLIT = [
    "my_string = {{A}}\n# Lowercase it.\nmy_string = 'zzz'\n",
    "def lower_it(s):\n",
    "    return s.lower()\nchars = set(lower_it(my_string))\n",
    "# sort them\nchars = sorted(chars)\n",
    "chars = sorted(chars)\nprint(chars)\nprint('done')\n",
]


@pytest.fixture(scope="module")
def probs(mtpb_path: Path) -> dict[str, Problem]:
    return load_problems(mtpb_path).by_id()


def _records(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


def test_upstream_sampler_and_grading(
    tmp_path: Path, mtpb_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = tmp_path / "split.json"
    script.write_text(json.dumps({"problems": {"1": {"turns": SPLIT}}}))
    out = tmp_path / "r.jsonl"
    argv = ["eval", "--mtpb", str(mtpb_path), "--model", f"scripted:{script}", "--problems", "1"]
    argv += ["--jobs", "1", "--out", str(out)]
    assert main([*argv, "--upstream"]) == 0
    recs = _records(out)
    assert len(recs) == 5 and {r["sampler"] for r in recs} == {"upstream"}
    for r in recs:
        # Every turn was written (upstream runs nothing in between), cut upstream's way.
        assert r["cells"][1] == "def lower_it(s):\n" and r["cells"][3] == ""
        assert r["cells"][4] == "chars = sorted(chars)\nprint(chars)\n"
        assert r["raw"][3] == SPLIT[3]
        # One exec: the def's body in the next turn runs, so upstream passes ...
        assert r["upstream_verdict"]["kind"] == "pass", r["upstream_verdict"]
        # ... while this project's cell-by-cell grading stops at the lone def.
        # (IndentationError, a SyntaxError, is what the fork runtime names precisely.)
        detail = r["verdict"]["detail"]
        assert r["verdict"]["kind"] == "error"
        assert "SyntaxError" in detail or "IndentationError: expected an indented" in detail
    assert "samples: 5/5 passed" in capsys.readouterr().out
    # The same file without --upstream would mix two samplers: refused.
    assert main(argv) == 2
    assert "--upstream" in capsys.readouterr().err


def test_default_mode_uses_upstream_prompts_and_lengths(probs: dict[str, Problem]) -> None:
    prob = probs["1"]
    turns = [
        "my_string = {{A}}\n# Lowercase it.\nmy_string = 'zzz'\n",
        "my_string = my_string.lower()  \n\n\n\nx = 1",
        "chars = set(my_string)",
        "chars = sorted(chars)\n",
        "print(chars)\nprint(1)",
    ]
    model = ScriptedModel({"turns": turns})
    store = ResultStore(None)
    jobs = make_jobs([prob], 1, ["multi"])[:1]
    run_sync(jobs, store, EvalOptions(progress=False, model_spec="s"), Settings(), model)
    rec = next(iter(store.records.values()))
    assert rec["verdict"]["kind"] == "pass"
    assert "upstream_verdict" not in rec  # upstream's own run costs a second exec: --upstream
    prompts = prob.filled_prompts(0)
    a = repr(prob.inputs[0]["A"])
    codes = [f"my_string = {a}\n", "my_string = my_string.lower()  ", "chars = set(my_string)"]
    codes += ["chars = sorted(chars)\n"]
    want = PREFIX
    for t, req in enumerate(model.requests):
        want += f"# {prompts[t]}\n"
        assert req.prompt == want, t
        assert req.max_tokens == prob.max_gen_length == 128
        if t < len(codes):
            want += codes[t] + "\n\n"
    assert len(model.requests) == 5


def test_upstream_sampler_cells_see_the_prefix_imports(probs: dict[str, Problem]) -> None:
    # The prompt told the model numpy is imported as np; this project's verdict of the same
    # cells must not fail with a NameError the harness caused.
    turns = ["my_string = {{A}}\nones = np.ones(1)\n", *SPLIT[1:3], "", SPLIT[4]]
    turns[1:3] = ["my_string = my_string.lower()\n", "chars = set(my_string)\n"]
    store = ResultStore(None)
    opts = EvalOptions(progress=False, model_spec="s", upstream=True)
    jobs = make_jobs([probs["1"]], 1, ["multi"])[:1]
    run_sync(jobs, store, opts, Settings(), ScriptedModel({"turns": turns}))
    rec = next(iter(store.records.values()))
    assert rec["verdict"]["kind"] == "pass", rec["verdict"]
    assert rec["upstream_verdict"]["kind"] == "pass", rec["upstream_verdict"]


@pytest.mark.parametrize("runtime", ["fork", "jupyter"])
def test_upstream_runs_each_program_in_fresh_folders(
    tmp_path: Path, mtpb_path: Path, runtime: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 20, defect 9: a program runs twice with --upstream (this project's verdict, then
    upstream's); each run in its own fresh folder, so files of the first never meet the second
    (nor other programs): ``os.mkdir`` and "append a line, count the lines" pass both times."""
    from assistant.mtpb.solutions import all_solutions

    turns = [[t] for t in all_solutions()["1"]]
    first = turns[0][0]
    turns[0] = [
        "import os\nos.mkdir('out')\nwith open('log.txt', 'a') as f:\n    f.write('x\\n')\n"
        "assert len(open('log.txt').read().splitlines()) == 1\n" + first
    ]
    script = tmp_path / "files.json"
    script.write_text(json.dumps({"problems": {"1": {"turns": turns}}}))
    out = tmp_path / "r.jsonl"
    argv = ["eval", "--mtpb", str(mtpb_path), "--model", f"scripted:{script}", "--problems", "1"]
    argv += ["--jobs", "2", "--out", str(out), "--runtime", runtime, "--upstream"]
    assert main(argv) == 0, capsys.readouterr()
    recs = _records(out)
    assert len(recs) == 5
    for r in recs:
        assert r["verdict"]["kind"] == "pass", r["verdict"]
        assert r["upstream_verdict"]["kind"] == "pass", r["upstream_verdict"]
