"""The one grading path: which rules grade a run, and the results line they make."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import pytest

from assistant.execution.result import ExecError, ExecResult, Printed
from assistant.execution.runtime import ProgramPool
from assistant.mtpb.jobs import Job
from assistant.mtpb.problems import Problem
from assistant.mtpb.rules import ProjectRules, Ran, UpstreamRules, grade, make_record, rules_for

pytestmark = pytest.mark.unit

PROB = Problem("9", "p", "d", "c", ["Set x.", "Print x."], [{}], [3])
JOB = Job(PROB, 0, 0, "multi")
# ``ProjectRules`` grades the captures it is given and never runs anything: no pool needed.
NO_POOL = cast(ProgramPool, None)


def printed(value: Any) -> ExecResult:
    return ExecResult(
        status="ok", printed=[Printed(type(value).__name__, value, True, repr(value))]
    )


def test_upstream_rules_only_with_upstream() -> None:
    assert [type(r) for r in rules_for(False)] == [ProjectRules]
    assert [type(r) for r in rules_for(True)] == [ProjectRules, UpstreamRules]
    assert [r.field for r in rules_for(True)] == ["verdict", "upstream_verdict"]


def test_nothing_after_the_first_failure_counts() -> None:
    err = ExecResult(status="error", error=ExecError("NameError", "y"))
    ran = Ran(["x = 3", "y", "print(x)"], [ExecResult(status="ok"), err, printed(3)])
    assert [r.status for r in ran.results] == ["ok", "error"]
    graded = asyncio.run(grade(NO_POOL, JOB, ran, rules_for(False)))
    rec = make_record(JOB, ran, graded, model="m", extra={"sampler": "s"})
    assert rec["verdict"]["kind"] == "error" and "upstream_verdict" not in rec
    assert rec["cells"] == ran.cells and len(rec["results"]) == 2 and rec["sampler"] == "s"
    assert (rec["problem"], rec["case"], rec["sample"], rec["mode"]) == ("9", 0, 0, "multi")


def test_a_program_that_cannot_run_gets_both_verdicts() -> None:
    ran = Ran([], [], missing=["./datasets/x.csv"])
    graded = asyncio.run(grade(NO_POOL, JOB, ran, rules_for(True)))
    rec = make_record(JOB, ran, graded, model="m")
    assert rec["verdict"] == rec["upstream_verdict"]
    assert rec["verdict"]["kind"] == "needs_dataset" and "upstream_run" not in rec
