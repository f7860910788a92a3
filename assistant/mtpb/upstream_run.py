"""``--upstream`` for one eval job: the program run once more the way upstream's harness runs
it (in a fresh child of a fork server, or a clean Jupyter kernel, each in a fresh folder), and
upstream's sampler for model runs. The rules themselves are in ``upstream.py`` and
``kernels/upstream_exec.py``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from assistant.mtpb.upstream import (
    CLIENT_SLACK,
    PROGRAM_TIMEOUT,
    RUNNER,
    result_from_call,
    sample_upstream,
    single_program,
    upstream_program,
)

if TYPE_CHECKING:
    from assistant.execution.runtime import ProgramPool
    from assistant.mtpb.jobs import Job


async def run_upstream_job(
    pool: ProgramPool, job: Job, cells: list[str], preload: Sequence[str] = ()
) -> dict[str, Any]:
    """The program run once more, exactly as upstream's harness runs it, in a clean runtime of
    ``pool`` (a fresh child of a fork server in one round trip, or a clean Jupyter kernel)."""
    prompts = job.problem.filled_prompts(job.case)
    if job.mode == "single":
        program = single_program(prompts, cells[0] if cells else "")
    else:
        program = upstream_program(prompts, cells)
    expected = job.problem.outputs[job.case]
    args = {"program": program, "timeout": PROGRAM_TIMEOUT, "expected": expected}
    reply = await pool.call(
        RUNNER,
        args,
        timeout=PROGRAM_TIMEOUT + CLIENT_SLACK,
        # Upstream's program starts with the prefix's ``import numpy as np``: a child of a fork
        # server that has numpy loaded costs ~5 ms, importing it afresh ~100 ms.
        preload=[*preload, "numpy"],
    )
    return result_from_call(reply)


async def sample_upstream_job(job: Job, model: Any, settings: Any) -> tuple[list[str], list[str]]:
    """Upstream's sampler for one job (a worker thread: generation blocks)."""
    from assistant.mtpb.engine_run import serial

    prob = job.problem
    prompts = prob.filled_prompts(job.case)
    meta = {"problem": prob.id, "case": job.case, "sample": job.sample, "mode": job.mode}
    meta["inputs"] = prob.inputs[job.case]
    return await asyncio.to_thread(
        sample_upstream, prompts, serial(model), settings, meta, prob.max_gen_length
    )
