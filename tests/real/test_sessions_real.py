"""Real models through the front ends: a TUI session (Pilot), the controller's settings, eval."""

from __future__ import annotations

import itertools
import json
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable
from tui.conftest import SIZE, settle, submit

from assistant.config import Settings
from assistant.frontends.controller import Controller
from assistant.frontends.tui.app import AssistantApp
from assistant.frontends.tui.widgets.side import SidePanel

from .conftest import NAMES, THREADS, Forced

SCRIPT = {0: "numbers = [3, 1, 2]", 1: "total = sum(numbers)", 2: "print(total)"}


def variables(app: Any) -> dict[str, tuple[str, str]]:
    table = app.query_one(SidePanel).query_one(DataTable)
    rows = [table.get_row_at(i) for i in range(table.row_count)]
    return {str(r[0]): (str(r[1]), str(r[2])) for r in rows}


@pytest.mark.kernel
@pytest.mark.tui
async def test_three_turns_in_the_tui_then_esc_cancels(real_model: Any) -> None:
    real_model.reset_cache()
    chat = real_model.name == "smollm2-135m"
    # chat models answer in a fenced block, as the engine writes earlier answers back
    script = {k: f"```python\n{v}\n```" if chat else v for k, v in SCRIPT.items()}
    model = Forced(real_model, script, endless={3})
    # The state note (on by default for chat prompts) adds its own tokens to every new turn;
    # the token bounds below are about prefix reuse, so it is off here.
    s = Settings(
        timeout=15.0,
        demo_delay=0.0,
        attempts=1,
        max_tokens=48,
        threads=THREADS,
        prompt_state=False,
    )
    app = AssistantApp(s, model=model, history=[], autosave=False)
    async with app.run_test(size=SIZE) as pilot:
        try:
            await settle(pilot, timeout=60)
            # from the GGUF's chat template
            assert app.ctl.engine.style == ("chat" if chat else "completion")
            for turn in (
                "Assign the list 3, 1, 2 to numbers.",
                "Sum them into total.",
                "Print it.",
            ):
                await submit(pilot, turn)
            turns = app.ctl.session.turns
            assert [t.status for t in turns] == ["passed"] * 3, [t.status for t in turns]
            assert [t.code for t in turns] == [SCRIPT[0], SCRIPT[1], SCRIPT[2]]
            found = variables(app)
            assert found["numbers"] == ("list", "[3, 1, 2]") and found["total"] == ("int", "6")
            stats = [model.completions[(i, 0)].stats for i in range(3)]
            for prev, st in itertools.pairwise(stats):
                # prefix reuse with the real tokenizer: only the new tokens are evaluated
                assert st.prompt_reused >= prev.prompt_tokens + prev.completion_tokens - 2, stats
                assert st.prompt_evaluated == st.prompt_tokens - st.prompt_reused
                assert st.prompt_evaluated < 40, stats
            for key in ((0, 0), (1, 0), (2, 0)):
                # one candidate: no ranker reads log-probs, so none are computed (issue 22);
                # test_backend_real.py checks them where they are asked for
                assert not model.completions[key].token_logprobs

            # a fourth turn that never ends by itself: Esc cancels it mid-stream
            before = model.chunks
            await submit(pilot, "Count forever.", wait=False)
            for _ in range(400):
                await pilot.pause(0.05)
                if model.chunks >= before + 5:
                    break
            assert model.chunks >= before + 5, "no text streamed"
            await pilot.press("escape")
            await settle(pilot, timeout=60)
            assert turns[3].status == "cancelled"
            assert model.chunks < before + 1000  # stopped long before max_tokens
            assert variables(app)["total"] == ("int", "6")  # the state survived
        finally:
            await app.ctl.close()


@pytest.mark.parametrize("name", NAMES)
async def test_controller_on_a_builtin_reports_its_settings(name: str, model_path: Any) -> None:
    model_path(name)
    s = Settings(model=name, n_ctx=1024, threads=THREADS, timeout=15.0, autosave=False)
    ctl = Controller(s, lambda e: None, autosave_enabled=False)
    await ctl.start()
    try:
        info = ctl.describe_model()
        assert (info["name"], info["n_ctx"], info["threads"]) == (name, 1024, THREADS)
        assert info["chat"] is (name == "smollm2-135m")
        assert "AVX" in info["cpu_features"] or info["cpu_features"]
    finally:
        await ctl.close()


@pytest.mark.parametrize("name", NAMES)
def test_eval_on_two_mtpb_problems(
    name: str, model_path: Any, mtpb_path: Path, tmp_path: Path
) -> None:
    from assistant.cli import main

    model_path(name)
    out = tmp_path / "results.jsonl"
    argv = ["eval", "--model", name, "--mtpb", str(mtpb_path), "--problems", "1,2", "-n", "1"]
    argv += ["--threads", str(THREADS), "--max-tokens", "40", "--out", str(out), "--jobs", "2"]
    assert main(argv) in (0, 1)  # 1: some programs failed, which a tiny model may well do
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(records) == 10  # 2 problems x 5 test cases, all graded
    assert {r["model"] for r in records} == {name}
    assert all(r["verdict"]["kind"] for r in records)
    assert any(r["cells"] for r in records)  # the model wrote code that ran
