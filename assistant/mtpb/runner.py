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

Programs run in a ``ProgramPool`` (``execution/runtime.py``; the fork runtime or Jupyter
kernels, picked by ``execution/choose.py``). Every program gets this project's verdict (cell
by cell, ``grading.py``); with ``--upstream`` also upstream's, from running the whole program
once more (a fresh child, a fresh folder) exactly as upstream's harness does: both are
``GradingRules`` of the one grading path (``rules.py``).
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable
from typing import Any

from assistant.engine.prompting import mtpb_prefix
from assistant.execution.choose import choose_runtime
from assistant.execution.choose import make_pool as make_pool
from assistant.execution.result import ExecResult
from assistant.execution.runtime import ProgramPool, Runtime
from assistant.models.base import ServerError
from assistant.mtpb.grading import Kind, Verdict
from assistant.mtpb.jobs import EvalOptions as EvalOptions
from assistant.mtpb.jobs import Job as Job
from assistant.mtpb.jobs import make_jobs as make_jobs
from assistant.mtpb.reference import ReferenceModel, program_code
from assistant.mtpb.results import Key as Key
from assistant.mtpb.results import ResultStore as ResultStore
from assistant.mtpb.rules import Ran, grade, job_fields, make_record, rules_for
from assistant.mtpb.upstream_run import sample_upstream_job


def harness_failure(job: Job, exc: BaseException, model: str) -> dict[str, Any]:
    """A job whose harness failed (kernel could not start, model error...): still a verdict."""
    kind: Kind = "died" if type(exc).__name__ in ("KernelDied", "KernelStartError") else "error"
    v = Verdict(kind, f"harness: {type(exc).__name__}: {exc}", job.problem.outputs[job.case])
    return {
        **job_fields(job, model),
        "verdict": v.to_dict(),
        "upstream_verdict": v.to_dict(),
        "cells": [],
        "results": [],
        "time": 0.0,
        "harness_error": True,
    }


async def run_cells(kernel: Runtime, cells: list[str]) -> list[ExecResult]:
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
    runtime = choose_runtime(opts.runtime, cfg)
    heavy: list[str] = []  # what the second fork server imports at start
    heavy_jobs: list[Job] = []  # programs that need it (third-party modules)
    preload: list[str] | None = None  # the fork server's default (numpy, pandas)
    if isinstance(model, ReferenceModel) and runtime == "fork":
        # Known programs: the server imports what each needs just before forking it, and the
        # programs run lightest first, so most forks copy a small process (fork time grows
        # with the parent's size: ~0.3 ms bare, ~2.4 ms with sklearn loaded).
        preload = ["numpy"] if opts.upstream else []
        todo.sort(key=lambda j: _weight(_imports(model, j)))
        needs = {
            j.key: [m for m in _weight(_imports(model, j))[1] if m.split(".")[0] not in preload]
            for j in todo
        }
        heavy_jobs = [j for j in todo if needs[j.key]]
        todo = [j for j in todo if not needs[j.key]]
        # The second server imports what the first of its programs needs (numpy for most of
        # MTPB's), the rest (pandas, sklearn) only when a program asks: most of its forks then
        # copy a process of 28 MB, not 145 MB.
        heavy = needs[heavy_jobs[0].key] if heavy_jobs else []
    pool = make_pool(max(1, opts.jobs), cfg, runtime=runtime, preload=preload, heavy=heavy)
    queue: asyncio.Queue[Job] = asyncio.Queue()
    for j in todo:
        queue.put_nowait(j)
    # Its own queue and workers: the second server works from the start, beside the others,
    # not alone at the end of a queue sorted lightest first.
    heavy_queue: asyncio.Queue[Job] = asyncio.Queue()
    for j in heavy_jobs:
        heavy_queue.put_nowait(j)
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

    async def worker(queue: asyncio.Queue[Job]) -> None:
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
            # Two for the second server: one runs, the next waits there, ready to start.
            heavy_workers = [worker(heavy_queue) for _ in range(2 if heavy_jobs else 0)]
            await asyncio.gather(*(worker(queue) for _ in range(workers)), *heavy_workers)
    finally:
        store.sync()
        if bar is not None:
            bar.close()
        await pool.close()


async def _run_job(
    pool: ProgramPool, job: Job, opts: EvalOptions, settings: Any, model: Any
) -> dict[str, Any]:
    missing = job.problem.missing_datasets(opts.workdir)
    if missing:  # no point running it: report what the user would have to provide
        ran = Ran([], [], missing=missing)
        # Both verdicts, whatever was asked: upstream's would say the same.
        graded = await grade(pool, job, ran, rules_for(upstream=True))
        return make_record(job, ran, graded, model=opts.model_spec)
    extra: dict[str, Any] | None = None
    preload: list[str] = []
    if isinstance(model, ReferenceModel):
        cells = reference_cells(model, job)
        preload = _imports(model, job)
        results = await pool.run_cells(cells, preload=preload)  # one round trip where it can
    elif opts.upstream and job.mode == "multi":  # upstream has no single-turn sampler
        cells, raws = await sample_upstream_job(job, model, settings)
        async with pool.kernel() as k:
            # This project's verdict of the same cells: the prefix's imports first, as the
            # engine runs them (upstream's program holds them).
            await k.execute(mtpb_prefix(), timeout=getattr(settings, "timeout", 20.0))
            results = await run_cells(k, cells)
        extra = {"sampler": "upstream", "raw": raws}
    else:
        from assistant.mtpb.engine_run import run_with_engine

        async with pool.kernel() as k:
            cells, results, extra = await run_with_engine(job, k, model, settings, opts)
    ran = Ran(cells, results, preload)
    graded = await grade(pool, job, ran, rules_for(opts.upstream))
    return make_record(job, ran, graded, model=opts.model_spec, extra=extra)


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
