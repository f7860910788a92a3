"""Startup figures: time to the TUI's first frame, and ``assistant --help`` wall time.

Run: ``.venv/bin/python bench/bench_startup.py``. Each figure is the median of several fresh
processes (imports dominate, so a warm interpreter would hide exactly what is measured).
The first-frame probe runs the real app headless; the kernel starts only after that frame.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time

RUNS = 5

FIRST_FRAME = r"""
import time
t0 = time.perf_counter()
from assistant.config import Settings
from assistant.models.scripted import ScriptedModel
from assistant.frontends.tui.app import AssistantApp
t_import = time.perf_counter() - t0

class Probe(AssistantApp):
    def _boot(self):  # measure the UI alone: no kernel
        pass

    def on_mount(self):
        super().on_mount()
        self.call_after_refresh(self._frame)

    def _frame(self):
        self.first = time.perf_counter() - t0
        self.exit()

app = Probe(Settings(), model=ScriptedModel({"turns": []}), history=[])
app.run(headless=True, size=(120, 40))
print(f"{t_import:.4f} {app.first:.4f}")
"""


def _median_wall(argv: list[str], env: dict[str, str]) -> float:
    times = []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> int:
    env = {**os.environ, "ASSISTANT_HOME": tempfile.mkdtemp(prefix="bench-home-")}
    help_s = _median_wall([sys.executable, "-m", "assistant.cli", "--help"], env)
    frames, imports, walls = [], [], []
    for _ in range(RUNS):
        t0 = time.perf_counter()
        out = subprocess.run(
            [sys.executable, "-c", FIRST_FRAME], check=True, capture_output=True, text=True, env=env
        ).stdout.split()
        walls.append(time.perf_counter() - t0)
        imports.append(float(out[-2]))
        frames.append(float(out[-1]))
    print(f"assistant --help wall time          {help_s * 1000:7.0f} ms (median of {RUNS})")
    print(f"TUI imports (in-process)            {statistics.median(imports) * 1000:7.0f} ms")
    print(f"TUI first frame (after interpreter) {statistics.median(frames) * 1000:7.0f} ms")
    print(f"TUI process start to exit           {statistics.median(walls) * 1000:7.0f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
