"""The openai backend against a real ``python -m llama_cpp.server`` on the tiny GGUF.

One small stand-in HTTP server (not a model server) answers 503/401 on purpose: that is the
only way to check the retry and error-message policy deterministically.
"""

from __future__ import annotations

import http.server
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.models import load_model
from assistant.models.base import Cancelled, ModelError, Request, ServerError
from assistant.models.openai_compat import OpenAIModel, import_httpx
from assistant.models.tiny_gguf import exact_grammar


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def server(tiny_gguf: Path) -> Iterator[str]:
    port = _port()
    cmd = [sys.executable, "-m", "llama_cpp.server", "--model", str(tiny_gguf)]
    cmd += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "512"]
    cmd += ["--n_threads", "1", "--n_threads_batch", "1"]
    proc = subprocess.Popen(
        cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ}
    )
    url = f"http://127.0.0.1:{port}/v1"
    httpx = import_httpx()
    deadline = time.monotonic() + 60
    try:
        while True:
            if proc.poll() is not None:
                err = proc.stderr.read().decode() if proc.stderr else ""
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}: {err[-2000:]}")
            try:
                if httpx.get(f"{url}/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail("llama_cpp.server did not become ready in 60 s")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def remote(server: str) -> Iterator[OpenAIModel]:
    m = OpenAIModel(server)
    yield m
    m.close()


@pytest.mark.llama
def test_streams_a_completion(remote: OpenAIModel) -> None:
    chunks: list[str] = []
    c = remote.generate(
        Request(prompt="x = ", max_tokens=12, temperature=1.0, seed=1), on_text=chunks.append
    )
    assert len(chunks) > 3 and "".join(chunks) == c.text
    assert c.finish_reason in ("length", "stop")
    assert 0 < c.stats.time_to_first_token <= c.stats.total_time
    # llama-cpp-python's server sends log-probs of the sampled tokens
    assert len(c.token_logprobs) == c.stats.completion_tokens > 0
    assert all(lp <= 0 for lp in c.token_logprobs)


@pytest.mark.llama
def test_grammar_reaches_the_server_and_stops_are_applied_here(remote: OpenAIModel) -> None:
    req = Request(prompt="x", max_tokens=30, grammar=exact_grammar("ab STOP cd"), stop=["STOP"])
    c = remote.generate(req)
    assert c.text == "ab "
    assert c.finish_reason == "stop" and c.stop == "STOP"  # known: the client applied it


@pytest.mark.llama
def test_chat_messages_use_the_chat_endpoint(remote: OpenAIModel) -> None:
    msgs = [{"role": "user", "content": "hi"}]
    c = remote.generate(Request(messages=msgs, max_tokens=20, grammar=exact_grammar("x = 1")))
    assert c.text == "x = 1"
    assert c.token_logprobs and all(lp <= 0 for lp in c.token_logprobs)


@pytest.mark.llama
def test_n_candidates_with_different_seeds(remote: OpenAIModel) -> None:
    streamed: dict[int, list[str]] = {}
    req = Request(prompt="def f():\n", max_tokens=10, temperature=1.0, seed=11)
    cands = remote.sample(req, 3, on_text=lambda i, t: streamed.setdefault(i, []).append(t))
    assert len(cands) == 3
    assert len({c.text for c in cands}) > 1
    assert {i: "".join(v) for i, v in streamed.items()} == {i: c.text for i, c in enumerate(cands)}
    # the server honours seeds: the same request gives candidate 0 again
    assert remote.generate(req).text == cands[0].text


@pytest.mark.llama
def test_cancel_drops_the_stream(remote: OpenAIModel) -> None:
    cancel = threading.Event()
    seen: list[str] = []

    def on_text(t: str) -> None:
        seen.append(t)
        if len(seen) == 2:
            cancel.set()

    with pytest.raises(Cancelled):
        remote.generate(Request(prompt="x", max_tokens=400, temperature=1.0), on_text, cancel)
    assert len(seen) == 2
    again = remote.generate(Request(prompt="x", max_tokens=3))  # the client still works
    assert again.finish_reason in ("length", "stop") and again.stats.completion_tokens > 0


@pytest.mark.llama
def test_model_name_is_taken_from_the_server(remote: OpenAIModel, tiny_gguf: Path) -> None:
    remote.generate(Request(prompt="x", max_tokens=1))
    assert remote.model == str(tiny_gguf)
    assert remote.describe()["backend"] == "openai"


@pytest.mark.unit
def test_server_down_says_so(unused_port: int) -> None:
    url = f"http://127.0.0.1:{unused_port}/v1"
    m = load_model(f"openai:{url}#tiny", retries=1, backoff=0.01, n_ctx=4096)
    t0 = time.monotonic()
    with pytest.raises(ModelError, match="is the server running at") as err:
        m.generate(Request(prompt="x"))
    assert url in str(err.value) and "2 attempts" in str(err.value)
    assert time.monotonic() - t0 < 5


class _Flaky(http.server.BaseHTTPRequestHandler):
    """Prompt "flaky": 503 twice, then a stream. "no-logprobs": 500 when log-probs are asked.
    Chat: 401."""

    calls = 0

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
        if self.path.endswith("/chat/completions"):
            self._send(401, b'{"error": {"message": "bad key"}}', "application/json")
            return
        if body["prompt"] == "flaky":
            type(self).calls += 1
            if type(self).calls <= 2:
                self._send(503, b'{"error": {"message": "loading model"}}', "application/json")
                return
        if body["prompt"] == "no-logprobs" and "logprobs" in body:
            self._send(500, b'{"error": {"message": "no logprobs here"}}', "application/json")
            return
        event = {"choices": [{"index": 0, "text": "ok", "finish_reason": "stop"}]}
        data = f"data: {json.dumps(event)}\n\ndata: [DONE]\n\n".encode()
        self._send(200, data, "text/event-stream")

    def _send(self, status: int, body: bytes, ctype: str) -> None:
        self.send_response(status)
        self.send_header("content-type", ctype)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[str]:
    _Flaky.calls = 0
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=srv.serve_forever, args=(0.05,), daemon=True).start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/v1"
    srv.shutdown()
    srv.server_close()


