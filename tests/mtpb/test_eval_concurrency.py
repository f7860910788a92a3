"""``eval --concurrency N`` keeps a server backend busy; in-process models stay serial.

The server is ``bench/fake_openai_server.py``, a real loopback HTTP server that streams SSE and
serves requests on their own threads with a fixed latency (what vLLM or llama-server with
parallel slots look like from the client): latency-dominated, so the margin is wide.
"""

from __future__ import annotations

import contextlib
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistant.cli import main
from assistant.mtpb.engine_run import _SerialModel

pytestmark = [pytest.mark.kernel, pytest.mark.llama]

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def fake_server(peak: list[int]) -> Iterator[str]:
    cmd = [sys.executable, str(ROOT / "bench" / "fake_openai_server.py"), "--latency", "0.25"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        ready = proc.stdout.readline().split()
        assert ready and ready[0] == "ready", ready
        yield f"http://127.0.0.1:{ready[1]}/v1"
    finally:
        proc.send_signal(signal.SIGINT)  # it reports how many requests it had in flight
        _, err = proc.communicate(timeout=10)
    peak.append(int(err.rsplit("peak in flight", 1)[1].split()[0]))


@pytest.mark.slow
def test_concurrency_8_is_faster_than_1(
    mtpb_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    walls: dict[int, float] = {}
    peaks: dict[int, int] = {}
    for n in (1, 8):
        peak: list[int] = []
        with fake_server(peak) as url:
            argv = ["eval", "--mtpb", str(mtpb_path), "--model", f"openai:{url}"]
            argv += ["--problems", "1-2", "--jobs", "2", "--concurrency", str(n)]
            t0 = time.perf_counter()
            assert main(argv) == 0
            walls[n] = time.perf_counter() - t0
        assert "10 program(s) run" in capsys.readouterr().out
        peaks[n] = peak[0]
    assert peaks[1] == 1  # one request at a time
    assert peaks[8] >= 4, peaks
    # ~50 turns of 0.25 s each: ~12 s one at a time; 8 in flight is several times faster.
    assert walls[8] < 0.5 * walls[1], walls


class _Probe:
    """A model that records how many generations overlap."""

    def __init__(self, concurrent: bool) -> None:
        if concurrent:
            self.concurrent_requests = True
        self.active = self.peak = 0
        self._lock = threading.Lock()

    def generate(self, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            self.active += 1
            self.peak = max(self.peak, self.active)
        time.sleep(0.1)
        with self._lock:
            self.active -= 1


@pytest.mark.parametrize("concurrent", [False, True])
def test_only_server_backends_generate_concurrently(concurrent: bool) -> None:
    probe = _Probe(concurrent)
    model = _SerialModel(probe)
    threads = [threading.Thread(target=model.generate) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert probe.peak == (4 if concurrent else 1)


def test_openai_backend_is_concurrent_llama_is_not() -> None:
    from assistant.models.llama import LlamaModel
    from assistant.models.openai_compat import OpenAIModel

    assert OpenAIModel.concurrent_requests is True
    assert not getattr(LlamaModel, "concurrent_requests", False)
