"""`assistant demo --problem ID`: an MTPB problem played with the reference solutions."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.frontends.tui.app import AssistantApp
from assistant.frontends.tui.screens.mtpb import MtpbChoice
from assistant.mtpb.problems import load_problems

from .conftest import settings, settle


def _cli(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "assistant.cli", *argv],
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_demo_problem_plain_plays_and_grades(mtpb_path: Path) -> None:
    out = _cli(
        "demo", "--problem", "3", "--case", "2", "--plain", "--fast", "--mtpb", str(mtpb_path)
    )
    assert out.returncode == 0, out.stderr
    assert "MTPB 3:" in out.stdout
    assert "verdict: PASS · expected 117120 · actual 117120" in out.stdout


def test_demo_unknown_problem_is_a_clear_error(mtpb_path: Path) -> None:
    out = _cli("demo", "--problem", "999", "--plain", "--mtpb", str(mtpb_path), timeout=60)
    assert out.returncode == 2
    assert "no MTPB problem 999" in out.stderr


@pytest.mark.kernel
@pytest.mark.asyncio
async def test_demo_problem_autoplays_in_the_tui(mtpb_path: Path) -> None:
    problem = load_problems(mtpb_path).by_id()["3"]
    app = AssistantApp(
        settings(), autosave=False, history=[], autoplay=MtpbChoice(problem, 2, True)
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot, timeout=60)
        await settle(pilot, timeout=60)
        assert app.ctl.session.meta["mtpb"] == {"problem": "3", "case": 2}
        assert [t.status for t in app.ctl.session.turns] == ["passed"] * len(problem.prompts)
