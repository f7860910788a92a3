"""MTPB as the upstream CodeGen harness samples and grades it (``assistant eval --upstream``).

* ``upstream_program``: the text upstream executes, its sampler's history: the prefix, then per
  turn ``"# " + prompt + "\\n"`` and the truncated completion + ``"\\n\\n"``;
* ``sample_upstream``: upstream's sampler for a model: every turn is generated (the problem's
  ``max_gen_length`` new tokens, upstream's truncation), whatever the code does, because
  upstream runs nothing until the whole program is written;
* ``run_in_kernel``: runs a program through ``kernels/upstream_exec.py`` (one ``exec``, a print
  recorder, upstream's equivalence) inside a kernel and returns its result dict;
* ``upstream_verdict``: that result as a ``Verdict``.

What upstream's guard or crash would make of a program (``sys.exit``, ``import sklearn``) is
documented in ``kernels/upstream_exec.py``.
"""

from __future__ import annotations

import ast
import json
from collections.abc import Sequence
from typing import Any

from assistant.engine import prompting
from assistant.engine.truncation import upstream_cut
from assistant.mtpb.grading import Verdict, named_dataset

PROGRAM_TIMEOUT = 20.0  # seconds per program, as upstream
CLIENT_SLACK = 10.0  # the kernel's own timer fires first; the client only catches a stuck one

_CELL = """\
def __asst_upstream(path, program, timeout, expected):
    import json, sys, types
    mod = sys.modules.get("assistant_upstream")
    if mod is None:
        mod = types.ModuleType("assistant_upstream")
        mod.__file__ = path
        exec(compile(open(path, encoding="utf-8").read(), path, "exec"), mod.__dict__)
        sys.modules["assistant_upstream"] = mod
    return json.dumps(mod.run_upstream(program, timeout, expected=json.loads(expected)))
__asst_upstream_result = __asst_upstream({path!r}, {program!r}, {timeout!r}, {expected!r})
del __asst_upstream
"""


def upstream_program(
    prompts: Sequence[str], codes: Sequence[str], prefix: str | None = None
) -> str:
    """Upstream's history string for the turns that have code (what its harness runs)."""
    head = prompting.mtpb_prefix() if prefix is None else prefix
    return head + "".join(
        prompting.upstream_turn(p) + c + "\n\n" for p, c in zip(prompts, codes, strict=False)
    )


def single_program(prompts: Sequence[str], code: str, prefix: str | None = None) -> str:
    """The single-turn control's program: every turn's comment, then the whole code."""
    head = prompting.mtpb_prefix() if prefix is None else prefix
    return head + "".join(prompting.upstream_turn(p) for p in prompts) + code + "\n\n"


def sample_upstream(
    prompts: Sequence[str], model: Any, settings: Any, meta: dict[str, Any], max_gen_length: int
) -> tuple[list[str], list[str]]:
    """Upstream's sampler: (truncated code per turn, raw completion per turn).

    Each turn's prompt is the history so far + the turn line; the completion is cut with
    ``upstream_truncate`` (the stop sequence that ended it put back first, see ``upstream_cut``)
    and appended with ``"\\n\\n"``. Nothing runs in between.
    """
    from assistant.engine.request import COMPLETION_STOPS
    from assistant.models.base import Request

    codes: list[str] = []
    raws: list[str] = []
    sample = int(meta.get("sample", 0))
    for t, text in enumerate(prompts):
        history = upstream_program(prompts[:t], codes)
        req = Request(
            prompt=history + prompting.upstream_turn(text),
            max_tokens=max_gen_length,
            temperature=settings.temperature,
            top_p=settings.top_p,
            stop=list(COMPLETION_STOPS),  # upstream's cut ends there anyway: saves decoding
            seed=settings.seed + 7919 * t + 104729 * sample,  # the engine's seeds, attempt 0
            meta={**meta, "turn": t, "attempt": 0, "candidate": 0},
        )
        comp = model.generate(req)
        raws.append(comp.text)
        codes.append(upstream_cut(comp.text, comp.stop))
    return codes, raws


async def run_in_kernel(
    kernel: Any, program: str, expected: Any, timeout: float = PROGRAM_TIMEOUT
) -> tuple[dict[str, Any], Any]:
    """(``run_upstream``'s result dict, the cell's ExecResult) for one program in ``kernel``."""
    from assistant.resources import kernel_file

    cell = _CELL.format(
        path=str(kernel_file("upstream_exec.py")),
        program=program,
        timeout=float(timeout),
        expected=json.dumps(expected),
    )
    res = await kernel.execute(cell, timeout=timeout + CLIENT_SLACK)
    if res.status in ("timeout", "died") and res.restarted:
        kind = "timeout" if res.status == "timeout" else "died"
        return {"status": kind, "error": res.message, "printed": None, "passed": False}, res
    if not res.ok:
        # The runner itself failed (cannot happen for anything the program does).
        detail = res.error.summary() if res.error is not None else res.message
        return {"status": "harness", "error": detail, "printed": None, "passed": False}, res
    got = await kernel.evaluate({"r": "__asst_upstream_result"})
    text = got.get("r", {}).get("data", {}).get("text/plain", "")
    try:
        return json.loads(ast.literal_eval(text)), res
    except (ValueError, SyntaxError) as exc:
        return {"status": "harness", "error": f"no result ({exc})", "passed": False}, res


def upstream_verdict(
    result: dict[str, Any], expected: Any, datasets: Sequence[str] = ()
) -> Verdict:
    """A result of ``run_upstream`` as a Verdict (upstream itself only says pass or fail).
    ``datasets``: the data files the prompts name (only those can be "needs dataset")."""
    printed = result.get("printed") or {}
    actual, atype = printed.get("repr"), printed.get("type")
    if result.get("passed"):
        return Verdict("pass", "", expected, actual, atype)
    status, error = result.get("status"), result.get("error") or ""
    dataset = named_dataset(error, datasets) if error.startswith("FileNotFoundError") else None
    if dataset is not None:
        return Verdict("needs_dataset", dataset, expected)
    if status in ("timeout", "died"):
        return Verdict(status, error, expected, actual, atype)
    if status == "harness":
        return Verdict("error", f"harness: {error}", expected)
    if status in ("error", "exit"):
        return Verdict("error", error, expected, actual, atype)
    if not printed:
        return Verdict("no_output", result.get("reason") or "nothing printed", expected)
    return Verdict("wrong", result.get("reason") or "", expected, actual, atype)
