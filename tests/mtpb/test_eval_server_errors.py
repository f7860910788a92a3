"""``eval`` through a server that cuts every stream: the programs are not graded (no verdict,
nothing stored), the run says why and how to fix it, and exits 1 (issue 20, defect 10)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.kernel
def test_cut_streams_are_never_graded(
    tmp_path: Path, mtpb_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cmd = [sys.executable, str(ROOT / "bench" / "fake_openai_server.py"), "--latency", "0.02"]
    proc = subprocess.Popen([*cmd, "--cut", "-1"], stdout=subprocess.PIPE, text=True)
    out = tmp_path / "r.jsonl"
    try:
        assert proc.stdout is not None
        port = proc.stdout.readline().split()[1]
        argv = ["eval", "--mtpb", str(mtpb_path), "--model", f"openai:http://127.0.0.1:{port}/v1"]
        code = main([*argv, "--problems", "1", "--jobs", "1", "--out", str(out)])
    finally:
        proc.terminate()
        proc.communicate(timeout=10)
    captured = capsys.readouterr()
    assert code == 1
    assert "5 program(s) not graded: the model server failed them" in captured.err
    assert "--concurrency 1" in captured.err and f"--out {out}" in captured.err
    assert not out.exists() or out.read_text() == ""  # no verdict stored: a rerun does them
