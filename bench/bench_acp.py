"""Agent mode's overhead: time from ``session/prompt`` to the first streamed chunk, against the
same turn in the REPL path.

    python bench/bench_acp.py [--model smollm2-135m | scripted] [--turns 6]

ACP: ``assistant acp`` spawned with the SDK's client; after a warm-up turn, each turn is timed
from sending ``session/prompt`` to the first ``agent_message_chunk`` the client receives (JSON
over a pipe, the agent's FIFO of updates, the engine's token event).

REPL path: a ``Controller`` in this process, as ``assistant repl`` drives it, with the same
model spec and settings; each turn is timed from ``run_turn`` to the first ``TokenChunk`` event.

Both sides run the same prompts in the same order, alternating agent and REPL turns so load
from elsewhere hits both alike; medians are printed. Goal: ACP within 10% of the REPL.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("ASSISTANT_HOME", tempfile.mkdtemp(prefix="bench-acp-"))
os.environ.setdefault("ASSISTANT_MODELS_DIR", str(ROOT / ".cache" / "models"))

PROMPTS = [
    "make a list called nums with 5, 3, 8 and 1",
    "print the largest value in nums",
    "sort nums and print it",
    "print the sum of nums",
]


class FirstChunk:
    """A client that notes when the first message chunk of the current prompt arrives."""

    def __init__(self) -> None:
        self.first: float | None = None

    def on_connect(self, conn: Any) -> None:
        pass

    async def session_update(self, session_id: str, update: Any, **kwargs: Any) -> None:
        if update.session_update == "agent_message_chunk" and self.first is None:
            self.first = time.perf_counter()

    async def request_permission(self, *args: Any, **kwargs: Any) -> Any:
        from acp.schema import AllowedOutcome, RequestPermissionResponse

        return RequestPermissionResponse(
            outcome=AllowedOutcome(outcome="selected", option_id="allow_always")
        )


async def main() -> None:
    from acp import PROTOCOL_VERSION, spawn_agent_process, text_block

    from assistant.config import Settings
    from assistant.engine.events import TokenChunk
    from assistant.frontends.controller import Controller

    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="smollm2-135m")
    parser.add_argument("--turns", type=int, default=6)
    parser.add_argument("--max-tokens", type=int, default=32)
    args = parser.parse_args()
    if args.model == "scripted":  # no model time at all: the protocol's own overhead
        script = Path(tempfile.mkdtemp(prefix="bench-acp-")) / "script.json"
        script.write_text('{"turns": ["nums = [5, 3, 8, 1]\\nprint(max(nums))"]}')
        args.model = f"scripted:{script}"

    flags = ["--max-tokens", str(args.max_tokens), "--attempts", "1", "--threads", "2"]
    settings = Settings(model=args.model, max_tokens=args.max_tokens, attempts=1, threads=2)
    env = {k: os.environ[k] for k in ("ASSISTANT_HOME", "ASSISTANT_MODELS_DIR") if k in os.environ}
    env["PYTHONPATH"] = str(ROOT)
    env["ASSISTANT_ACP_PERMISSION"] = "always"
    work = Path(tempfile.mkdtemp(prefix="bench-acp-cwd-"))

    first_token: list[float] = []

    def on_event(event: Any) -> None:
        if isinstance(event, TokenChunk) and not first_token:
            first_token.append(time.perf_counter())

    ctl = Controller(settings, on_event, autosave_enabled=False)
    await ctl.start()
    client = FirstChunk()
    command = [sys.executable, "-m", "assistant.cli", "acp", "--model", args.model, *flags]
    acp_times: list[float] = []
    repl_times: list[float] = []
    async with spawn_agent_process(client, command[0], *command[1:], env=env) as (conn, _):
        await conn.initialize(protocol_version=PROTOCOL_VERSION)
        sid = (await conn.new_session(cwd=str(work), mcp_servers=[])).session_id
        for i in range(args.turns + 1):  # the first turn of each side warms up
            text = PROMPTS[i % len(PROMPTS)]
            client.first = None
            t0 = time.perf_counter()
            await conn.prompt(session_id=sid, prompt=[text_block(text)])
            assert client.first is not None, "no chunk streamed"
            first_token.clear()
            t1 = time.perf_counter()
            await ctl.run_turn(text)
            assert first_token, "no token streamed"
            if i:
                acp_times.append(client.first - t0)
                repl_times.append(first_token[0] - t1)
    await ctl.close()
    acp, repl = statistics.median(acp_times), statistics.median(repl_times)
    print(f"model {args.model}, {args.turns} turns each, medians (under load unless quiet):")
    print(f"  ACP  session/prompt -> first agent_message_chunk: {acp * 1000:8.1f} ms")
    print(f"  REPL run_turn       -> first TokenChunk:          {repl * 1000:8.1f} ms")
    if args.model.startswith("scripted:"):  # no model time: the difference is the overhead
        print(f"  protocol overhead: {(acp - repl) * 1000:.1f} ms per prompt")
    else:
        print(f"  ratio ACP/REPL: {acp / repl:.3f} (goal <= 1.10)")
    print("  ACP  all: " + ", ".join(f"{t * 1000:.0f}" for t in acp_times))
    print("  REPL all: " + ", ".join(f"{t * 1000:.0f}" for t in repl_times))


if __name__ == "__main__":
    asyncio.run(main())
