"""``eval -n 3`` on a real llama.cpp model (the tiny random GGUF): the three samples of a test
case run at once and their first requests decode as one batch; every program is graded."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from assistant.config import load
from assistant.models.llama import LlamaModel
from assistant.models.tiny_gguf import ban_tokens, byte_token_ids
from assistant.mtpb.problems import load_problems
from assistant.mtpb.runner import EvalOptions, Job, ResultStore, run_eval

pytestmark = [pytest.mark.kernel, pytest.mark.llama]


class Counting(LlamaModel):
    """The real backend, counting the asks of each batched call."""

    rounds: list[int]

    def generate_many(self, asks: list[Any]) -> list[Any]:
        self.rounds.append(len(asks))
        return super().generate_many(asks)


def _eval(tiny: Path, mtpb: Path, samples: int, lineup: bool) -> tuple[Counting, ResultStore]:
    model = Counting(
        tiny, n_ctx=2048, n_threads=1, parallel=4, logits_processor=[ban_tokens(byte_token_ids())]
    )
    model.rounds = []
    try:
        prob = next(p for p in load_problems(mtpb).problems if p.id == "1")
        jobs = [Job(prob, 0, s, "multi") for s in range(samples)]
        settings = load(overrides={"temperature": 0.8, "max_tokens": 24, "threads": 1})
        store = ResultStore.open(None)
        opts = EvalOptions(
            samples=samples, jobs=1, progress=False, model_spec="tiny", refine=1, lineup=lineup
        )
        asyncio.run(run_eval(jobs, store, opts, settings, model))
    finally:
        model.close()
    return model, store


def test_samples_of_a_case_decode_together(tiny_gguf: Path, mtpb_path: Path) -> None:
    model, store = _eval(tiny_gguf, mtpb_path, 3, lineup=True)
    assert sorted(k[2] for k in store.records) == [0, 1, 2]
    assert all(r["verdict"]["kind"] != "harness" for r in store.records.values())
    # turn 1: the same prompt for the three samples, one round of three
    assert model.rounds[0] == 3
    assert sum(model.rounds) >= 3
    # each sample kept its own seed: not three copies of one answer
    firsts = {tuple(r["cells"][:1]) for r in store.records.values()}
    assert len(firsts) > 1


def test_no_lineup_runs_them_one_after_another(tiny_gguf: Path, mtpb_path: Path) -> None:
    model, store = _eval(tiny_gguf, mtpb_path, 2, lineup=False)
    assert len(store.records) == 2 and model.rounds == []
