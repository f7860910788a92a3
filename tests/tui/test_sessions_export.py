"""Sessions: autosave/resume lookup, corrupt files kept aside, notebook and script export."""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from assistant.config import Settings
from assistant.engine.session import Session, SessionCorrupt
from assistant.frontends.controller import Controller
from assistant.models.scripted import ScriptedModel
from assistant.sessions import store
from assistant.sessions.export import export_session, to_script

from .conftest import settings

REPO = Path(__file__).resolve().parents[2]


async def _session_with_turns() -> Session:
    model = ScriptedModel(
        {
            "turns": [
                ["vals = [3, 1, 2]\nprint(undefined)\n", "vals = [3, 1, 2]\n"],
                "vals.sort()\nprint(vals)\n",
                "vals[-1] * 10",
            ]
        }
    )
    ctl = Controller(settings(), lambda e: None, model=model, autosave_enabled=True)
    await ctl.start()
    try:
        for text in ("make vals", "sort and print", "ten times the largest"):
            await ctl.run_turn(text)
    finally:
        await ctl.close()
    return ctl.session


@pytest.fixture(scope="module")
def session() -> Session:
    return asyncio.run(_session_with_turns())


def test_notebook_export_has_outputs_and_runs_under_nbclient(
    session: Session, tmp_path: Path
) -> None:
    out = export_session(session, tmp_path / "s.ipynb")
    nb = nbformat.read(str(out), as_version=4)
    nbformat.validate(nb)
    code = [c for c in nb.cells if c.cell_type == "code"]
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    assert [c.source for c in md[1:]] == ["make vals", "sort and print", "ten times the largest"]
    assert code[1].outputs[0]["text"] == "[1, 2, 3]\n"
    assert code[2].outputs[0]["text"] == "30\n"
    NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    assert code[1].outputs[0]["text"] == "[1, 2, 3]\n"
    assert code[2].outputs[0]["data"]["text/plain"] == "30"


def test_script_export_runs(session: Session, tmp_path: Path) -> None:
    path = tmp_path / "s.py"
    export_session(session, path)
    assert path.read_text() == to_script(session) or path.read_text().startswith("# Session")
    run = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=True)
    assert run.stdout == "[1, 2, 3]\n"


def test_autosave_resolves_last_id_and_path(session: Session) -> None:
    path = store.session_path(session)
    assert path.exists()
    assert store.resolve("last") == path
    assert store.resolve(session.id) == path
    assert store.resolve(str(path)) == path
    loaded, _ = store.load(session.id[:15])
    assert loaded.program() == session.program()


def test_export_command_and_sessions_list(session: Session, tmp_path: Path, capsys) -> None:
    from assistant.sessions.export import list_sessions, main

    out = tmp_path / "cli.ipynb"
    args = argparse.Namespace(session=session.id, out=str(out), format=None)
    assert main(args, Settings()) == 0 and out.exists()
    assert list_sessions(argparse.Namespace(), Settings()) == 0
    assert session.id in capsys.readouterr().out


def test_corrupt_session_is_reported_and_kept_aside(tmp_path: Path, monkeypatch) -> None:
    from assistant.frontends.tui.launch import main as tui_main

    bad = tmp_path / "broken.json"
    bad.write_text('{"turns": [', encoding="utf-8")
    with pytest.raises(SessionCorrupt) as info:
        store.load(str(bad))
    assert not bad.exists() and info.value.kept_at is not None and info.value.kept_at.exists()
    bad.write_text("[1, 2]", encoding="utf-8")
    assert tui_main(argparse.Namespace(resume=str(bad)), Settings()) == 1
    assert any(p.name.startswith("broken.json.corrupt-") for p in tmp_path.iterdir())


def test_demo_plain_fast_exits_zero() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "demo", "--plain", "--fast"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "refining: attempt 2 of 3" in run.stdout
    assert "Demo finished: 4 of 4 turns passed." in run.stdout


def test_info_runs() -> None:
    run = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "info", "--model", "reference"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert "GPU support" in run.stdout and "sessions" in run.stdout


def test_training_export_of_a_session(session: Session, tmp_path: Path, capsys) -> None:
    from assistant.sessions.export import main

    out = tmp_path / "train.jsonl"
    args = argparse.Namespace(session=session.id, out=str(out), format="training")
    assert main(args, Settings()) == 0
    printed = capsys.readouterr().out
    assert "1 cycle record(s)" in printed
    rows = [json.loads(x) for x in (tmp_path / "train.cycle.jsonl").read_text().splitlines()]
    assert rows[0]["faulty_code"].startswith("vals = [3, 1, 2]\nprint(undefined)")
    assert rows[0]["fixed_code"].strip() == "vals = [3, 1, 2]"
    assert "NameError" in rows[0]["feedback"]
    assert (tmp_path / "train.ranked.jsonl").exists()
