"""Session / Turn / Attempt: the record of a conversation, saved atomically as JSON.

A session is what the user sees and what survives a crash: every turn with every attempt
(code, what the attempt was told, its execution result, its verdict), and which attempt was
committed. The committed code of all turns is the program; replaying it rebuilds the kernel.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from assistant import jsontext
from assistant.engine.events import AttemptReason
from assistant.errors import AssistantError
from assistant.execution.result import ExecResult

SCHEMA = 1
TurnStatus = Literal["pending", "passed", "failed", "cancelled"]


class SessionError(AssistantError):
    """A session could not be saved, found or loaded; the message says which file and why."""


class SessionCorrupt(SessionError):
    """A session file could not be read; it has been moved aside (``kept_at``)."""

    def __init__(self, message: str, kept_at: Path | None = None) -> None:
        super().__init__(message)
        self.kept_at = kept_at


@dataclass
class Candidate:
    index: int
    code: str
    raw: str = ""
    mean_logprob: float = float("-inf")
    result: ExecResult | None = None
    passed: bool = False
    tests_passed: int = 0
    tests_total: int = 0
    feedback: str = ""
    rank: int | None = None
    inputs: list[str] = field(default_factory=list)  # answers given to input() while it ran
    no_code: bool = False  # empty, comment-only or docstring-only: failed without running
    derived_passed: int = 0  # checks read from the turn's words (derived.py) that held
    derived_total: int = 0
    label: str = ""  # the verdict in words (checks.verdict_label): what the front ends show


@dataclass
class Attempt:
    index: int  # 0 = first try, 1.. = refinements
    told: str = ""  # the feedback this attempt was prompted with (empty for the first)
    reason: AttemptReason = "first"
    candidates: list[Candidate] = field(default_factory=list)
    chosen: int | None = None  # index of the candidate kept (best ranked)
    copy_of: int | None = None  # set when the attempt repeated an earlier faulty one
    copies_rejected: int = 0

    @property
    def best(self) -> Candidate | None:
        if self.chosen is None:
            return self.candidates[0] if self.candidates else None
        return next((c for c in self.candidates if c.index == self.chosen), None)


@dataclass
class Turn:
    index: int
    text: str
    tests: list[str] = field(default_factory=list)  # assert lines run after the code
    expect: Any = None  # an expected printed value (checked when ``has_expect``)
    has_expect: bool = False
    print_last: bool = True  # wrap a last bare expression in print() (MTPB semantics)
    attempts: list[Attempt] = field(default_factory=list)
    status: TurnStatus = "pending"
    code: str | None = None  # the committed code (after the user may have edited it)
    edited: bool = False  # committed code was written or changed by hand (/edit)
    inputs: list[str] = field(default_factory=list)  # input() answers, fed again on replay
    # Checks read from the turn's words (derived.py, as DerivedCheck.to_dict()); /checks drop
    # moves one to ``derived_dropped``.
    derived: list[dict[str, Any]] = field(default_factory=list)
    derived_dropped: list[dict[str, Any]] = field(default_factory=list)
    # The request as its prompt showed it (with the state note, state.py); "" means ``text``.
    # Later prompts show it the same way, so they stay extensions of this one (prefix cache).
    shown: str = ""

    @property
    def committed(self) -> bool:
        return self.status == "passed" and self.code is not None


@dataclass
class Session:
    id: str = field(default_factory=lambda: time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6])
    created: float = field(default_factory=time.time)
    model: str = ""
    title: str = ""
    turns: list[Turn] = field(default_factory=list)
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. {"mtpb": {"problem": "3", "case": 0}}

    # -- program -------------------------------------------------------------------------
    def committed_turns(self) -> list[Turn]:
        return [t for t in self.turns if t.committed]

    def program(self) -> str:
        """The committed code of every turn, in order: what a notebook or script export runs."""
        return "\n\n".join(t.code or "" for t in self.committed_turns())

    def new_turn(self, text: str, **kwargs: Any) -> Turn:
        turn = Turn(index=len(self.turns), text=text, **kwargs)
        self.turns.append(turn)
        return turn

    # -- persistence ---------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["schema"] = SCHEMA
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Session:
        turns = []
        for t in d.get("turns", []):
            attempts = []
            for a in t.get("attempts", []):
                cands = []
                for c in a.get("candidates", []):
                    res = c.get("result")
                    cands.append(
                        Candidate(**{**c, "result": ExecResult.from_dict(res) if res else None})
                    )
                attempts.append(Attempt(**{**a, "candidates": cands}))
            fields_t = {**t, "attempts": attempts}
            if "final" in fields_t:  # sessions saved before the field was renamed
                fields_t["print_last"] = fields_t.pop("final")
            turns.append(Turn(**fields_t))
        fields = {k: v for k, v in d.items() if k in ("id", "created", "model", "title", "meta")}
        return cls(**fields, turns=turns)

    def save(self, path: Path) -> Path:
        """Write atomically: a temp file in the same folder, fsync, then rename over."""
        path.parent.mkdir(parents=True, exist_ok=True)
        # jsontext: kernel text may hold lone surrogates, which UTF-8 cannot encode.
        data = jsontext.dumps(self.to_dict(), indent=1, default=_json_default)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        return path

    @classmethod
    def load(cls, path: Path) -> Session:
        """Read a session; a corrupt file is moved aside (never overwritten) and reported."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            raise SessionError(f"no session file at {path}") from None
        try:
            data = json.loads(text)
            if not isinstance(data, dict):
                raise ValueError("top level is not an object")
            return cls.from_dict(data)
        except (ValueError, TypeError, KeyError) as exc:
            aside = path.with_name(f"{path.name}.corrupt-{int(time.time())}")
            with contextlib.suppress(OSError):
                os.replace(path, aside)
            where = f":{exc.lineno}" if isinstance(exc, json.JSONDecodeError) else ""
            raise SessionCorrupt(
                f"{path}{where}: session file is corrupt ({exc}); kept aside as {aside.name}",
                kept_at=aside,
            ) from None


def _json_default(obj: object) -> object:
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, (set, frozenset)):
        return sorted(obj, key=repr)
    return repr(obj)
