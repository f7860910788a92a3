"""Headless eval: resumable results file, isolation of bad programs, reference model, CLI."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import ClassVar

import pytest

from assistant.cli import main
from assistant.config import Settings
from assistant.models.base import Request
from assistant.mtpb.problems import Problem, load_problems
from assistant.mtpb.reference import ReferenceModel
from assistant.mtpb.runner import EvalOptions, ResultStore, make_jobs, run_sync


@pytest.fixture(scope="module")
def probs(mtpb_path: Path) -> dict[str, Problem]:
    return load_problems(mtpb_path).by_id()


def _lines(path: Path) -> list[dict]:
    return [json.loads(x) for x in path.read_text().splitlines() if x.strip()]


@pytest.mark.kernel
def test_eval_cli_resumes(
    tmp_path: Path, mtpb_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results.jsonl"
    report = tmp_path / "summary.json"
    argv = ["eval", "--mtpb", str(mtpb_path), "--model", "reference", "--problems", "1-3"]
    argv += ["--jobs", "2", "--out", str(out), "--report", str(report)]
    assert main(argv) == 0
    first = capsys.readouterr()
    assert "15 program(s) run" in first.out
    recs = _lines(out)
    assert len(recs) == 15
    assert {(r["problem"], r["case"]) for r in recs} == {(p, c) for p in "123" for c in range(5)}
    assert all(r["verdict"]["kind"] == "pass" for r in recs)
    summary = json.loads(report.read_text())
    assert summary["modes"]["multi"]["pass_at_k"]["1"] == 1.0

    # Simulate a crash mid-write: a torn last line, and one job lost.
    data = out.read_text().splitlines(keepends=True)
    out.write_text("".join(data[:-1]) + data[-1][:25])
    assert main(argv) == 0
    second = capsys.readouterr()
    assert "dropped a torn last line" in second.err
    assert "resuming: 14 of 15" in second.err
    assert "1 program(s) run" in second.out
    assert len(_lines(out)) == 15  # every line parses again

    assert main(argv) == 0
    assert "0 program(s) run" in capsys.readouterr().out


@pytest.mark.kernel
def test_results_of_another_model_are_refused(
    tmp_path: Path, mtpb_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "r.jsonl"
    out.write_text(
        json.dumps({"problem": "1", "case": 0, "sample": 0, "mode": "multi", "model": "x"}) + "\n"
    )
    argv = ["eval", "--mtpb", str(mtpb_path), "--model", "reference", "--problems", "1"]
    assert main([*argv, "--out", str(out)]) == 2
    assert "use another --out" in capsys.readouterr().err


class HostileModel(ReferenceModel):
    """Programs that hang, kill their kernel, raise, print nothing, or are right."""

    PROGRAMS: ClassVar[dict[str, list[str]]] = {
        "1": ["import os\nos._exit(1)\n"],
        "2": ["import time\nwhile True:\n    time.sleep(0.01)\n"],
        "3": ["1 / 0\n"],
        "4": ["x = 1\n"],
    }

    def cells(self, problem_id: str, case: int, inputs: dict | None = None) -> list[str]:
        if problem_id in self.PROGRAMS:
            return self.PROGRAMS[problem_id]
        return super().cells(problem_id, case, inputs)


@pytest.mark.kernel
def test_bad_programs_are_contained(probs: dict[str, Problem], tmp_path: Path) -> None:
    chosen = [
        replace(probs[i], inputs=probs[i].inputs[:1], outputs=probs[i].outputs[:1]) for i in "12345"
    ]
    jobs = make_jobs(chosen, 1, ["multi"])
    store = ResultStore.open(tmp_path / "r.jsonl")
    opts = EvalOptions(jobs=2, out=tmp_path / "r.jsonl", progress=False)
    settings = Settings(timeout=1.5)
    run_sync(jobs, store, opts, settings, HostileModel(problems=probs))
    kinds = {r["problem"]: r["verdict"]["kind"] for r in store.records.values()}
    assert kinds == {"1": "died", "2": "timeout", "3": "error", "4": "no_output", "5": "pass"}


@pytest.mark.kernel
def test_needs_dataset_is_reported_without_running(
    probs: dict[str, Problem], tmp_path: Path
) -> None:
    jobs = make_jobs([probs["38"]], 1, ["multi"])
    store = ResultStore(None)
    run_sync(jobs, store, EvalOptions(progress=False), Settings(), ReferenceModel(problems=probs))
    recs = list(store.records.values())
    assert len(recs) == 5
    assert {r["verdict"]["kind"] for r in recs} == {"needs_dataset"}
    assert recs[0]["verdict"]["detail"] == "./datasets/mlbootcamp5_train.csv"


@pytest.mark.kernel
def test_single_and_multi_modes_compared(
    tmp_path: Path, mtpb_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["eval", "--mtpb", str(mtpb_path), "--model", "reference", "--problems", "89,41"]
    argv += ["--mode", "both", "--out", str(tmp_path / "r.jsonl")]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "== single-turn vs multi-turn ==" in out
    assert "2/2 runnable problems pass every sample" in out
    # Upstream grading of the same results: dict (89) and None (41) outputs cannot pass.
    assert main([*argv, "--upstream"]) == 0
    up = capsys.readouterr().out
    assert "upstream-compatible" in up and "0 program(s) run" in up


@pytest.mark.unit
def test_reference_model_answers_by_meta(probs: dict[str, Problem]) -> None:
    m = ReferenceModel(problems=probs)
    code = m.generate(Request(meta={"problem": "1", "case": 1, "turn": 0})).text
    assert "abcdecadeCADE" in code
    whole = m.generate(Request(meta={"problem": "1", "case": 1, "mode": "single"})).text
    assert whole.count("\n") >= 5 and "print" in whole


@pytest.mark.kernel
@pytest.mark.asyncio
async def test_reference_model_through_the_engine(probs: dict[str, Problem]) -> None:
    from assistant.engine.engine import Engine
    from assistant.execution import Kernel
    from assistant.mtpb.grading import grade_program

    prob = probs["4"]
    model = ReferenceModel(problems=probs)
    async with Kernel(Settings().kernel_config()) as k:
        engine = Engine(model, k, Settings(attempts=1))
        results = []
        for t, text in enumerate(prob.filled_prompts(2)):
            meta = {"problem": prob.id, "case": 2, "sample": 0}
            turn = await engine.run_turn(text, print_last=t == len(prob.prompts) - 1, meta=meta)
            assert turn.status == "passed"
            results.append(turn.attempts[-1].best.result)  # type: ignore[union-attr]
    assert grade_program(results, prob.outputs[2]).passed


@pytest.mark.kernel
def test_replay_prints_turns_and_verdict(
    mtpb_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["replay", "3", "--mtpb", str(mtpb_path), "--all-cases"]) == 0
    out = capsys.readouterr().out
    assert "turn 1/3" in out and "# Write a function" in out
    assert "verdict: pass" in out and "5/5 test cases passed" in out
    assert main(["replay", "46", "--mtpb", str(mtpb_path)]) == 1
    assert "needs dataset: ./datasets/melb_data.csv" in capsys.readouterr().out


@pytest.mark.kernel
def test_mtpb_check_and_list(
    tmp_path: Path, mtpb_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["mtpb", "check", str(mtpb_path)]) == 0
    assert "115 problems loaded, 0 error(s)" in capsys.readouterr().out
    bad = tmp_path / "bad.jsonl"
    bad.write_text(mtpb_path.read_text().splitlines()[0] + "\n{oops\n")
    assert main(["mtpb", "check", str(bad)]) == 1
    assert f"error: {bad}:2: invalid JSON" in capsys.readouterr().out
    assert main(["mtpb", "list", "--mtpb", str(mtpb_path)]) == 0
    listing = capsys.readouterr().out
    assert "Sandwich string" in listing and listing.count("[needs dataset]") == 2


@pytest.mark.kernel
@pytest.mark.asyncio
async def test_eval_pool_cleans_namespace_but_keeps_capture() -> None:
    from assistant.mtpb.runner import make_pool

    pool = make_pool(1, Settings().kernel_config(), runtime="jupyter")
    await pool.start()
    try:
        async with pool.kernel() as k:
            first = k
            await k.execute("secret = 42\nIn = 'clobbered'")
        async with pool.kernel() as k:
            assert k is first  # the same process, reset in place
            res = await k.execute("print('secret' in dir(), type(In).__name__)")
            assert res.last_printed is not None and res.last_printed.value is False
            assert res.stdout.strip() == "False list"
    finally:
        await pool.close()


@pytest.mark.kernel
def test_model_runs_go_through_the_engine(probs: dict[str, Problem], tmp_path: Path) -> None:
    """A non-reference model: one Session per job, run_turn per turn, refinement on errors."""
    from assistant.models.scripted import ScriptedModel
    from assistant.mtpb import report

    ref = ReferenceModel(problems=probs)

    def respond(req: Request) -> str:
        # Problem 1, first turn, first attempt: a bug the refinement must fix.
        m = req.meta
        if (m.get("problem"), m.get("turn"), m.get("attempt"), m.get("mode")) == (
            "1",
            0,
            0,
            "multi",
        ):
            return "my_string = undefined_name\n"
        return ref._respond(req)

    model = ScriptedModel(respond, name="scripted-ref")
    chosen = [
        replace(probs[i], inputs=probs[i].inputs[:2], outputs=probs[i].outputs[:2]) for i in "13"
    ]
    jobs = make_jobs(chosen, 1, ["multi", "single"])
    store = ResultStore.open(tmp_path / "r.jsonl")
    opts = EvalOptions(jobs=2, out=tmp_path / "r.jsonl", progress=False, refine=2, model_spec="s")
    run_sync(jobs, store, opts, Settings(), model)
    recs = list(store.records.values())
    assert len(recs) == 8
    bad = [
        (r["problem"], r["mode"], r["verdict"], r["cells"], r.get("engine"))
        for r in recs
        if r["verdict"]["kind"] != "pass"
    ]
    assert not bad, bad
    multi1 = [r for r in recs if r["problem"] == "1" and r["mode"] == "multi"]
    assert all(r["engine"]["attempts"][0] == 2 for r in multi1)
    single = [r for r in recs if r["mode"] == "single"]
    assert all(len(r["cells"]) == 1 and r["engine"]["attempts"] == [1] for r in single)
    summary = report.summarize(
        recs, [1], upstream=False, modes=["multi", "single"], model="s", samples=1
    )
    eng = summary["modes"]["multi"]["engine"]
    assert eng["refinement_rate"] > 0 and eng["refinement_success_rate"] == 1.0
    text = report.format_summary(summary)
    assert "refinement:" in text and "single-turn vs multi-turn" in text
