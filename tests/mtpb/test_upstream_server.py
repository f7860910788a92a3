"""``--upstream`` prompts through an ``openai:`` server are upstream's bytes (issue 20, defect
9): a server that applies the stop string drops it, and the newline upstream's cut keeps
before the next ``#`` was lost (1-4 bytes short per later turn). The stop strings are now
applied by the client, which knows which one matched. Checked on the prompts a loopback server
(``bench/fake_openai_server.py``, which applies ``stop`` like real servers) received."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.engine import prompting
from assistant.engine.truncation import upstream_truncate
from assistant.models.openai_compat import OpenAIModel
from assistant.mtpb.upstream import sample_upstream, upstream_program

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
ANSWERS = {
    "comment": "x = 1\nprint(x)\n# the next turn\ny = 2\n",
    "blank run": "x = 1\nprint(x)\n\n\n\nz = 3\n",
    "docstring": 'x = 1\n"""a docstring"""\nw = 4\n',
}


def test_prompts_through_a_server_are_upstreams_bytes(tmp_path: Path) -> None:
    turns = ["Assign 1 to x.", "Print x.", "Print x again."]
    for name, answer in ANSWERS.items():
        log = tmp_path / f"{name}.jsonl"
        cmd = [sys.executable, str(ROOT / "bench" / "fake_openai_server.py"), "--latency", "0"]
        cmd += ["--answer", answer, "--log", str(log)]
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
        try:
            assert proc.stdout is not None
            port = proc.stdout.readline().split()[1]
            model = OpenAIModel(f"http://127.0.0.1:{port}/v1", model="fake")
            codes, _ = sample_upstream(turns, model, Settings(), {"sample": 0}, 128)
            model.close()
        finally:
            proc.terminate()
            proc.communicate(timeout=10)
        code = upstream_truncate(answer)  # upstream's cut of the whole completion
        assert codes == [code] * len(turns), name
        sent = [json.loads(line)["prompt"] for line in log.read_text().splitlines()]
        want = [
            upstream_program(turns[:t], [code] * t) + prompting.upstream_turn(turns[t])
            for t in range(len(turns))
        ]
        assert sent == want, name
