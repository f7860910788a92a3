"""``assistant acp``: speak the Agent Client Protocol on stdin/stdout until the client leaves.

Only protocol messages may reach stdout. The real stdout is kept on a private descriptor for
the protocol, and descriptor 1 is pointed at stderr before anything else runs, so a stray print,
llama.cpp's C-level logging or a child process's output can never corrupt the stream. The app's
log goes to its log file (``--log-file`` or the state folder), as in the TUI.

When the client closes stdin (or sends SIGTERM, as the SDK does after a grace period), every
turn is cancelled and every kernel is shut down before the process exits.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from typing import IO, cast

from assistant.config import Settings

log = logging.getLogger(__name__)


def _protocol_stdout() -> IO[bytes]:
    """The real stdout for the protocol; fd 1 (and sys.stdout) now write to stderr."""
    sys.stdout.flush()
    private = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return os.fdopen(private, "wb", buffering=0)


async def _streams(out: IO[bytes]) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=50 * 1024 * 1024)  # embedded files can be large
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, out)
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    return reader, writer


async def serve(settings: Settings, out: IO[bytes]) -> None:
    from acp import run_agent
    from acp.interfaces import Agent

    from assistant.frontends.acp.agent import AssistantAgent

    agent = AssistantAgent(settings)
    task = asyncio.current_task()
    loop = asyncio.get_running_loop()
    closing: list[asyncio.Future[None]] = []

    def on_sigterm() -> None:  # stop serving; once the clean-up runs, let it finish
        if task is not None and not closing:
            task.cancel()

    with contextlib.suppress(NotImplementedError, RuntimeError):
        loop.add_signal_handler(signal.SIGTERM, on_sigterm)
    reader, writer = await _streams(out)
    try:
        # The SDK routes by method name and answers "method not found" for the optional
        # methods this agent leaves out, so it needs no stub for each of them.
        await run_agent(cast("Agent", agent), writer, reader)
    except asyncio.CancelledError:
        pass  # SIGTERM: fall through to the clean-up
    except (ConnectionError, OSError) as exc:  # the client went away mid-write: a normal end
        log.info("the client went away (%s); closing the sessions", exc)
    finally:
        closing.append(asyncio.ensure_future(agent.close()))
        while not closing[0].done():
            # A SIGTERM that came while the client's stdin closed (the SDK sends one after
            # its grace period) cancels nothing now: the kernels are shut down all the same.
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.shield(closing[0])
        if not closing[0].cancelled() and closing[0].exception() is not None:
            # a kernel that would not shut down cleanly: the reaper has it
            log.error("closing the sessions failed: %r", closing[0].exception())


def main(args: argparse.Namespace, settings: Settings) -> int:
    from assistant.logs import log_app_to_file

    out = _protocol_stdout()
    log_app_to_file()
    asyncio.run(serve(settings, out))
    # Every kernel is shut down: a SIGTERM from a client that did not wait for the
    # interpreter's teardown must not turn a clean exit into a death by signal.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    return 0
