"""MTPB as the upstream CodeGen harness samples and grades it (``assistant eval --upstream``).

* ``upstream_program``: the text upstream executes, its sampler's history: the prefix, then per
  turn ``"# " + prompt + "\\n"`` and the truncated completion + ``"\\n\\n"``;
* ``sample_upstream``: upstream's sampler for a model: every turn is generated (the problem's
  ``max_gen_length`` new tokens, upstream's truncation), whatever the code does, because
  upstream runs nothing until the whole program is written;
* ``RUNNER`` (``kernels/upstream_exec.py``: one ``exec``, a print recorder, upstream's
  equivalence) is called in a clean runtime by ``upstream_run.py`` (``ProgramPool.call``), or
  in a given kernel by ``run_in_kernel``; ``result_from_call`` reads its answer;
* ``upstream_verdict``: that result as a ``Verdict``.

What upstream's guard or crash would make of a program (``sys.exit``, ``import sklearn``) is
documented in ``kernels/upstream_exec.py``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from assistant.engine import prompting
from assistant.engine.truncation import upstream_cut
from assistant.mtpb.grading import Verdict, named_dataset

if TYPE_CHECKING:
    from assistant.execution.result import ExecResult
    from assistant.execution.runtime import Runtime

PROGRAM_TIMEOUT = 20.0  # seconds per program, as upstream
CLIENT_SLACK = 10.0  # the kernel's own timer fires first; the client only catches a stuck one

RUNNER = "upstream_exec:run_upstream"  # kernels/upstream_exec.py, called in a clean runtime


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
            logprobs=False,  # one sample, nothing ranks it
        )
        comp = model.generate(req)
        raws.append(comp.text)
        codes.append(upstream_cut(comp.text, comp.stop))
    return codes, raws


async def run_in_kernel(
    kernel: Runtime, program: str, expected: Any, timeout: float = PROGRAM_TIMEOUT
) -> tuple[dict[str, Any], ExecResult]:
    """(``run_upstream``'s result dict, the cell's ExecResult) for one program in ``kernel``
    (a Jupyter kernel: what ``KernelPool.call`` does in a clean one)."""
    from assistant.execution.kernel_call import call_in_kernel

    args = {"program": program, "timeout": float(timeout), "expected": expected}
    reply, res = await call_in_kernel(kernel, RUNNER, args, timeout + CLIENT_SLACK)
    return result_from_call(reply), res


def result_from_call(reply: dict[str, Any]) -> dict[str, Any]:
    """``run_upstream``'s result dict from a ``ProgramPool.call`` reply; a runner that did not
    answer (a timeout or a death around it, a failure of the runner itself) as a result too."""
    if reply.get("status") == "ok" and isinstance(reply.get("value"), dict):
        return dict(reply["value"])
    err = reply.get("error") or reply.get("cause") or reply.get("status")
    kind = reply.get("status") if reply.get("status") in ("timeout", "died") else "harness"
    return {"status": kind, "error": str(err), "printed": None, "passed": False}


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
