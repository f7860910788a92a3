"""What ``assistant eval`` runs: a ``Job`` is one (problem, test case, sample, mode), and
``EvalOptions`` how a run goes. Apart from the runner so that the modules it drives (the engine
run, the lineup, the upstream run) can name them without importing it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.mtpb.problems import Problem
from assistant.mtpb.results import Key

__all__ = ["EvalOptions", "Job", "make_jobs"]


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
