"""Headless MTPB evaluation: parallel over a kernel pool, isolated, resumable.

A *job* is one (problem, test case, sample, mode). Each runs in a clean kernel from the pool,
so one program that hangs, crashes its kernel or raises never touches another's verdict; any
failure of the harness itself around a job is caught and recorded as that job's verdict.

Every finished job is appended to the results file as one JSON line and flushed, so an
interrupted run loses at most the jobs in flight: rerunning with the same ``--out`` skips what
is done (``results.py``). A job the model server failed is not graded at all.

With the reference model the programs are known up front, so the cells run directly (no
engine, no prompts). Any other model goes through ``assistant.engine.engine.Engine`` turn by turn, or
with ``--upstream`` through upstream's own sampler (every turn written before anything runs).

Every program gets this project's verdict (cell by cell, ``grading.py``); with ``--upstream``
also upstream's, from running the whole program once more (a fresh child, a fresh folder)
exactly as upstream's harness does (``upstream_run.py``, ``upstream.py``,
``kernels/upstream_exec.py``).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.engine.prompting import mtpb_prefix
from assistant.execution.result import ExecResult
from assistant.models.base import ServerError
from assistant.mtpb.grading import Kind, Verdict, grade_program
from assistant.mtpb.problems import Problem
from assistant.mtpb.reference import ReferenceModel, program_code
from assistant.mtpb.results import Key as Key
from assistant.mtpb.results import ResultStore as ResultStore
from assistant.mtpb.upstream import upstream_verdict
from assistant.mtpb.upstream_run import run_upstream_job, sample_upstream_job

_STDOUT_KEEP = 2000


@dataclass(frozen=True)
class Job:
    problem: Problem
    case: int
    sample: int
    mode: str  # "multi" | "single"

    @property
    def key(self) -> Key:
        return (self.problem.id, self.case, self.sample, self.mode)


@dataclass
class EvalOptions:
    samples: int = 1
    modes: tuple[str, ...] = ("multi",)
    jobs: int = 2
    out: Path | None = None
    refine: int | None = None  # attempts per turn for model runs (None: engine default 1)
    progress: bool = True
    model_spec: str = "reference"
    workdir: Path | None = None  # the kernels' cwd (where ./datasets/ would be)
    sessions: list[Any] | None = None  # when set, model runs append their Session here
    upstream: bool = False  # model runs use upstream's sampler (no engine, no refinement)
    # "fork": each program in a forked child of a warm fork server (fast, fully isolated);
    # "jupyter": a pool of Jupyter kernels reset between programs (any kernelspec).
    runtime: str = "fork"
    # Programs in flight at once for model runs (requests to a server backend), independent
    # of ``jobs`` (cells executing at once); None: ``jobs``. In-process models still generate
    # one at a time (``engine_run._SerialModel``).
    concurrency: int | None = None
    # ``-n N`` on an in-process llama.cpp model: the N samples of a problem, case and mode run
    # at once and their requests decode together, round by round (mtpb/lineup.py).
    lineup: bool = True
    # Token log-probs for model runs: None only when a ranker reads them (several candidates);
    # True always (``--logprobs``: the report's mean log-prob).
    logprobs: bool | None = None


def make_jobs(problems: Iterable[Problem], samples: int, modes: Iterable[str]) -> list[Job]:
    modes = list(modes)
    return [
        Job(p, case, s, mode)
        for p in problems
        for mode in modes
        for case in range(p.cases)
        for s in range(samples)
    ]


def _results_summary(results: list[ExecResult]) -> list[dict[str, Any]]:
    out = []
    for r in results:
        out.append(
            {
                "status": r.status,
                "duration": round(r.duration, 4),
                "stdout": r.stdout[-_STDOUT_KEEP:],
                "error": r.error.summary() if r.error else None,
                "message": r.message,
            }
        )
    return out


def _job_fields(job: Job, model: str) -> dict[str, Any]:
    """What identifies a results line (its resume key among them)."""
    return {
        "problem": job.problem.id,
        "case": job.case,
        "sample": job.sample,
        "mode": job.mode,
        "category": job.problem.category,
        "model": model,
    }


def make_record(
    job: Job,
    cells: list[str],
    results: list[ExecResult],
    *,
    model: str,
    missing: list[str],
    extra: dict[str, Any] | None = None,
    upstream: dict[str, Any] | None = None,
    with_upstream: bool = True,
) -> dict[str, Any]:
    """One results line: this project's verdict and, with ``--upstream``, upstream's too
    (``--upstream`` picks which one a report shows; a model's ``--upstream`` run also samples
    differently, so its file is never mixed).

    ``upstream``: the result of running the program the upstream way (None when it did not
    run: a missing dataset, or no code at all). ``with_upstream=False``: upstream's verdict was
    not asked for; the line has none (a later ``--upstream`` run of the same file adds it).
    """
    expected = job.problem.outputs[job.case]
    failed = next((i for i, r in enumerate(results) if not r.ok), None)
    if failed is not None:  # nothing after a failure counts, as in upstream's single exec
        results = results[: failed + 1]
    datasets = job.problem.datasets()
    ours = grade_program(results, expected, missing_datasets=missing, datasets=datasets)
    theirs = upstream_verdict(upstream, expected, datasets) if upstream is not None else ours
    rec: dict[str, Any] = {
        **_job_fields(job, model),
        "verdict": ours.to_dict(),
        "cells": cells,
        "results": _results_summary(results),
        "time": round(sum(r.duration for r in results), 4),
    }
    if with_upstream:
        rec["upstream_verdict"] = theirs.to_dict()
    if upstream is not None:
        keep = ("status", "error", "prints", "duration")
        rec["upstream_run"] = {k: upstream.get(k) for k in keep}
    if extra:
        rec.update(extra)
    return rec


def harness_failure(job: Job, exc: BaseException, model: str) -> dict[str, Any]:
    """A job whose harness failed (kernel could not start, model error...): still a verdict."""
    kind: Kind = "died" if type(exc).__name__ in ("KernelDied", "KernelStartError") else "error"
    v = Verdict(kind, f"harness: {type(exc).__name__}: {exc}", job.problem.outputs[job.case])
    return {
        **_job_fields(job, model),
        "verdict": v.to_dict(),
        "upstream_verdict": v.to_dict(),
        "cells": [],
        "results": [],
        "time": 0.0,
        "harness_error": True,
    }


async def run_cells(kernel: Any, cells: list[str]) -> list[ExecResult]:
    """Run a program's cells in order; the last is 'final' (a bare expression is printed)."""
    results: list[ExecResult] = []
    for i, code in enumerate(cells):
        res = await kernel.execute(code, print_last=i == len(cells) - 1)
        results.append(res)
        if not res.ok:
            break  # like upstream's single exec: nothing after an exception runs
    return results


