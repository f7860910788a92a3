"""The openai backend's stream rules against ``bench/fake_openai_server.py`` on loopback: a
stream cut by the server is retried once and then reported, never taken as the model's answer
(issue 20, defect 10); stop sequences are applied by the client, so the one that matched is
known and MTPB's exact prompt bytes survive a server (defect 9)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.models.base import Request, ServerError
from assistant.models.openai_compat import OpenAIModel

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
ANSWER = "x = 1\nprint(x)\n# the end\nmore = 2\n"


@contextlib.contextmanager
def fake(*args: str) -> Iterator[str]:
    cmd = [sys.executable, str(ROOT / "bench" / "fake_openai_server.py"), "--latency", "0.05"]
    cmd += ["--tokens", "12", "--answer", ANSWER, *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().split()
        assert ready and ready[0] == "ready", ready
        yield f"http://127.0.0.1:{ready[1]}/v1"
    finally:
        proc.terminate()
        proc.communicate(timeout=10)


def test_a_cut_stream_is_asked_again_and_shown_once() -> None:
    shown: list[str] = []
    with fake("--cut", "1") as url:
        m = OpenAIModel(url, model="fake")
        c = m.generate(Request(prompt="p", logprobs=False), shown.append)
        m.close()
    assert c.text == ANSWER and c.finish_reason == "stop"
    assert "".join(shown) == ANSWER  # the cut half was not shown twice
    assert m.cut_streams == 1


def test_a_stream_cut_twice_is_a_server_error_that_names_the_fix() -> None:
    with fake("--cut", "-1") as url:
        m = OpenAIModel(url, model="fake")
        with pytest.raises(ServerError) as err:
            m.generate(Request(prompt="p", logprobs=False))
        m.close()
    msg = str(err.value)
    assert "cut the completion twice" in msg and "without a finish reason" in msg
    assert "--concurrency 1" in msg and "--interrupt_requests False" in msg
    assert m.cut_streams == 2


def test_stops_are_applied_here_and_the_matched_one_is_known(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with fake("--log", str(log)) as url:
        m = OpenAIModel(url, model="fake")
        c = m.generate(Request(prompt="p", stop=["\n#", "\n\n\n"], logprobs=False))
        m.close()
    # The server is never asked to stop (it would drop "\n#" without saying so)...
    assert "stop" not in json.loads(log.read_text().splitlines()[0])
    # ... so the text ends before the stop and the stop is known: MTPB puts it back.
    assert c.text == "x = 1\nprint(x)" and c.stop == "\n#" and c.finish_reason == "stop"


def test_log_probs_are_asked_for_only_when_wanted(tmp_path: Path) -> None:
    log = tmp_path / "requests.jsonl"
    with fake("--log", str(log)) as url:
        m = OpenAIModel(url, model="fake")
        m.generate(Request(prompt="a", logprobs=False))
        m.generate(Request(prompt="b", logprobs=True))
        m.generate(Request(messages=[{"role": "user", "content": "c"}], logprobs=False))
        m.close()
    bodies = [json.loads(line) for line in log.read_text().splitlines()]
    assert ["logprobs" in b for b in bodies] == [False, True, False]
