"""Interactive benchmark: multi-turn tasks typed as a user types them, judged by hidden checks.

    python bench/bench_interactive.py --model smollm2-135m --configs on off derived state
    python bench/bench_interactive.py --reference     # the reference code as the model

Every step of ``bench/interactive_tasks.toml`` goes through the REPL's path: a ``Controller``
(the settings, engine options and checks the REPL gets) runs the step's words as a turn. Then a
hidden check the model never sees (``check``: an expression true in the kernel afterwards,
``out``: text the output must contain) says whether the step did what was asked. A step not
done is repaired with its reference code (``/edit``: the same path a user takes), so later
steps are judged on a correct state.

Per model and configuration: steps done (the product said passed and the hidden check
agrees), said passed, false passes (said passed, not done), false failures (said failed, but
the code did it), fixed by refinement (done on a later attempt), reference false failures (the
reference code failing the product's own checks: must be 0) and time. Configurations:
``on`` (derived checks and state), ``off`` (neither), ``derived`` (derived checks only),
``state`` (state only), ``default`` (the settings' defaults). Results go to
``bench/results/`` (git-ignored) as JSON, with a Markdown table on stdout.

``--reference`` answers every step with its reference code (the scripted backend) instead of a
model: every step must be done, with no false failure, or the task file is wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import tomllib

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from assistant.config import Settings
from assistant.engine.session import Turn
from assistant.frontends.controller import Controller
from assistant.models.base import Model

HERE = Path(__file__).resolve().parent
TASKS = HERE / "interactive_tasks.toml"
RESULTS = HERE / "results"
CONFIGS: dict[str, dict[str, Any]] = {
    "on": {"derived_checks": True, "prompt_state": True},
    "off": {"derived_checks": False, "prompt_state": False},
    "derived": {"derived_checks": True, "prompt_state": False},
    "state": {"derived_checks": False, "prompt_state": True},
    "default": {},
}


@dataclass
class Step:
    text: str
    ref: str
    check: str = ""
    out: str = ""


@dataclass
class Task:
    name: str
    steps: list[Step]


@dataclass
class Tally:
    config: str
    model: str
    steps: int = 0
    done: int = 0
    said_passed: int = 0
    false_passes: int = 0
    false_failures: int = 0
    fixed_by_refinement: int = 0
    reference_false_failures: int = 0
    seconds: float = 0.0
    rows: list[dict[str, Any]] = field(default_factory=list)


def load_tasks(path: Path = TASKS) -> list[Task]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    tasks = []
    for t in data["task"]:
        steps = [Step(**s) for s in t["step"]]
        for s in steps:
            if not (s.check or s.out):
                raise ValueError(f"{path}: a step of task {t['name']!r} has no hidden check")
        tasks.append(Task(t["name"], steps))
    return tasks


def last_run(turn: Turn) -> Any:
    """The candidate whose state the kernel holds after the turn (the committed one if any)."""
    for attempt in reversed(turn.attempts):
        for cand in attempt.candidates:
            if turn.committed and cand.passed and cand.code == turn.code:
                return cand
    for attempt in reversed(turn.attempts):
        best = attempt.best
        if best is not None and best.result is not None and not best.no_code:
            return best
    return None


async def hidden_check(ctl: Controller, step: Step, turn: Turn) -> bool:
    cand = last_run(turn)
    if cand is None or cand.result is None or not cand.result.ok:
        return False
    if step.out and step.out not in cand.result.stdout + "\n".join(cand.result.display):
        return False
    if step.check:
        assert ctl.kernel is not None
        found = await ctl.kernel.evaluate({"c": f"bool({step.check})"})
        data = found.get("c", {})
        if data.get("status") != "ok":
            return False
        return bool(data["data"]["text/plain"] == "True")
    return True


def committed_on_refinement(turn: Turn) -> bool:
    for attempt in turn.attempts:
        for cand in attempt.candidates:
            if cand.passed and cand.code == turn.code:
                return attempt.index > 0
    return False


async def run_config(
    model: Model, name: str, config: str, tasks: list[Task], base: Settings
) -> Tally:
    import dataclasses

    settings = dataclasses.replace(base, **CONFIGS[config])
    tally = Tally(config, name)
    ctl = Controller(settings, lambda e: None, model=model, autosave_enabled=False)
    await ctl.start()
    try:
        for task in tasks:
            await ctl.reset()
            for i, step in enumerate(task.steps):
                started = time.perf_counter()
                turn = await ctl.run_turn(step.text)
                took = time.perf_counter() - started
                said = turn.status == "passed"
                did = await hidden_check(ctl, step, turn)
                done = said and did
                tally.steps += 1
                tally.seconds += took
                tally.said_passed += said
                tally.done += done
                tally.false_passes += said and not did
                tally.false_failures += did and not said
                tally.fixed_by_refinement += done and committed_on_refinement(turn)
                cand = last_run(turn)
                tally.rows.append(
                    {
                        "task": task.name,
                        "step": i,
                        "said": said,
                        "did": did,
                        "attempts": len(turn.attempts),
                        "label": cand.label if cand is not None else "",
                        "code": turn.code if said else (cand.code if cand else ""),
                        "feedback": cand.feedback if cand is not None else "",
                        "seconds": round(took, 2),
                    }
                )
                if not done:
                    fixed = await ctl.edit(turn.index, step.ref)
                    if not fixed.committed:
                        tally.reference_false_failures += 1
                        fixed.derived = []
                        await ctl.edit(turn.index, step.ref)
    finally:
        if ctl.kernel is not None:
            await ctl.kernel.shutdown()
    return tally


def reference_model(tasks: list[Task]) -> Model:
    """A scripted model that answers each step's words with the step's reference code."""
    from assistant.models.base import Request
    from assistant.models.scripted import ScriptedModel

    refs = {s.text: s.ref for t in tasks for s in t.steps}

    def answer(request: Request) -> str:
        prompt = request.prompt or (request.messages or [{}])[-1].get("content", "")
        hits = [(prompt.rfind(text), ref) for text, ref in refs.items() if text in prompt]
        return max(hits)[1] if hits else "pass"

    return ScriptedModel(answer, name="reference-steps")


def table(tallies: list[Tally]) -> str:
    head = (
        "| model | config | steps done | said passed | false passes | false failures "
        "| fixed by refinement | ref. false failures | time (s) |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    rows = [
        f"| {t.model} | {t.config} | {t.done}/{t.steps} | {t.said_passed} | {t.false_passes} "
        f"| {t.false_failures} | {t.fixed_by_refinement} | {t.reference_false_failures} "
        f"| {t.seconds:.0f} |"
        for t in tallies
    ]
    return "\n".join([head, *rows])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--model", help="model spec (smollm2-135m, gemma3-270m, ...)")
    p.add_argument("--reference", action="store_true", help="answer with the reference code")
    p.add_argument("--configs", nargs="+", default=["on", "off"], choices=list(CONFIGS))
    p.add_argument("--tasks", type=int, default=0, help="only the first N tasks")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--max-tokens", type=int, default=None)
    p.add_argument("--out", help="results JSON (default bench/results/interactive-MODEL.json)")
    args = p.parse_args(argv)
    from assistant.frontends.loading import load_model_for

    overrides = {"autosave": False, "model": args.model}
    if args.threads:
        overrides["threads"] = args.threads
    if args.max_tokens:
        overrides["max_tokens"] = args.max_tokens
    base = Settings(**overrides)
    tasks = load_tasks()
    if args.tasks:
        tasks = tasks[: args.tasks]
    if args.reference:
        model = reference_model(tasks)
        args.model = "reference"
    elif args.model:
        model = load_model_for(base, args.model)
    else:
        p.error("give --model or --reference")
    tallies: list[Tally] = []
    RESULTS.mkdir(exist_ok=True)
    stem = args.model.replace("/", "_").replace(":", "_")
    out = Path(args.out) if args.out else RESULTS / f"interactive-{stem}.json"
    try:
        for config in args.configs:
            tally = asyncio.run(run_config(model, args.model, config, tasks, base))
            tallies.append(tally)
            print(table([tally]).splitlines()[-1], flush=True)
            # after each configuration: a long run cut short keeps what it measured
            out.write_text(json.dumps([asdict(t) for t in tallies], indent=1), encoding="utf-8")
    finally:
        model.close()
    print(table(tallies))
    print(f"details: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
