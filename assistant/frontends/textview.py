"""Engine events as plain text lines: the ``demo --plain`` output and the REPL's transcript.

Tokens are buffered and the code is printed once it is ready (``CodeReady``), so a line-mode
front end shows whole, highlightable code blocks instead of interleaved fragments.
"""

from __future__ import annotations

import difflib
import sys
from collections.abc import Callable
from typing import Any

from assistant.engine import events
from assistant.execution.result import ExecResult

if sys.version_info >= (3, 11):
    from typing import assert_never
else:
    from typing_extensions import assert_never

Write = Callable[[str], None]
WriteCode = Callable[[str], None]


def badge(passed: bool | None, attempt: int = 0, max_attempts: int = 1) -> str:
    if passed is None:
        return "running" if attempt == 0 else f"refining: attempt {attempt + 1} of {max_attempts}"
    return "passed" if passed else "failed"


def diff_lines(before: str, after: str) -> list[str]:
    lines = difflib.unified_diff(
        before.splitlines(), after.splitlines(), "previous", "this attempt", lineterm="", n=1
    )
    return list(lines)


def result_lines(result: ExecResult) -> list[str]:
    out: list[str] = []
    if result.stdout:
        out += result.stdout.rstrip("\n").splitlines()
    if result.stderr:
        out += ["[stderr] " + ln for ln in result.stderr.rstrip("\n").splitlines()]
    out += result.display
    if result.error is not None:
        out += result.error.short_traceback().splitlines() or [result.error.summary()]
    elif result.status != "ok":
        out.append(f"[{result.status}] {result.message}")
    if result.restarted:
        out.append("[kernel restarted: all variables are gone]")
    return out


class TextView:
    """Turns events into lines; ``write_code`` lets the REPL highlight code blocks."""

    def __init__(self, write: Write, write_code: WriteCode | None = None) -> None:
        self.write = write
        self.write_code = write_code or self._indented
        self.last_code: dict[int, str] = {}  # turn -> code of the previous attempt
        self.max_attempts = 1
        # The user cancelled an input() prompt (Ctrl+C / Ctrl+D): the cell's interrupt is
        # their doing, shown as such, not as the kernel's traceback.
        self.input_cancelled = False

    def _indented(self, code: str) -> None:
        for line in code.splitlines():
            self.write("    " + line)

    def __call__(self, event: events.EngineEvent) -> None:
        """The controller's ``on_event``."""
        self.show(event)

    def show(self, e: events.EngineEvent) -> None:
        # Exhaustive: an event type added to EngineEvent is a type error here until handled.
        match e:
            case events.TurnStarted():
                self.on_TurnStarted(e)
            case events.AttemptStarted():
                self.on_AttemptStarted(e)
            case events.CodeReady():
                self.on_CodeReady(e)
            case events.CopyRejected():
                self.on_CopyRejected(e)
            case events.ExecutionFinished():
                self.on_ExecutionFinished(e)
            case events.CheckFinished():
                self.on_CheckFinished(e)
            case events.CandidatesRanked():
                self.on_CandidatesRanked(e)
            case events.StateRestored():
                self.on_StateRestored(e)
            case events.TurnCommitted():
                self.on_TurnCommitted(e)
            case events.TurnFailed():
                self.on_TurnFailed(e)
            case events.Notice():
                self.on_Notice(e)
            # Tokens wait for CodeReady; "running" needs no line; input() is the REPL's prompt.
            case events.TokenChunk() | events.ExecutionStarted() | events.InputRequested():
                pass
            case _:
                assert_never(e)

    def on_TurnStarted(self, e: events.TurnStarted) -> None:
        self.input_cancelled = False
        self.write("")
        self.write(f">>> [{e.turn + 1}] {e.text}")

    def on_AttemptStarted(self, e: events.AttemptStarted) -> None:
        self.max_attempts = e.max_attempts
        if e.attempt > 0:
            self.write(f"--- {badge(None, e.attempt, e.max_attempts)} ---")
            if e.feedback:
                self.write("told: " + e.feedback.strip().splitlines()[-1])

    def on_CodeReady(self, e: events.CodeReady) -> None:
        if e.candidate > 0:
            self.write(f"candidate {e.candidate + 1}:")
        before = self.last_code.get(e.turn)
        if e.attempt > 0 and before is not None and e.candidate == 0:
            self.write("diff against the previous attempt:")
            for ln in diff_lines(before, e.code)[2:]:
                self.write("    " + ln)
        else:
            self.write_code(e.code)
        if e.candidate == 0:
            self.last_code[e.turn] = e.code

    def on_CopyRejected(self, e: events.CopyRejected) -> None:
        self.write(f"copy rejected: same code as attempt {e.copies_attempt + 1}")

    def on_ExecutionFinished(self, e: events.ExecutionFinished) -> None:
        err = e.result.error
        if self.input_cancelled and (
            e.result.status == "interrupted"
            or (err is not None and err.ename == "KeyboardInterrupt")
        ):
            out = e.result.stdout.rstrip("\n")
            for ln in [*(out.splitlines() if out else []), "input() cancelled: the code stopped"]:
                self.write("  | " + ln)
            return
        for ln in result_lines(e.result):
            self.write("  | " + ln)

    def on_CheckFinished(self, e: events.CheckFinished) -> None:
        if e.no_code:
            self.write("[no code] the model wrote no code (empty or only comments): not run")
        elif e.passed:
            self.write("✓ " + (e.label or "checks passed"))
        elif e.feedback:
            if e.label and not e.label.startswith("failed"):
                self.write(e.label)
            for line in e.feedback.strip().splitlines()[-3:]:
                self.write("check failed: " + line)

    def on_CandidatesRanked(self, e: events.CandidatesRanked) -> None:
        order = ", ".join(str(i + 1) for i in e.order)
        self.write(f"candidates ranked (best first): {order}")

    def on_StateRestored(self, e: events.StateRestored) -> None:
        turns = ", ".join(str(i + 1) for i in e.replayed) or "none"
        msg = f"state restored ({e.reason}): replayed turns {turns}"
        if e.failed:
            msg += "; no longer passing: " + ", ".join(str(i + 1) for i in e.failed)
        self.write(msg)

    def on_TurnCommitted(self, e: events.TurnCommitted) -> None:
        self.write(f"[passed] turn {e.turn + 1} (attempt {e.attempt + 1})")

    def on_TurnFailed(self, e: events.TurnFailed) -> None:
        if e.kind == "cancelled":
            self.write(f"[cancelled] turn {e.turn + 1}")
            return
        self.write(f"[failed] turn {e.turn + 1}: {e.reason}")

    def on_Notice(self, e: events.Notice) -> None:
        self.write(f"[{e.level}] {e.message}")


def describe_line(info: dict[str, Any]) -> str:
    """One line about the model backend: name, device, offloaded layers, warnings."""
    parts = [str(info.get("backend", "?")), str(info.get("model", ""))]
    device = info.get("device")
    if device and device != "none":
        parts.append(f"device {device}")
    layers = info.get("gpu_layers")
    if layers:
        parts.append(f"{layers} layers offloaded")
    line = " · ".join(p for p in parts if p)
    warnings = info.get("warnings") or []
    if isinstance(warnings, str):
        warnings = [warnings]
    return line + "".join(f"\n  warning: {w}" for w in warnings)
