"""Output of one cell: iopub messages collected under a byte cap, and the captured prints."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from assistant.execution.result import ExecError, ExecResult, Printed, strip_ansi


class Collector:
    """Accumulates iopub output for one cell, dropping what goes over the byte cap."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.used = 0
        self.dropped = 0
        self._out: list[str] = []
        self._err: list[str] = []
        self.display: list[str] = []
        self.error: ExecError | None = None

    def _keep(self, text: str) -> str:
        room = self.limit - self.used
        if len(text) <= room:
            self.used += len(text)
            return text
        kept = text[: max(room, 0)]
        self.used += len(kept)
        self.dropped += len(text) - len(kept)
        return kept

    def handle(self, msg: dict[str, Any]) -> bool:
        """Take one iopub message; True when the cell is finished (status idle)."""
        kind = msg["header"]["msg_type"]
        content = msg["content"]
        if kind == "status":
            return bool(content.get("execution_state") == "idle")
        if kind == "stream":
            text = self._keep(content.get("text", ""))
            (self._out if content.get("name") == "stdout" else self._err).append(text)
        elif kind in ("execute_result", "display_data"):
            text = content.get("data", {}).get("text/plain")
            if text is not None:
                self.display.append(self._keep(text))
        elif kind == "error":
            self.error = ExecError(
                content.get("ename", "Error"),
                content.get("evalue", ""),
                [strip_ansi(t) for t in content.get("traceback", [])],
            )
        elif kind == "clear_output":
            self._out.clear()
        return False

    def _marker(self) -> str:
        return f"\n[... truncated {self.dropped} bytes of output ...]\n" if self.dropped else ""

    def stdout(self) -> str:
        return "".join(self._out) + self._marker()

    def stderr(self) -> str:
        return "".join(self._err)


def read_prints(result: ExecResult) -> None:
    cap = result.expressions.pop("__asst_print", None)
    if not cap or cap.get("status") != "ok":
        return
    import ast

    try:
        text = ast.literal_eval(cap["data"]["text/plain"])
        payload = json.loads(text)
    except (ValueError, SyntaxError, KeyError):
        return
    result.print_count = int(payload.get("count", 0))
    last = payload.get("last")
    if last is not None:
        result.printed = [Printed.from_dict(d) for d in last]


# The line kernels/limits.py prints at the end of a cell whose output it capped.
_KERNEL_MARKER = re.compile(r"\n\[\.\.\. truncated (\d+) bytes of output \.\.\.\]\n")


def read_limits(result: ExecResult) -> None:
    """Add what the kernel itself dropped (kernels/limits.py) to the result's count."""
    cap = result.expressions.pop("__asst_limits", None)
    info: dict[str, Any] | None = None
    if cap and cap.get("status") == "ok":
        import ast

        try:
            info = json.loads(ast.literal_eval(cap["data"]["text/plain"]))
        except (ValueError, SyntaxError, KeyError):
            info = None
    if info is None:
        # ipykernel evaluates user_expressions only for cells that end "ok": after an error or
        # an interrupted timeout the kernel's own marker line is the only record of the count.
        if result.truncated_bytes == 0:
            found = _KERNEL_MARKER.search(result.stdout)
            if found:
                result.truncated_bytes = int(found.group(1))
        return
    result.truncated_bytes += int(info.get("dropped", 0))
    read_processes(result, info.get("procs") or {})


def read_lost_count(result: ExecResult, count_file: Path) -> None:
    """A kernel killed mid-cell never prints its truncation marker: kernels/limits.py keeps
    its count in ``count_file`` (updated every 64 KiB dropped, so a lower bound)."""
    try:
        dropped = int(count_file.read_text())
    except (OSError, ValueError):
        return
    if dropped > result.truncated_bytes:
        result.truncated_bytes = dropped
        result.stdout += f"\n[... truncated at least {dropped} bytes of output ...]\n"


def read_processes(result: ExecResult, report: dict[str, Any]) -> None:
    """Fail a cell that went over the process limit (kernels/procs.py): a fork refused in a
    forked copy of the kernel raises where nobody sees it, so the cell itself may end "ok"."""
    refused, over = int(report.get("refused") or 0), int(report.get("over") or 0)
    if refused or over:
        limit = report.get("max_procs")
        found = []
        if refused:
            found.append(f"{refused} fork(s) refused")
        if over:
            found.append(f"{over} processes running when it ended")
        text = (
            f"the cell went over the process limit ({limit} processes per kernel: "
            f"{', '.join(found)}); the processes it left were stopped"
        )
        result.status = "error"
        if result.error is None:
            result.error = ExecError("ProcessLimitError", text)
        result.message = text
    killed = int(report.get("killed") or 0)
    if killed:
        result.stderr += (
            f"[assistant: stopped {killed} process(es) the cell left running; "
            "set background = true to keep them]\n"
        )
