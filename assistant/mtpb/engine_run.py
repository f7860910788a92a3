"""One MTPB job driven by a real model through ``assistant.engine.engine.Engine``.

Per (problem, case, sample): a fresh Session on a clean pool kernel, ``run_turn`` per turn with
meta ``{"problem", "case", "sample", "mode", "inputs"}``, ``print_last=True`` only on the last turn
(a last bare expression is printed, as upstream rewrites the program's last line). A turn that
still fails after its attempts ends the program: upstream runs the whole program in one exec,
so nothing after an exception would run.

Prompts and truncation are upstream's, byte for byte (``EngineOptions.mtpb_exact``), and each turn
gets the problem's ``max_gen_length`` new tokens, so the model sees what upstream's sampler
shows it and published numbers compare; only the grading differs (see ``grading.py``).

Refinement here only ever sees execution errors: the expected output is never shown to the
model, so pass@k stays comparable with published numbers.
"""

from __future__ import annotations

import contextlib
import dataclasses
import threading
from typing import TYPE_CHECKING, Any

from assistant.execution.result import ExecResult
from assistant.mtpb.grading import grade_program
from assistant.mtpb.refinement_metrics import turn_outcome

if TYPE_CHECKING:
    from assistant.config import Settings
    from assistant.engine.events import EngineEvent
    from assistant.execution.runtime import Runtime
    from assistant.models.base import Model
    from assistant.mtpb.jobs import EvalOptions, Job


