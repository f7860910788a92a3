"""The one grading path of ``assistant eval``: each program's verdicts come from ``GradingRules``.

* ``ProjectRules``: this project's rules (``grading.py``) on the cells as they ran, graded one
  by one (nothing after the first failure counts, as in upstream's single exec): the record's
  ``verdict``;
* ``UpstreamRules``: upstream's (``upstream.py`` + ``kernels/upstream_exec.py``): the program
  run once more, the way upstream's harness runs it, in a clean runtime of the same pool (a
  ``ProgramPool.call``, one round trip): the record's ``upstream_verdict`` and ``upstream_run``.

``rules_for`` picks them in one place (``--upstream`` adds upstream's); ``make_record`` turns
what they say into one results line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from assistant.execution.result import ExecResult
from assistant.mtpb.grading import Verdict, grade_program
from assistant.mtpb.upstream import upstream_verdict
from assistant.mtpb.upstream_run import run_upstream_job

if TYPE_CHECKING:
    from assistant.execution.runtime import ProgramPool
    from assistant.mtpb.jobs import Job

_STDOUT_KEEP = 2000


@dataclass
class Ran:
    """What ran for one job: its cells and their results (up to the first failure), the
    modules it imports (a runtime may load them ahead), the datasets it lacks."""

    cells: list[str]
    results: list[ExecResult]
    preload: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        failed = next((i for i, r in enumerate(self.results) if not r.ok), None)
        if failed is not None:  # nothing after a failure counts, as in upstream's single exec
            self.results = self.results[: failed + 1]


@dataclass
class Graded:
    verdict: Verdict
    fields: dict[str, Any] = field(default_factory=dict)  # more of the record (the run's trace)


class GradingRules(Protocol):
    """One way of grading a program; ``field`` names its verdict in the record."""

    field: str

    async def grade(self, pool: ProgramPool, job: Job, ran: Ran) -> Graded: ...


class ProjectRules:
    """This project's rules on the per-cell captures (``grading.grade_program``)."""

    field = "verdict"

    async def grade(self, pool: ProgramPool, job: Job, ran: Ran) -> Graded:
        prob = job.problem
        return Graded(
            grade_program(
                ran.results,
                prob.outputs[job.case],
                missing_datasets=ran.missing,
                datasets=prob.datasets(),
            )
        )


class UpstreamRules:
    """Upstream's rules: the whole program run once more as upstream's harness runs it."""

    field = "upstream_verdict"

    async def grade(self, pool: ProgramPool, job: Job, ran: Ran) -> Graded:
        if ran.missing:  # it cannot run: upstream would say what this project says
            return await ProjectRules().grade(pool, job, ran)
        up = await run_upstream_job(pool, job, ran.cells, ran.preload)
        verdict = upstream_verdict(up, job.problem.outputs[job.case], job.problem.datasets())
        keep = ("status", "error", "prints", "duration")
        return Graded(verdict, {"upstream_run": {k: up.get(k) for k in keep}})


def rules_for(upstream: bool) -> tuple[GradingRules, ...]:
    """The rules a run grades with: this project's, and upstream's too with ``--upstream``
    (which a report shows is the report's choice; a model's ``--upstream`` run also samples
    differently, so its file is never mixed)."""
    return (ProjectRules(), UpstreamRules()) if upstream else (ProjectRules(),)


async def grade(
    pool: ProgramPool, job: Job, ran: Ran, rules: Sequence[GradingRules]
) -> list[tuple[str, Graded]]:
    """Every rule's verdict of one program, in the order of ``rules``."""
    return [(r.field, await r.grade(pool, job, ran)) for r in rules]


def job_fields(job: Job, model: str) -> dict[str, Any]:
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
    ran: Ran,
    graded: Sequence[tuple[str, Graded]],
    *,
    model: str,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One results line: the program, what it printed, and each rule's verdict."""
    verdicts = {name: g.verdict.to_dict() for name, g in graded}
    rec: dict[str, Any] = {
        **job_fields(job, model),
        "verdict": verdicts.pop("verdict"),
        "cells": ran.cells,
        "results": _results_summary(ran.results),
        "time": round(sum(r.duration for r in ran.results), 4),
        **verdicts,
    }
    for _, g in graded:
        rec.update(g.fields)
    if extra:
        rec.update(extra)
    return rec


def _results_summary(results: list[ExecResult]) -> list[dict[str, Any]]:
    return [
        {
            "status": r.status,
            "duration": round(r.duration, 4),
            "stdout": r.stdout[-_STDOUT_KEEP:],
            "error": r.error.summary() if r.error else None,
            "message": r.message,
        }
        for r in results
    ]
