"""The MTPB table on real models: one command, resumable, with a progress bar and an ETA.

    python bench/bench_mtpb_table.py [--models smollm2-135m gemma3-270m] [--problems 1-10]
        [--cases 0] [-n 5] [--out bench-out/mtpb-table] [--markdown table.md]

Defaults: all 115 problems, test case 0, four runs per model (hours on 2 cores: it resumes
where it stopped, so run it in the background and rerun it until it says "0 to run").

Per model, these runs (each a results JSONL under ``--out``; a rerun skips what is done):

* ``refine-auto``: multi-turn, temperature 0, ``--refine`` attempts per turn with the
  refinement prompt measured best for the model's style (``refine_prompt = "auto"``).
  Without refinement is read off the same run: a program passes without refinement when it
  passed and no turn needed a second attempt (only failing turns are refined; the first
  attempts are the same greedy run).
* ``refine-<variant>`` (plain, primed, hint, retry; not run by default): the same with one
  refinement prompt, to compare the prompts.
* ``single``  the single-turn control (all turn prompts in one), greedy, no refinement.
* ``sampled`` multi-turn, ``-n`` samples at temperature 0.2, top-p 0.95 (the paper's
  sampling), no refinement: pass@1 and pass@n, and a program-level pick among the n samples
  (random = pass@1, execution ranker, MBR-exec on the printed output).
* ``ranked``  multi-turn, ``--candidates`` per turn at temperature 0.2, ranked by the
  execution ranker at every turn; at the last turn the same candidates are also ordered by
  MBR-exec and picked at random, to ask whether ranking puts a correct program first.

Models are built-in names (``smollm2-135m``, ``gemma3-270m``: fetched once into the model
cache) or GGUF paths. Chat style when the model loads in chat mode
(it has a chat template and an instruct name). CodeGen-Mono 350M's published MTPB pass rates
(Nijkamp et al. 2023, Table 3) are printed beside for scale.

The figures are computed from the results records in ``bench/mtpb_figures.py`` (with the
engine's rankers and ``assistant.mtpb.metrics``); this file runs the configurations and
writes the table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

PUBLISHED = {"multi": 16.98, "single": 5.75}  # CodeGen-Mono 350M pass@1 (%), MTPB paper
VARIANTS = ("plain", "primed", "hint", "retry")  # refinement prompts (setting refine_prompt)
CONFIGS = (*(f"refine-{v}" for v in ("auto", *VARIANTS)), "single", "ranked", "sampled")
DEFAULT_CONFIGS = ("refine-auto", "single", "sampled", "ranked")  # cheapest first


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--models", nargs="+", default=["smollm2-135m", "gemma3-270m"])
    p.add_argument("--mtpb", help="mtpb.jsonl (default: cached download or ../shared)")
    p.add_argument("--problems", default="1-115", help="problem ids, e.g. '1-10,42'")
    p.add_argument("--cases", default="0", help="test cases per problem, e.g. '0' or '0-4'")
    p.add_argument("-n", "--samples", type=int, default=5, help="samples of the sampled run")
    p.add_argument("--candidates", type=int, default=5, help="candidates per turn when ranked")
    p.add_argument("--refine", type=int, default=3, help="attempts per turn (greedy, single)")
    p.add_argument(
        "--refine-prompt", default="auto", choices=["auto", "plain", "primed", "hint", "retry"]
    )
    p.add_argument(
        "--configs", default=",".join(DEFAULT_CONFIGS), help="any of " + ",".join(CONFIGS)
    )
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--jobs", type=int, default=2, help="programs in flight (one model)")
    p.add_argument("--out", default="bench-out/mtpb-table", help="results folder (resumable)")
    p.add_argument("--markdown", help="also write the table to this file")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--report-only",
        action="store_true",
        help="run nothing: the table from what the results JSONL hold so far (with the counts)",
    )
    return p.parse_args(argv)


def _ids(text: str) -> list[int]:
    out: list[int] = []
    for part in text.split(","):
        a, _, b = part.strip().partition("-")
        out.extend(range(int(a), int(b or a) + 1))
    return out


def resolve_model(spec: str, settings: Any) -> tuple[str, Any]:
    """A built-in name (fetched once into the model cache) or a GGUF path, loaded."""
    from assistant.frontends.loading import load_model_for

    try:
        return spec, load_model_for(settings, spec)
    except Exception as exc:
        raise SystemExit(f"cannot load model {spec!r}: {exc}") from None


def config_settings(base: Any, name: str, args: argparse.Namespace) -> tuple[Any, dict]:
    """Settings and run shape (mode, samples, refine) of one configuration."""
    greedy = replace(base, temperature=0.0, candidates=1)
    sampled = replace(base, temperature=0.2, top_p=0.95, candidates=1)
    if name.startswith("refine-") and name[7:] in ("auto", *VARIANTS):
        settings = replace(greedy, refine_prompt=name[7:])
        return settings, {"mode": "multi", "samples": 1, "refine": args.refine}
    if name == "single":
        return greedy, {"mode": "single", "samples": 1, "refine": 1}
    if name == "sampled":
        return sampled, {"mode": "multi", "samples": args.samples, "refine": 1}
    if name == "ranked":
        ranked = replace(sampled, candidates=args.candidates, ranker="execution")
        return ranked, {"mode": "multi", "samples": 1, "refine": 1}
    raise SystemExit(f"unknown config {name!r} (known: {', '.join(CONFIGS)})")


def main(argv: list[str] | None = None) -> int:
    from tqdm import tqdm

    from assistant.config import load
    from assistant.mtpb.problems import load_problems, resolve_path
    from assistant.mtpb.runner import EvalOptions, Job, ResultStore, run_eval
    from bench.mtpb_figures import figures

    args = parse_args(argv)
    configs = [c.strip() for c in args.configs.split(",") if c.strip()]
    loaded = load_problems(resolve_path(args.mtpb))
    wanted = set(map(str, _ids(args.problems)))
    problems = [p for p in loaded.problems if p.id in wanted]
    cases = _ids(args.cases)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    walls_path = out / "walls.json"
    walls: dict[str, float] = json.loads(walls_path.read_text()) if walls_path.exists() else {}
    styles_path = out / "styles.json"
    styles: dict[str, str] = json.loads(styles_path.read_text()) if styles_path.exists() else {}

    def jobs_for(shape: dict) -> list[Any]:
        return [
            Job(p, c, s, shape["mode"])
            for p in problems
            for c in cases
            if c < p.cases
            for s in range(shape["samples"])
        ]

    # Plan everything first: one bar over all programs still to run, so the ETA is global.
    plan = []
    base = load(overrides={"threads": args.threads, "seed": args.seed})
    base = replace(base, refine_prompt=args.refine_prompt)
    for name in configs:  # all models per config: a cut-short run still compares them
        for spec in args.models:
            settings, shape = config_settings(base, name, args)
            path = out / f"{_tag(spec)}.{name}.jsonl"
            store = ResultStore.open(path)
            jobs = jobs_for(shape)
            plan.append((spec, name, settings, shape, path, store, jobs))
    todo = sum(1 for *_, store, jobs in plan for j in jobs if not store.done(j.key))
    total = sum(len(jobs) for *_, jobs in plan)
    print(
        f"MTPB table: {len(args.models)} model(s) x {len(configs)} config(s), "
        f"{len(problems)} problems x cases {args.cases}: {total} programs, {todo} to run",
        file=sys.stderr,
    )
    bar = tqdm(total=todo, unit="prog", desc="MTPB table", dynamic_ncols=True)
    rows: dict[str, dict[str, Any]] = {}
    loaded_models: dict[str, tuple[str, Any]] = {}
    try:
        for spec, name, settings, shape, path, store, jobs in plan:
            left = [] if args.report_only else [j for j in jobs if not store.done(j.key)]
            if left:
                if spec not in loaded_models:
                    for _, (_, m) in loaded_models.items():
                        m.close()
                    loaded_models.clear()
                    loaded_models[spec] = resolve_model(spec, base)
                real_spec, model = loaded_models[spec]
                settings = replace(settings, model=real_spec, chat=bool(getattr(model, "chat", 0)))
                opts = EvalOptions(
                    samples=shape["samples"],
                    modes=(shape["mode"],),
                    jobs=args.jobs,
                    out=path,
                    refine=shape["refine"],
                    model_spec=spec,
                    progress=False,
                    logprobs=True,  # program_pick ranks the n programs by their log-probs
                )
                bar.set_description(f"{spec} {name}")

                key = f"{spec}.{name}"
                before, t0 = walls.get(key, 0.0), time.perf_counter()

                def done(
                    rec: dict[str, Any], key: str = key, before: float = before, t0: float = t0
                ) -> None:
                    bar.update(1)
                    bar.set_postfix_str(f"p{rec['problem']} {rec['verdict']['kind']}")
                    # Kept with every program: a run stopped midway still counts its time.
                    walls[key] = before + time.perf_counter() - t0
                    walls_path.write_text(json.dumps(walls, indent=1))

                asyncio.run(run_eval(left, store, opts, settings, model, on_done=done))
                walls[key] = before + time.perf_counter() - t0
                walls_path.write_text(json.dumps(walls, indent=1))
            recs = [store.records[j.key] for j in jobs if store.done(j.key)]
            rows.setdefault(spec, {})[name] = figures(recs, shape)
            if left:
                styles[spec] = "chat" if settings.chat else "completion"
                styles_path.write_text(json.dumps(styles, indent=1))
            if spec in styles:
                rows[spec]["style"] = styles[spec]
    finally:
        bar.close()
        for _, (_, m) in loaded_models.items():
            m.close()
    text = format_table(rows, walls, args, len(problems), len(cases))
    print(text)
    if args.markdown:
        Path(args.markdown).write_text(text + "\n")
    (out / "figures.json").write_text(json.dumps(rows, indent=1, default=repr))
    return 0


def _tag(spec: str) -> str:
    return Path(spec).name.removesuffix(".gguf").replace(":", "_")


# -- the table ----------------------------------------------------------------------------------
def format_table(
    rows: dict[str, dict[str, Any]],
    walls: dict[str, float],
    args: Any,
    n_problems: int,
    n_cases: int,
) -> str:
    from assistant.engine.prompting import refine_variant
    from bench.mtpb_figures import common_cases, counted, paired, pct

    n, c = args.samples, args.candidates
    head = (
        f"MTPB problems {args.problems} (test cases {args.cases}: {n_problems} problems x "
        f"{n_cases} case(s)), threads {args.threads}; greedy = temperature 0; refinement "
        f"{args.refine} attempts per turn; {n} samples at T=0.2 top-p 0.95; {c} candidates per "
        "turn ranked by the execution ranker"
    )
    lines = [head, ""]
    lines.append(
        "| model | style | multi greedy | + refine | single greedy | multi pass@1 T=0.2 "
        f"| pass@{n} T=0.2 | ranked, {c}/turn | no code | copies | tok/s | wall |"
    )
    lines.append("|" + "---|" * 12)
    for spec, r in rows.items():
        style = r.get("style", "?")
        default = refine_variant("auto", style) if style != "?" else "primed"
        g = r.get("refine-auto") or r.get(f"refine-{default}", {})
        greedy_n = g.get("programs", 0)
        s, sm, rk = r.get("single", {}), r.get("sampled", {}), r.get("ranked", {})
        wall = sum(v for k, v in walls.items() if k.startswith(spec + "."))
        runs = [x for k, x in r.items() if isinstance(x, dict) and x.get("programs")]
        gen = sum(x["programs"] * (x.get("generations_per_program") or 0) for x in runs)
        nc = sum(
            x["programs"] * (x.get("generations_per_program") or 0) * (x.get("no_code_rate") or 0)
            for x in runs
        )
        tps = [x["decode_tok_s"] for x in runs if x.get("decode_tok_s")]
        speed = f"{sum(tps) / len(tps):.0f}" if tps else "n/a"
        lines.append(
            f"| {spec} | {style} | {counted(g.get('passed_no_refine'), greedy_n)} "
            f"| {counted(g.get('passed'), greedy_n)} ({default}) "
            f"| {counted(s.get('passed'), s.get('programs', 0))} "
            f"| {pct(sm.get('pass@1'))} | {pct(sm.get(f'pass@{n}'))} "
            f"| {counted(rk.get('passed'), rk.get('programs', 0))} "
            f"| {pct(nc / gen if gen else None)} | {pct(g.get('copy_rate'))} "
            f"| {speed} | {wall / 60:.1f} min |"
        )
    lines.append(
        f"| CodeGen-Mono 350M (published) | completion | | | {PUBLISHED['single']}% (T=0.2) "
        f"| {PUBLISHED['multi']}% | | | | | | |"
    )
    lines += [
        "",
        "Refinement prompts (greedy, multi-turn; the first attempts are the same run):",
        "",
    ]
    lines.append(
        "| model | refine_prompt | pass@1 without -> with | success per attempt | copies "
        "| no code | generations/program | tokens/program |"
    )
    lines.append("|" + "---|" * 8)
    for spec, r in rows.items():
        for v in VARIANTS:
            g = r.get(f"refine-{v}")
            if not g or not g.get("programs"):
                continue
            per = ", ".join(pct(x) for x in g.get("success_per_attempt", [])) or "n/a"
            lines.append(
                f"| {spec} | {v} | {pct(g.get('pass@1_no_refine'))} -> {pct(g.get('pass@1'))} "
                f"| {per} | {pct(g.get('copy_rate'))} | {pct(g.get('no_code_rate'))} "
                f"| {g.get('generations_per_program') or 0:.2f} "
                f"| {g.get('tokens_per_program') or 0:.0f} |"
            )
    lines.append("")
    lines.append("Pairs (greedy runs on the same test cases; a difference with p > 0.05 is noise):")
    lines.append("")
    for spec, r in rows.items():
        style = r.get("style", "?")
        default = refine_variant("auto", style) if style != "?" else "primed"
        g = r.get("refine-auto") or r.get(f"refine-{default}", {})
        s, rk = r.get("single", {}), r.get("ranked", {})
        for text in (
            paired(
                "multi vs single", g.get("passed_no_refine"), s.get("passed"), common_cases(g, s)
            ),
            paired("refined vs not", g.get("passed"), g.get("passed_no_refine"), common_cases(g)),
            paired(
                "ranked 5/turn vs greedy",
                rk.get("passed"),
                g.get("passed_no_refine"),
                common_cases(g, rk),
            ),
        ):
            if text:
                lines.append(f"- {spec}, {text}")
    lines.append("")
    for spec, r in rows.items():
        sm = r.get("sampled", {})
        if sm.get("program_pick") and sm.get("programs"):
            pp = sm["program_pick"]
            lines.append(
                f"{spec}: fresh samples (T=0.2) pass@1 {pct(sm.get('pass@1'))}, pass@2 "
                f"{pct(sm.get('pass@2'))}, pass@3 {pct(sm.get('pass@3'))}, tokens/program "
                f"{sm.get('tokens_per_program') or 0:.0f}; picking 1 of {n} programs: random "
                f"{pct(pp['random'])}, execution {pct(pp['execution'])}, MBR-exec "
                f"{pct(pp['mbr-exec'])}, oracle {pct(pp['oracle'])}"
            )
        rk = r.get("ranked", {})
        if rk.get("last_turn_pick"):
            lp = rk["last_turn_pick"]
            lines.append(
                f"{spec}: ranked run, last turn, 1 of {c} candidates: random "
                f"{pct(lp['random'])}, execution {pct(lp['execution'])}, MBR-exec "
                f"{pct(lp['mbr-exec'])}, oracle {pct(lp['oracle'])}"
            )
        kinds = {k: x.get("kinds") for k, x in r.items() if isinstance(x, dict) and x.get("kinds")}
        lines.append(f"{spec}: verdicts {json.dumps(kinds)}")
    return "\n".join(lines)


if __name__ == "__main__":
    raise SystemExit(main())
