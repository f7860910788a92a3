"""`assistant eval --model scripted:FILE` on a run whose answers are known: pass@k, ranked
pass@k, refinement and copy rates, code similarity and training export all come out right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.mtpb.solutions import all_solutions

pytestmark = pytest.mark.kernel


def _script(tmp_path: Path) -> Path:
    sols = all_solutions()
    # Problem 1: the first attempt of turn 0 raises, the second repeats it (a copy: rejected,
    # never run), the third is right. Problem 8: two candidates on the last turn, the wrong one
    # with the higher log-prob (no tests in MTPB runs, so ranking falls back to likelihood),
    # and the right one second.
    first = [["my_string = undefined_name", "my_string = undefined_name  # again", sols["1"][0]]]
    script = {
        "problems": {
            "1": {"turns": first + [[t] for t in sols["1"][1:]]},
            "8": {
                "turns": [[t] for t in sols["8"][:-1]]
                + [
                    [
                        [
                            {"code": "print(1 / 0)", "logprob": -0.1},
                            {"code": sols["8"][-1], "logprob": -2.0},
                        ]
                    ]
                ]
            },
        }
    }
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    return path


def test_scripted_eval_reports_known_figures(
    tmp_path: Path, mtpb_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    script = _script(tmp_path)
    report = tmp_path / "summary.json"
    code = main(
        [
            "eval",
            "--mtpb",
            str(mtpb_path),
            "--model",
            f"scripted:{script}",
            "--problems",
            "1,8",
            "--candidates",
            "2",
            "--refine",
            "3",
            "-k",
            "1",
            "--jobs",
            "2",
            "--out",
            str(tmp_path / "r.jsonl"),
            "--report",
            str(report),
            "--similarity",
            "--export-training",
            str(tmp_path / "train.jsonl"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    # Both problems pass every case: problem 8's failing candidate raises, so ranking (no
    # error before likelihood) picks the right one.
    assert "samples: 10/10 passed" in out
    assert "log-probs: skipped" not in out  # two candidates: the ranker reads them
    assert "ranked pass@k: @1 100.00%" in out
    # 5 programs of problem 1 each refine turn 0 once after the copy is rejected.
    assert "100.0% of those fixed" in out
    assert "copies rejected" in out
    summary = json.loads(report.read_text())
    eng = summary["modes"]["multi"]["engine"]
    # 40 turns; the 5 first turns of problem 1 fail at attempt 1 and pass at attempt 2 (the
    # rejected copies are not attempts); half of what refinements generated were copies.
    assert eng["success_per_attempt"] == [35 / 40, 1.0]
    assert eng["copies_rejected"] == 10 and eng["copy_rate"] == 0.5
    assert "success per attempt: #1 87.5%, #2 100.0%" in out
    assert summary["similarity"]["multi"]["programs"] == 10
    assert summary["similarity"]["multi"]["syntax_match"] > 0.8
    cycle = [json.loads(x) for x in (tmp_path / "train.cycle.jsonl").read_text().splitlines()]
    assert len(cycle) == 5
    assert all(r["faulty_code"] == "my_string = undefined_name" for r in cycle)
    assert all("NameError" in r["feedback"] for r in cycle)
    ranked = [json.loads(x) for x in (tmp_path / "train.ranked.jsonl").read_text().splitlines()]
    last_turn = [r for r in ranked if "1 / 0" in json.dumps(r)]
    assert len(last_turn) == 5
    assert all(r["candidates"][0]["passed"] and not r["candidates"][1]["passed"] for r in last_turn)


def test_scripted_eval_counts_no_code(
    tmp_path: Path, mtpb_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The gemma run: a turn answered with comment lines only. It must fail the
    # program (not "pass" and go on), and be counted as no code.
    sols = all_solutions()
    turns = [[t] for t in sols["1"]]
    turns[1] = ["# line 2\n# line 3"]
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"problems": {"1": {"turns": turns}}}))
    report = tmp_path / "summary.json"
    args = ["--problems", "1", "--refine", "2", "--jobs", "1", "--report", str(report)]
    code = main(["eval", "--mtpb", str(mtpb_path), "--model", f"scripted:{script}", *args])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "samples: 0/5 passed" in out
    eng = json.loads(report.read_text())["modes"]["multi"]["engine"]
    # per program: turn 0 once, turn 1 twice (both no code) -> 2 of 3 generations
    assert eng["no_code"] == 10 and eng["no_code_programs"] == 5
    assert abs(eng["no_code_rate"] - 10 / 15) < 1e-9
    assert "5 program(s) failed on a turn with no code" in out
    # one candidate: no log-probs asked for, and the summary says so (issue 22 item 6)
    assert "log-probs: skipped" in out and "--logprobs" in out
    assert json.loads(report.read_text())["logprobs"] == "skipped"