class _SerialModel:
    """A model shared by parallel jobs: one generation at a time for in-process backends
    (llama.cpp is not reentrant). A server backend (``concurrent_requests = True``: vLLM,
    llama.cpp's server with parallel slots) gets every request at once: it batches them."""

    def __init__(self, model: Any) -> None:
        self._model = model
        concurrent = bool(getattr(model, "concurrent_requests", False))
        self._lock: Any = contextlib.nullcontext() if concurrent else threading.Lock()
        self.name = getattr(model, "name", "model")

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self._model.generate(*args, **kwargs)

    def sample(self, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return self._model.sample(*args, **kwargs)

    def describe(self) -> dict[str, Any]:
        return dict(self._model.describe())

    def close(self) -> None:
        self._model.close()


_serial: dict[int, _SerialModel] = {}


def serial(model: Any) -> _SerialModel:
    key = id(model)
    if key not in _serial:
        _serial[key] = _SerialModel(model)
    return _serial[key]


def _chosen(turn: Any) -> Any:
    """The candidate whose code the turn ended with (committed, else the last attempt's best)."""
    for attempt in reversed(turn.attempts):
        for cand in attempt.candidates:
            if turn.code is not None and cand.code == turn.code and cand.passed:
                return cand
    return turn.attempts[-1].best if turn.attempts else None


async def run_with_engine(
    job: Job, kernel: Runtime, model: Model, settings: Settings, opts: EvalOptions
) -> tuple[list[str], list[ExecResult], dict[str, Any]]:
    try:
        from assistant.engine.engine import Engine
    except ImportError as exc:  # pragma: no cover - the engine ships with the app
        raise RuntimeError(f"model runs need assistant.engine.engine ({exc})") from exc
    from assistant.engine.options import EngineOptions
    from assistant.engine.session import Session

    prob = job.problem
    prompts = prob.filled_prompts(job.case)
    if job.mode == "single":
        prompts = ["\n".join(prompts)]  # the paper's single-turn control: one prompt, one program
    from assistant.models import engine_style
    from assistant.models.base import ServerError

    style = engine_style(model, settings.chat)
    session = Session(model=opts.model_spec, meta={"mtpb": {"problem": prob.id, "case": job.case}})
    settings = turn_settings(settings, prob, job.mode)
    gen = {"completion_tokens": 0, "decode_s": 0.0, "generate_s": 0.0}

    server_errors: list[str] = []

    def count(event: EngineEvent) -> None:  # decode speed and token cost of the program
        if type(event).__name__ == "TurnFailed" and getattr(event, "kind", "") == "server error":
            server_errors.append(str(getattr(event, "reason", "")))
        st = getattr(event, "stats", None)
        if type(event).__name__ == "CodeReady" and st is not None:
            gen["completion_tokens"] += st.completion_tokens
            gen["decode_s"] += max(0.0, st.total_time - st.time_to_first_token)
            gen["generate_s"] += st.total_time

    options = EngineOptions(
        whole_program=job.mode == "single",
        mtpb_exact=job.mode == "multi",  # the single-turn prompt is no upstream format
        logprobs=getattr(opts, "logprobs", None),
    )
    shared = model if getattr(model, "lined_up", False) else serial(model)  # lineup: safe as is
    engine = Engine(shared, kernel, settings, session, count, style, options=options)
    meta = {
        "problem": prob.id,
        "case": job.case,
        "sample": job.sample,
        "mode": job.mode,
        "inputs": prob.inputs[job.case],
    }
    cells: list[str] = []
    results: list[ExecResult] = []
    stats: dict[str, Any] = {"attempts": [], "copies_rejected": 0, "turn_status": []}
    turns = []
    for t, text in enumerate(prompts):
        turn = await engine.run_turn(
            text, print_last=t == len(prompts) - 1, attempts=opts.refine or 1, meta=meta
        )
        if server_errors:  # the server cut the completion: nothing of it is graded
            raise ServerError(server_errors[0].removeprefix("server error: "))
        turns.append(turn)
        stats["attempts"].append(len(turn.attempts))
        stats["copies_rejected"] += sum(a.copies_rejected for a in turn.attempts)
        stats["turn_status"].append(turn.status)
        cand = _chosen(turn)
        cells.append(cand.code if cand is not None else "")
        if cand is None or cand.result is None:
            results.append(ExecResult(status="error", message="no code was run for this turn"))
            break
        results.append(cand.result)
        if turn.status != "passed":
            break
    stats["ranked"] = _ranked_flags(turns, results, prob.outputs[job.case])
    stats["last_turn_candidates"] = _last_turn_candidates(turns, results, prob.outputs[job.case])
    stats.update({k: round(v, 3) if isinstance(v, float) else v for k, v in gen.items()})
    chosen = [_chosen(t) for t in turns]
    logprobs = [c.mean_logprob for c in chosen if c is not None and c.mean_logprob > -1e9]
    stats["mean_logprob"] = sum(logprobs) / len(logprobs) if logprobs else None
    stats["logprobs_asked"] = options.wants_logprobs(
        max(1, int(getattr(settings, "candidates", 1) or 1))
    )
    # Per turn: (attempt that passed or None, attempts run), for success rates per attempt;
    # and how many candidates refinements generated, for the copy rate.
    stats["outcomes"] = [list(turn_outcome(t)) for t in turns]
    generated = [c for t in turns for a in t.attempts for c in a.candidates]
    stats["generated"] = len(generated)
    stats["no_code"] = sum(c.no_code for c in generated)
    stats["refine_generated"] = sum(
        len(a.candidates) for t in turns for a in t.attempts if a.reason in ("refine", "resample")
    )
    if opts.sessions is not None:
        opts.sessions.append(session)
    return cells, results, {"engine": stats}


def _last_turn_candidates(
    turns: list[Any], results: list[ExecResult], expected: Any
) -> list[dict[str, Any]]:
    """The last turn's first-attempt candidates (n > 1), index order: what any ranker needs
    (output signature, log-prob, ran ok, no code) and whether the program would pass with it."""
    from assistant.engine.ranking import output_signature

    if not turns or not turns[-1].attempts or len(turns) != len(results):
        return []
    cands = turns[-1].attempts[0].candidates
    if len(cands) < 2:
        return []
    before = results[:-1]
    return [
        {
            "passed": c.result is not None and grade_program([*before, c.result], expected).passed,
            "sig": output_signature(c),
            "logprob": c.mean_logprob if c.mean_logprob > -1e9 else None,
            "ok": c.result is not None and c.result.ok,
            "no_code": c.no_code,
        }
        for c in cands
    ]


def turn_settings(settings: Any, prob: Any, mode: str) -> Any:
    """Settings whose ``max_tokens`` is upstream's budget for one turn of ``prob``.

    The single-turn control writes every turn at once: the sum of the turns' budgets.
    """
    budget = prob.max_gen_length * (len(prob.prompts) if mode == "single" else 1)
    if dataclasses.is_dataclass(settings) and not isinstance(settings, type):
        return dataclasses.replace(settings, max_tokens=budget)
    return settings


def _ranked_flags(turns: list[Any], results: list[ExecResult], expected: Any) -> list[bool]:
    """Pass flags of the last turn's first-attempt candidates in rank order (ranked pass@k)."""
    if not turns or not turns[-1].attempts or len(turns) != len(results):
        return []
    cands = turns[-1].attempts[0].candidates
    if len(cands) < 2:
        return []
    ordered = sorted(cands, key=lambda c: (c.rank is None, c.rank if c.rank is not None else 0))
    before = results[:-1]
    flags = []
    for c in ordered:
        if c.result is None:
            flags.append(False)
            continue
        flags.append(grade_program([*before, c.result], expected).passed)
    return flags
