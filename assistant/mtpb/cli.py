"""Handlers of ``assistant eval``, ``assistant replay`` and ``assistant mtpb download|check|list``.

Each is ``f(args, settings) -> exit code``; argument parsing lives in ``assistant.cli``.
Exit codes: 0 done, 1 the work ran but found problems (check errors), 2 bad usage or data,
3 (``eval``) the good problems were graded but malformed lines of the data were skipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from assistant.errors import AssistantError
from assistant.mtpb.problems import (
    DataNotFound,
    LoadResult,
    Problem,
    load_problems,
    parse_ids,
    resolve_path,
)

SKIPPED_LINES = 3  # eval's exit code when malformed data lines were skipped


def _err(msg: str) -> None:
    print(f"assistant: {msg}", file=sys.stderr)


def _load(path_arg: str | None, quiet: bool = False) -> LoadResult | None:
    try:
        path = resolve_path(path_arg)
    except DataNotFound as exc:
        _err(str(exc))
        return None
    res = load_problems(path)
    if res.errors and not quiet:
        _err(f"{len(res.errors)} malformed line(s) in {path} skipped:")
        for e in res.errors:
            print(f"  {e}", file=sys.stderr)
    return res


def model_spec(settings: Any) -> str:
    return str(settings.model or "reference")


def make_model(spec: str, problems: list[Problem], settings: Any = None) -> Any:
    from assistant.mtpb.reference import ReferenceModel, register

    if spec == "reference":  # the problems already loaded, not the default data path
        return ReferenceModel(problems={p.id: p for p in problems})
    register()
    from assistant.models import load_model, load_model_for

    return load_model(spec) if settings is None else load_model_for(settings, spec)


# -- assistant eval ----------------------------------------------------------------------------
def evaluate(args: Any, settings: Any) -> int:
    from assistant.mtpb import report
    from assistant.mtpb.runner import EvalOptions, ResultStore, make_jobs, run_sync

    loaded = _load(getattr(args, "mtpb", None))
    if loaded is None or not loaded.problems:
        return 2
    known = [p.id for p in loaded.problems]
    try:
        ids = set(parse_ids(getattr(args, "problems", None), known))
    except ValueError as exc:
        _err(str(exc))
        return 2
    problems = [p for p in loaded.problems if p.id in ids]
    ks = sorted(set(args.k or [1]))
    samples = max(1, int(args.samples or 1))
    if ks[-1] > samples:
        _err(f"pass@{ks[-1]} needs -n >= {ks[-1]} samples; it will be reported as n/a")
    modes = ("multi", "single") if args.mode == "both" else (args.mode or "multi",)
    spec = model_spec(settings)
    out = Path(args.out) if getattr(args, "out", None) else None
    store = ResultStore.open(out)
    store.need_upstream = bool(getattr(args, "upstream", False))
    if store.dropped_torn:
        _err(f"{out}: dropped a torn last line (an earlier run was interrupted)")
    if store.bad_lines:
        _err(f"{out}: ignored unreadable lines {store.bad_lines[:10]}")
    others = {r.get("model") for r in store.records.values()} - {spec}
    if others:
        _err(
            f"{out} holds results of model {sorted(map(str, others))}, not {spec}: use another --out"
        )
        return 2
    if spec != "reference":
        # Model runs sample differently with --upstream: never mix the two in one file.
        want = "upstream" if args.upstream else "engine"
        mixed = {r.get("sampler", "engine") for r in store.records.values()} - {want}
        if mixed and store.records:
            _err(
                f"{out} holds results sampled {'without' if args.upstream else 'with'} "
                "--upstream: use another --out"
            )
            return 2
    jobs = make_jobs(problems, samples, modes)
    done = sum(1 for j in jobs if store.done(j.key))
    if done:
        print(f"resuming: {done} of {len(jobs)} programs already graded in {out}", file=sys.stderr)
    opts = EvalOptions(
        samples=samples,
        modes=modes,
        jobs=max(1, int(args.jobs or 1)),
        concurrency=getattr(args, "concurrency", None),
        runtime=getattr(args, "runtime", None) or "fork",
        lineup=bool(getattr(args, "lineup", True)),
        out=out,
        refine=args.refine,
        model_spec=spec,
        workdir=Path(settings.workdir).expanduser() if settings.workdir else None,
        sessions=[] if getattr(args, "export_training", None) else None,
        upstream=bool(getattr(args, "upstream", False)),
    )
    try:
        model = make_model(spec, problems, settings)
    except (AssistantError, OSError) as exc:
        _err(f"cannot load model {spec!r}: {exc}")
        return 2
    from assistant.execution.result import KernelError

    try:
        wall = run_sync(jobs, store, opts, settings, model)
    except KernelError as exc:  # no kernel at all: nothing can be graded
        _err(f"cannot run programs: {exc}")
        return 2
    finally:
        close = getattr(model, "close", None)
        if close is not None:
            close()
    records = [store.records[j.key] for j in jobs if store.done(j.key)]
    summary = report.summarize(
        records, ks, upstream=bool(args.upstream), modes=modes, model=spec, samples=samples
    )
    summary["wall_time_s"] = round(wall, 2)
    summary["programs_run_now"] = len(jobs) - done
    print(report.format_summary(summary))
    print(f"\n{len(jobs) - done} program(s) run in {wall:.1f} s with {opts.jobs} job(s)")
    code = _extras(args, records, problems, opts, summary)
    if getattr(args, "report", None):
        Path(args.report).write_text(json.dumps(summary, indent=1, default=repr) + "\n")
        print(f"summary written to {args.report}")
    if loaded.errors and code == 0:
        _err(
            f"{len(loaded.errors)} malformed line(s) of the MTPB data were skipped (listed "
            f"above): these results cover only the {len(loaded.problems)} problems that loaded"
        )
        return SKIPPED_LINES
    return code


def _extras(
    args: Any,
    records: list[dict[str, Any]],
    problems: list[Problem],
    opts: Any,
    summary: dict[str, Any],
) -> int:
    """--similarity and --export-training; returns the exit code (1 if one could not be done)."""
    from assistant.mtpb import extras

    code = 0
    if getattr(args, "similarity", False):
        from assistant.mtpb.similarity import SimilarityUnavailable

        try:
            sim = extras.similarity_summary(records, problems)
        except SimilarityUnavailable as exc:
            _err(str(exc))
            code = 1
        else:
            summary["similarity"] = sim
            print("\n" + extras.format_similarity(sim))
    if getattr(args, "export_training", None):
        if opts.sessions is None or not opts.sessions:
            _err(
                "--export-training: no model sessions in this run (the reference model and "
                "programs graded by an earlier run have none); nothing written"
            )
        else:
            written = extras.export_training(opts.sessions, args.export_training)
            summary["training_export"] = written
            for kind, (path, n) in written.items():
                print(f"training data: {n} {kind} record(s) written to {path}")
    return code


# -- assistant replay --------------------------------------------------------------------------
def replay(args: Any, settings: Any) -> int:
    import asyncio

    from assistant.mtpb.replay import replay_problem

    loaded = _load(getattr(args, "mtpb", None))
    if loaded is None:
        return 2
    prob = loaded.by_id().get(str(args.problem).strip())
    if prob is None:
        _err(f"no MTPB problem {args.problem} (ids 1-{len(loaded.problems)})")
        return 2
    cases = list(range(prob.cases)) if args.all_cases else [int(args.case)]
    if any(not 0 <= c < prob.cases for c in cases):
        _err(f"problem {prob.id} has test cases 0-{prob.cases - 1}")
        return 2
    spec = model_spec(settings)
    try:
        model = make_model(spec, loaded.problems, settings)
    except (AssistantError, OSError) as exc:
        _err(f"cannot load model {spec!r}: {exc}")
        return 2
    verdicts = asyncio.run(replay_problem(prob, cases, model, settings, step=bool(args.step)))
    return 0 if all(v.passed for v in verdicts) else 1


# -- assistant mtpb download|check|list ---------------------------------------------------------
def data(args: Any, settings: Any) -> int:
    action = args.mtpb_command
    if action == "download":
        return _download(args)
    if action == "check":
        return _check(getattr(args, "path", None))
    if action == "list":
        return _list(getattr(args, "mtpb", None))
    _err(f"unknown action {action!r}")
    return 2


def _download(args: Any) -> int:
    from assistant.mtpb.download import DownloadError, download
    from assistant.mtpb.problems import cached_copy

    dest = Path(args.to).expanduser() if getattr(args, "to", None) else cached_copy()
    try:
        path = download(dest, getattr(args, "url", None))
    except DownloadError as exc:
        _err(str(exc))
        return 1
    res = load_problems(path)
    print(f"saved {path} ({len(res.problems)} problems, {len(res.errors)} malformed lines)")
    return 0 if not res.errors else 1


def _check(path_arg: str | None) -> int:
    try:
        path = resolve_path(path_arg)
    except DataNotFound as exc:
        _err(str(exc))
        return 2
    res = load_problems(path)
    for e in res.errors:
        print(f"error: {e}")
    for w in res.warnings:
        print(f"warning: {w}")
    needs = [f"{p.id} ({', '.join(p.datasets())})" for p in res.problems if p.datasets()]
    print(
        f"{path}: {len(res.problems)} problems loaded, {len(res.errors)} error(s), "
        f"{len(res.warnings)} warning(s)"
    )
    if needs:
        print(f"problems reading datasets MTPB does not ship: {', '.join(needs)}")
    return 1 if res.errors else 0


def _list(path_arg: str | None) -> int:
    res = _load(path_arg)
    if res is None:
        return 2
    print(f"{'id':>4}  {'category':<13} {'turns':>5}  name")
    for p in res.problems:
        extra = "  [needs dataset]" if p.datasets() else ""
        print(f"{p.id:>4}  {p.category:<13} {len(p.prompts):>5}  {p.name}{extra}")
    return 0
