"""Typed results of executing one cell in a kernel."""

from __future__ import annotations

import os
import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from assistant.errors import AssistantError

Status = Literal["ok", "error", "timeout", "died", "interrupted"]

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def strip_ansi(text: str) -> str:
    return _ANSI.sub("", text)


def describe_exit(code: int | None, *, sandboxed: bool = False) -> str:
    """How a kernel process ended, naming the signal of a death by signal with a hint."""
    import signal

    if code is None:
        return "process exited"
    signum = -code if code < 0 else 0
    if sandboxed and code > 128:
        # bubblewrap is the process we watch: it reports its child's death by signal N the
        # way shells do, as exit code 128 + N.
        signum = code - 128
    if signum:
        try:
            name = signal.Signals(signum).name
        except ValueError:
            name = f"signal {signum}"
        hint = {
            "SIGSEGV": "a crash in C code",
            "SIGABRT": "aborted, e.g. a failed assertion in C code",
            "SIGKILL": "killed, maybe out of memory",
        }
        return f"killed by {name}" + (f": {hint[name]}" if name in hint else "")
    return f"process exited with code {code}"


class KernelError(AssistantError):
    """Base class for failures of the kernel itself (not of the code it runs)."""


class KernelStartError(KernelError):
    """The kernel could not be started (bad kernelspec, missing ipykernel, ...)."""


class KernelDied(KernelError):
    """The kernel process exited while it was running code or being waited on."""


@dataclass
class ExecError:
    """An exception raised by the executed code."""

    ename: str
    evalue: str
    traceback: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return f"{self.ename}: {self.evalue}" if self.evalue else self.ename

    def short_traceback(self, max_lines: int = 12) -> str:
        """The most relevant traceback lines (the end of it), without ANSI noise."""
        lines: list[str] = []
        for frame in self.traceback:
            frame = strip_ansi(frame)
            if _KERNEL_FRAME in frame.split("\n", 1)[0]:
                continue  # the kernel's own machinery (input() asking the front end): noise
            lines.extend(frame.splitlines())
        lines = [ln for ln in lines if ln.strip() and not set(ln.strip()) <= {"-"}]
        return "\n".join(lines[-max_lines:])


# How IPython names a frame in ipykernel's own files: "File .../ipykernel/kernelbase.py:1560, in ..."
_KERNEL_FRAME = f"{os.sep}ipykernel{os.sep}"


@dataclass
class Printed:
    """One argument of a ``print`` call captured in the kernel."""

    type: str
    value: Any  # JSON-safe copy when ``json`` is true, else None
    json: bool
    repr: str

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Printed:
        return cls(type=d["type"], value=d.get("value"), json=bool(d.get("json")), repr=d["repr"])


@dataclass
class ExecResult:
    """Everything a cell produced. ``status`` says how it ended."""

    status: Status
    stdout: str = ""
    stderr: str = ""
    display: list[str] = field(default_factory=list)  # text/plain of execute_result/display_data
    error: ExecError | None = None
    printed: list[Printed] | None = None  # arguments of the last print call in the cell
    print_count: int = 0
    duration: float = 0.0
    truncated_bytes: int = 0  # output dropped because it went over the cap
    restarted: bool = False  # the kernel was restarted: all state is gone
    message: str = ""  # a plain explanation for timeout/died/interrupted
    expressions: dict[str, Any] = field(default_factory=dict, repr=False)  # user_expressions

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    @property
    def last_printed(self) -> Printed | None:
        """The first argument of the cell's last print call (what MTPB grades)."""
        return self.printed[0] if self.printed else None

    def feedback(self) -> str:
        """A compact description of what went wrong, for refinement prompts and the UI."""
        if self.status == "ok":
            return ""
        if self.error is not None:
            tb = self.error.short_traceback()
            return tb if tb else self.error.summary()
        return self.message or self.status

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("expressions", None)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ExecResult:
        d = dict(d)
        err = d.pop("error", None)
        printed = d.pop("printed", None)
        return cls(
            **d,
            error=ExecError(**err) if err else None,
            printed=[Printed.from_dict(p) for p in printed] if printed is not None else None,
        )


def explain_sys_exit(result: ExecResult) -> None:
    """``sys.exit()`` in a cell is reported as an error, but the runtime lives on: say so."""
    if result.error is not None and result.error.ename == "SystemExit":
        code = result.error.evalue or "None"
        result.message = (
            f"the code called sys.exit({code}) (or exit()/quit()): the cell stopped there; "
            "the kernel keeps running with its state"
        )