def reference_cells(model: ReferenceModel, job: Job) -> list[str]:
    cells = model.cells(job.problem.id, job.case, job.problem.inputs[job.case])
    return [program_code(cells)] if job.mode == "single" else cells


async def run_eval(
    jobs: list[Job],
    store: ResultStore,
    opts: EvalOptions,
    settings: Any,
    model: Any,
    on_done: Callable[[dict[str, Any]], None] | None = None,
) -> None:
    """Run every job not already in ``store``; each finished one is stored at once."""
    todo = [j for j in jobs if not store.done(j.key)]
    if not todo:
        return
    bar = _progress(len(todo), opts.progress)
    cfg = settings.kernel_config()
    if opts.workdir is not None:
        cfg.workdir = opts.workdir
    runtime = opts.runtime if cfg.kernel_name is None else "jupyter"  # other interpreters
    heavy: list[str] = []  # third-party modules of known programs (a second fork server)
    preload: list[str] | None = None  # the fork server's default (numpy, pandas)
    if isinstance(model, ReferenceModel) and runtime == "fork":
        # Known programs: the server imports what each needs just before forking it, and the
        # programs run lightest first, so most forks copy a small process (fork time grows
        # with the parent's size: ~0.3 ms bare, ~2.4 ms with sklearn loaded).
        preload = ["numpy"] if opts.upstream else []
        todo.sort(key=lambda j: _weight(_imports(model, j)))
        heavy = sorted({m for j in todo for m in _weight(_imports(model, j))[1]})
    pool = make_pool(max(1, opts.jobs), cfg, runtime=runtime, preload=preload, heavy=heavy)
    queue: asyncio.Queue[Job] = asyncio.Queue()
    for j in todo:
        queue.put_nowait(j)
    await pool.start()
    workers = max(1, opts.jobs)
    if isinstance(model, ReferenceModel) and runtime == "fork":
        workers *= 2  # the server runs --jobs at once; the others wait there, ready to start
    if opts.concurrency and not isinstance(model, ReferenceModel) and runtime == "fork":
        workers = max(1, opts.concurrency)  # each holds a forked program while it generates
        # Generations run in the loop's default executor (``asyncio.to_thread``), which has
        # min(32, cores + 4) threads: that would cap the requests in flight on small machines.
        from concurrent.futures import ThreadPoolExecutor

        asyncio.get_running_loop().set_default_executor(
            ThreadPoolExecutor(max_workers=workers + 4, thread_name_prefix="generate")
        )

    async def one(job: Job, runner: Any) -> None:
        try:
            rec = await _run_job(pool, job, opts, settings, runner)
        except asyncio.CancelledError:
            raise
        except ServerError as exc:  # what arrived is not the model's answer: no verdict
            store.server_errors.append((job.key, str(exc)))
            if bar is not None:
                bar.update(1)
            return
        except Exception as exc:  # isolation: the run goes on
            rec = harness_failure(job, exc, opts.model_spec)
        store.add(rec)
        if on_done is not None:
            on_done(rec)
        if bar is not None:
            bar.update(1)
            bar.set_postfix_str(f"p{job.problem.id} {rec['verdict']['kind']}", refresh=False)

    async def worker() -> None:
        while True:
            try:
                job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await one(job, model)

    from assistant.mtpb.lineup import lineup_groups, run_lined

    groups = lineup_groups(todo, opts, model, runtime)
    try:
        if groups:
            await run_lined(groups, model, max(1, opts.jobs), one)
        else:
            await asyncio.gather(*(worker() for _ in range(workers)))
    finally:
        if bar is not None:
            bar.close()
        await pool.close()


