"""A backend that returns canned completions: for tests, demos and the MTPB reference model.

Answers are looked up by the request's ``meta``: ``turn`` (index of the user turn),
``attempt`` (0 for the first try, 1.. for refinements) and ``candidate`` (0.. when sampling n).
A script file is JSON::

    {"turns": [                       # one entry per turn
        ["attempt 0 code", "attempt 1 code"],   # per attempt (a plain string: every attempt)
        ...],
     "problems": {"3": {"turns": [...]}},         # optional, per MTPB problem id
     "logprob": -0.5,                             # optional, mean log-prob reported per token
     "delay": 0.05}                               # optional, seconds between streamed pieces

In MTPB runs the request's ``meta["inputs"]`` holds the test case's inputs: a placeholder
``{{name}}`` in an answer is replaced by ``repr`` of that input (as in the reference solutions),
so one script serves all five test cases.

An attempt may also be a list of candidates (``["cand 0", "cand 1"]``) or an object
``{"code": "...", "logprob": -1.2}`` to drive rankers. Past the end of a list the last entry
repeats. Text is streamed in small pieces so UIs show it arriving.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assistant.models.base import (
    Cancelled,
    Completion,
    GenStats,
    ModelError,
    OnText,
    Request,
    SamplingMixin,
)

Responder = Callable[[Request], "str | dict[str, Any]"]


def _pick(items: Any, index: int) -> Any:
    if isinstance(items, list):
        if not items:
            return ""
        return items[min(index, len(items) - 1)]
    return items


_PLACEHOLDER = re.compile(r"\{\{(\w+)\}\}")


def _fill(ans: Any, inputs: dict[str, Any]) -> Any:
    """``{{name}}`` -> repr(inputs[name]) in a str answer or a ``{"code": ...}`` answer."""

    def sub(text: str) -> str:
        return _PLACEHOLDER.sub(
            lambda m: repr(inputs[m.group(1)]) if m.group(1) in inputs else m.group(0), text
        )

    if isinstance(ans, str):
        return sub(ans)
    if isinstance(ans, dict) and isinstance(ans.get("code"), str):
        return {**ans, "code": sub(ans["code"])}
    return ans


class ScriptedModel(SamplingMixin):
    """Canned completions from a script (dict), or from a function of the request."""

    def __init__(
        self,
        script: dict[str, Any] | Responder,
        name: str = "scripted",
        chunk_size: int = 8,
        delay: float = 0.0,
    ) -> None:
        self.name = name
        self.script = script
        self.chunk_size = chunk_size
        self.delay = delay  # seconds between chunks (demos pace themselves with it)
        self.requests: list[Request] = []  # every request seen, for tests

    @classmethod
    def from_file(cls, path: str | Path, **kwargs: Any) -> ScriptedModel:
        p = Path(path)
        try:
            data = json.loads(p.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ModelError(f"scripted model file not found: {p}") from None
        except json.JSONDecodeError as exc:
            raise ModelError(
                f"{p}:{exc.lineno}: invalid JSON in scripted model: {exc.msg}"
            ) from None
        if not isinstance(data, dict) or not ("turns" in data or "problems" in data):
            raise ModelError(f"{p}: a scripted model file needs a 'turns' or 'problems' key")
        delay = data.get("delay", 0.0)
        if not isinstance(delay, int | float) or isinstance(delay, bool) or delay < 0:
            raise ModelError(f"{p}: 'delay' must be a number of seconds >= 0, not {delay!r}")
        kwargs.setdefault("delay", float(delay))
        return cls(data, name=f"scripted:{p.name}", **kwargs)

    def _answer(self, request: Request) -> tuple[str, float]:
        if callable(self.script):
            ans: Any = self.script(request)
        else:
            meta = request.meta
            table: Any = self.script
            pid = meta.get("problem")
            if pid is not None and str(pid) in self.script.get("problems", {}):
                table = self.script["problems"][str(pid)]
            turns = table.get("turns", [])
            ans = _pick(turns, int(meta.get("turn", 0)))
            ans = _pick(ans, int(meta.get("attempt", 0)))
            ans = _pick(ans, int(meta.get("candidate", 0)))
        inputs = request.meta.get("inputs")
        if isinstance(inputs, dict) and inputs:
            ans = _fill(ans, inputs)
        default_lp = -0.1 if callable(self.script) else float(self.script.get("logprob", -0.1))
        if isinstance(ans, dict):
            return str(ans.get("code", "")), float(ans.get("logprob", default_lp))
        return str(ans), default_lp

    def generate(
        self,
        request: Request,
        on_text: OnText | None = None,
        cancel: threading.Event | None = None,
    ) -> Completion:
        self.requests.append(request)
        t0 = time.perf_counter()
        text, lp = self._answer(request)
        pieces = [text[i : i + self.chunk_size] for i in range(0, len(text), self.chunk_size)]
        first = 0.0
        for i, piece in enumerate(pieces):
            if cancel is not None and cancel.is_set():
                raise Cancelled("generation cancelled")
            if self.delay:
                time.sleep(self.delay)
            if i == 0:
                first = time.perf_counter() - t0
            if on_text is not None:
                on_text(piece)
        n_tok = max(1, len(pieces))
        stats = GenStats(
            prompt_tokens=len(request.prompt) // 4,
            prompt_evaluated=len(request.prompt) // 4,
            completion_tokens=n_tok,
            time_to_first_token=first,
            total_time=time.perf_counter() - t0,
        )
        return Completion(text=text, token_logprobs=[lp] * n_tok, finish_reason="stop", stats=stats)

    def describe(self) -> dict[str, Any]:
        return {"backend": "scripted", "model": self.name, "device": "none", "gpu_layers": 0}

    def close(self) -> None:
        pass