@pytest.mark.unit
def test_503_is_retried_with_backoff(flaky: str) -> None:
    m = OpenAIModel(flaky, model="m", retries=2, backoff=0.05)
    t0 = time.monotonic()
    assert m.generate(Request(prompt="flaky", logprobs=False)).text == "ok"
    assert _Flaky.calls == 3
    assert time.monotonic() - t0 >= 0.05 + 0.1  # two waits: 0.05 s then 0.1 s


@pytest.mark.unit
def test_retries_are_bounded(flaky: str) -> None:
    m = OpenAIModel(flaky, model="m", retries=1, backoff=0.01)
    with pytest.raises(ModelError, match="HTTP 503: loading model"):
        m.generate(Request(prompt="flaky", logprobs=False))
    assert _Flaky.calls == 2


@pytest.mark.unit
def test_401_names_the_api_key(flaky: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    m = OpenAIModel(flaky, model="m", retries=3, backoff=0.01)
    assert m.api_key == "sk-test"
    with pytest.raises(ModelError, match="OPENAI_API_KEY"):
        m.generate(Request(messages=[{"role": "user", "content": "hi"}]))


@pytest.mark.unit
def test_server_without_logprobs_is_asked_again_without(flaky: str) -> None:
    m = OpenAIModel(flaky, model="m")
    c = m.generate(Request(prompt="no-logprobs"))
    assert c.text == "ok" and c.token_logprobs == []
    assert m.generate(Request(prompt="no-logprobs")).text == "ok"  # remembered: no 500 now


@pytest.mark.llama
def test_concurrent_requests_never_return_a_cut_stream(server: str) -> None:
    """llama-cpp-python's server (default settings) cuts a running request when another
    arrives and still ends its stream with ``[DONE]``. Four requests at once: each gives the
    whole forced text or a ServerError naming the fix, never the cut part (issue 20, 10)."""
    from concurrent.futures import ThreadPoolExecutor

    text = "def f(x):\n    return x + 1\n" * 6
    m = OpenAIModel(server, model="tiny")
    start = threading.Barrier(4)

    def ask(i: int) -> str:
        start.wait()
        req = Request(prompt=f"p{i}", max_tokens=400, grammar=exact_grammar(text))
        req.logprobs = False
        try:
            return m.generate(req).text
        except ServerError as exc:
            return f"server error: {exc}"

    with ThreadPoolExecutor(4) as pool:
        got = list(pool.map(ask, range(4)))
    m.close()
    assert m.cut_streams >= 1, "no request overlapped another: the test proved nothing"
    for g in got:
        if g.startswith("server error"):
            assert "--concurrency 1" in g and "--interrupt_requests False" in g
        else:
            assert g == text