async def _run_job(
    pool: Any, job: Job, opts: EvalOptions, settings: Any, model: Any
) -> dict[str, Any]:
    missing = job.problem.missing_datasets(opts.workdir)
    if missing:  # no point running it: report what the user would have to provide
        return make_record(job, [], [], model=opts.model_spec, missing=missing)
    extra: dict[str, Any] | None = None
    if isinstance(model, ReferenceModel):
        cells = reference_cells(model, job)
        preload = _imports(model, job)
        if hasattr(pool, "run_cells"):  # the fork pool: the whole program in one round trip
            results = await pool.run_cells(cells, preload=preload)
        else:
            async with pool.kernel() as k:
                results = await run_cells(k, cells)
        up = await run_upstream_job(pool, job, cells, preload) if opts.upstream else None
    elif opts.upstream and job.mode == "multi":  # upstream has no single-turn sampler
        cells, raws = await sample_upstream_job(job, model, settings)
        async with pool.kernel() as k:
            # This project's verdict of the same cells: the prefix's imports first, as the
            # engine runs them (upstream's program holds them).
            await k.execute(mtpb_prefix(), timeout=getattr(settings, "timeout", 20.0))
            results = await run_cells(k, cells)
        up = await run_upstream_job(pool, job, cells)
        extra = {"sampler": "upstream", "raw": raws}
    else:
        from assistant.mtpb.engine_run import run_with_engine

        async with pool.kernel() as k:
            cells, results, extra = await run_with_engine(job, k, model, settings, opts)
        up = await run_upstream_job(pool, job, cells) if opts.upstream else None
    return make_record(
        job,
        cells,
        results,
        model=opts.model_spec,
        missing=[],
        extra=extra,
        upstream=up,
        with_upstream=opts.upstream,
    )


def make_pool(
    size: int,
    config: Any,
    runtime: str = "fork",
    preload: Iterable[str] | None = None,
    heavy: Iterable[str] = (),
) -> Any:
    """Where programs run: forked children of a warm server (``ForkPool``, the default), or
    pre-warmed Jupyter kernels reset between programs (``KernelPool``)."""
    if runtime == "jupyter":
        from assistant.execution.pool import KernelPool

        return KernelPool(size=size, config=config)
    from assistant.execution.forkpool import ForkPool

    pre = None if preload is None else list(preload)
    return ForkPool(size=size, config=config, preload=pre, heavy=list(heavy))


_IMPORT = re.compile(r"^\s*(?:import|from)\s+([A-Za-z_][\w.]*)", re.MULTILINE)


def _imports(model: ReferenceModel, job: Job) -> list[str]:
    """Modules a reference program imports (what an in-process harness would have loaded)."""
    try:
        cells = reference_cells(model, job)
    except Exception:
        return []
    return [n for n in dict.fromkeys(_IMPORT.findall("\n".join(cells))) if n != "__future__"]


def _weight(modules: list[str]) -> tuple[int, list[str]]:
    """Programs needing only the standard library first, then by third-party imports."""
    import sys

    third = sorted(m for m in modules if m.split(".")[0] not in sys.stdlib_module_names)
    return (len(third) > 0, third)


def _progress(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    return tqdm(total=total, unit="prog", desc="MTPB", dynamic_ncols=True, disable=None)


def run_sync(
    jobs: list[Job],
    store: ResultStore,
    opts: EvalOptions,
    settings: Any,
    model: Any,
) -> float:
    """``run_eval`` from synchronous code; returns the wall time in seconds."""
    t0 = time.perf_counter()
    asyncio.run(run_eval(jobs, store, opts, settings, model))
    return time.perf_counter() - t0
