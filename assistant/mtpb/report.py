"""Summaries of MTPB results: pass@k overall and per category, failures by kind, modes side by side.

Problems that need a dataset the benchmark does not ship (38, 46) are kept out of the pass@k
averages and listed on their own; the figure over all problems (counting them as failures,
which is what upstream's numbers include) is shown beside it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from assistant.mtpb import metrics
from assistant.mtpb.grading import LABELS, Verdict

FAIL_ORDER = ("timeout", "died", "error", "wrong", "no_output")


def _verdict(rec: dict[str, Any], upstream: bool) -> Verdict:
    return Verdict.from_dict(rec["upstream_verdict" if upstream else "verdict"])


def _pct(v: float | None) -> str:
    return "   n/a" if v is None else f"{100 * v:6.2f}%"


def summarize_mode(
    records: Sequence[dict[str, Any]], ks: Sequence[int], *, upstream: bool
) -> dict[str, Any]:
    """Figures for one mode ('multi' or 'single') from its result records."""
    needs: dict[str, str] = {}
    rows: list[tuple[str, str, int, bool]] = []
    all_rows: list[tuple[str, str, int, bool]] = []
    failures: dict[str, list[str]] = defaultdict(list)
    data_errors: list[str] = []
    for rec in sorted(records, key=lambda r: (int(r["problem"]), r["case"], r["sample"])):
        v = _verdict(rec, upstream)
        pid = str(rec["problem"])
        row = (pid, rec.get("category", "?"), int(rec["case"]), v.passed)
        all_rows.append(row)
        if v.kind == "needs_dataset":
            needs[pid] = v.detail
            continue
        rows.append(row)
        if not v.passed:
            where = f"p{pid} case {rec['case']} sample {rec['sample']}"
            known = _known_data_error(pid, int(rec["case"]))
            note = f" [known data error: {known['why']}]" if known else ""
            if known:
                data_errors.append(f"{pid}/{rec['case']}")
            failures[v.kind].append(f"{where}: {v.describe()}{note}")
    # A problem counts as needing a dataset when any of its samples did.
    rows = [r for r in rows if r[0] not in needs]
    scores = metrics.score(rows)
    all_scores = metrics.score(all_rows)
    runnable = list(scores.values())
    out: dict[str, Any] = {
        "problems": len(all_scores),
        "runnable": len(scores),
        "needs_dataset": dict(sorted(needs.items(), key=lambda kv: int(kv[0]))),
        "samples": sum(s.samples for s in runnable),
        "passed": sum(s.passed for s in runnable),
        "pass_at_k": {str(k): metrics.mean_pass_at(runnable, k) for k in ks},
        "pass_at_k_all": {str(k): metrics.mean_pass_at(list(all_scores.values()), k) for k in ks},
        "categories": {
            cat: {
                "problems": len(group),
                "pass_at_k": {str(k): metrics.mean_pass_at(group, k) for k in ks},
            }
            for cat, group in metrics.by_category(runnable).items()
        },
        "problems_all_passed": sorted(
            (s.problem for s in runnable if s.samples and s.passed == s.samples), key=int
        ),
        "problems_not_all_passed": sorted(
            (s.problem for s in runnable if s.passed < s.samples), key=int
        ),
        "per_problem": {
            s.problem: {"samples": s.samples, "passed": s.passed, "cases": len(s.cases)}
            for s in sorted(runnable, key=lambda s: int(s.problem))
        },
        "failures": {k: failures[k] for k in FAIL_ORDER if failures.get(k)},
        "known_data_errors": data_errors,
    }
    engine = _engine_stats(records, ks, upstream)
    if engine:
        out["engine"] = engine
    return out


def _known_data_error(pid: str, case: int) -> dict[str, Any] | None:
    """Test cases whose expected output contradicts their prompts (see data_errors.py)."""
    try:
        from assistant.mtpb.data_errors import known_error
    except ImportError:
        return None
    return known_error(pid, case)


def _engine_stats(
    records: Iterable[dict[str, Any]], ks: Sequence[int], upstream: bool
) -> dict[str, Any]:
    """Refinement and copy rates, ranked pass@k, from model runs (absent for reference runs)."""
    from assistant.engine.checks import NO_CODE
    from assistant.mtpb.refinement_metrics import refinement_stats

    turns = refined = refined_ok = copies = generated = 0
    all_generated = no_code = no_code_programs = 0
    outcomes: list[tuple[int | None, int]] = []
    ranked: dict[str, list[bool]] = defaultdict(list)
    for rec in records:
        eng = rec.get("engine")
        if not eng:
            continue
        pairs = zip(eng.get("attempts", []), eng.get("turn_status", []), strict=False)
        for n_att, status in pairs:
            turns += 1
            if n_att > 1:
                refined += 1
                refined_ok += status == "passed"
        copies += int(eng.get("copies_rejected", 0))
        generated += int(eng.get("refine_generated", 0))
        all_generated += int(eng.get("generated", 0))
        no_code += int(eng.get("no_code", 0))
        no_code_programs += rec.get("verdict", {}).get("detail") == NO_CODE
        outcomes.extend((o[0], int(o[1])) for o in eng.get("outcomes", []))
        flags = eng.get("ranked") or []
        if flags:
            ranked[str(rec["problem"])].append(any(flags[:1]))
            for k in ks:
                ranked[f"{rec['problem']}@{k}"].append(any(flags[:k]))
    if not turns:
        return {}
    out: dict[str, Any] = {
        "turns": turns,
        "refinement_rate": refined / turns,
        "refinement_success_rate": (refined_ok / refined) if refined else None,
        "copies_rejected": copies,
        # Of the turns still failing when attempt k started, the share passing at attempt k.
        "success_per_attempt": refinement_stats(outcomes).success_rate if outcomes else [],
        "copy_rate": (copies / generated) if generated else None,
        # Generations that held no code (empty, comments or docstrings only), and programs
        # that failed on such a turn.
        "no_code": no_code,
        "no_code_rate": (no_code / all_generated) if all_generated else None,
        "no_code_programs": no_code_programs,
    }
    if ranked:
        rk: dict[str, float] = {}
        for k in ks:
            per_problem = [sum(v) / len(v) for key, v in ranked.items() if key.endswith(f"@{k}")]
            if per_problem:
                rk[str(k)] = sum(per_problem) / len(per_problem)
        out["ranked_pass_at_k"] = rk
    return out


def summarize(
    records: Sequence[dict[str, Any]],
    ks: Sequence[int],
    *,
    upstream: bool,
    modes: Sequence[str],
    model: str,
    samples: int,
) -> dict[str, Any]:
    per_mode: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for rec in records:
        per_mode[rec["mode"]].append(rec)
    return {
        "model": model,
        "samples_per_case": samples,
        "ks": list(ks),
        "grading": "upstream" if upstream else "project",
        "modes": {m: summarize_mode(per_mode.get(m, []), ks, upstream=upstream) for m in modes},
    }


def format_summary(summary: dict[str, Any], max_failures: int = 20) -> str:
    ks = summary["ks"]
    grading = (
        "upstream-compatible (dict/None outputs cannot pass)"
        if summary["grading"] == "upstream"
        else "this project's (dict and None outputs graded)"
    )
    lines = [
        f"MTPB results: model {summary['model']}, {summary['samples_per_case']} sample(s) "
        f"per test case, grading {grading}"
    ]
    for mode, s in summary["modes"].items():
        lines.append("")
        lines.append(f"== {mode}-turn ==")
        needs = ", ".join(f"{p} ({d})" for p, d in s["needs_dataset"].items())
        lines.append(
            f"problems: {s['problems']} = {s['runnable']} runnable + "
            f"{len(s['needs_dataset'])} needs dataset" + (f": {needs}" if needs else "")
        )
        full = len(s["problems_all_passed"])
        lines.append(
            f"samples: {s['passed']}/{s['samples']} passed; {full}/{s['runnable']} runnable "
            "problems pass every sample of every test case"
        )
        lines.append(f"{'':<14}{'problems':>9}" + "".join(f"{'pass@' + str(k):>10}" for k in ks))
        lines.append(
            f"{'overall':<14}{s['runnable']:>9}"
            + "".join(f"{_pct(s['pass_at_k'][str(k)]):>10}" for k in ks)
        )
        lines.append(
            f"{'  (all ' + str(s['problems']) + ')':<14}{s['problems']:>9}"
            + "".join(f"{_pct(s['pass_at_k_all'][str(k)]):>10}" for k in ks)
        )
        for cat, c in s["categories"].items():
            lines.append(
                f"{cat:<14}{c['problems']:>9}"
                + "".join(f"{_pct(c['pass_at_k'][str(k)]):>10}" for k in ks)
            )
        fails = s["failures"]
        counts = ", ".join(f"{LABELS[k]} {len(v)}" for k, v in fails.items()) or "none"
        if s.get("known_data_errors"):
            counts += f" ({len(s['known_data_errors'])} on test cases with known data errors)"
        lines.append(f"contained failures: {counts}")
        for kind, items in fails.items():
            for item in items[:max_failures]:
                lines.append(f"  [{LABELS[kind]}] {item}")
            if len(items) > max_failures:
                lines.append(f"  ... and {len(items) - max_failures} more {LABELS[kind]}")
        eng = s.get("engine")
        if eng:
            succ = eng["refinement_success_rate"]
            lines.append(
                f"refinement: {100 * eng['refinement_rate']:.1f}% of {eng['turns']} turns refined, "
                f"{'n/a' if succ is None else f'{100 * succ:.1f}%'} of those fixed; "
                f"{eng['copies_rejected']} copies rejected"
                + (
                    ""
                    if eng.get("copy_rate") is None
                    else f" (copy rate {100 * eng['copy_rate']:.1f}%)"
                )
            )
            if eng.get("no_code_rate") is not None:
                lines.append(
                    f"no code: {eng['no_code']} generation(s) held no code "
                    f"({100 * eng['no_code_rate']:.1f}%); "
                    f"{eng['no_code_programs']} program(s) failed on a turn with no code"
                )
            per = eng.get("success_per_attempt") or []
            if len(per) > 1:
                lines.append(
                    "success per attempt: "
                    + ", ".join(f"#{k + 1} {100 * v:.1f}%" for k, v in enumerate(per))
                )
            if eng.get("ranked_pass_at_k"):
                lines.append(
                    "ranked pass@k: "
                    + ", ".join(f"@{k} {_pct(v)}" for k, v in eng["ranked_pass_at_k"].items())
                )
    if len(summary["modes"]) > 1:
        lines.extend(["", *format_comparison(summary)])
    return "\n".join(lines)


def format_comparison(summary: dict[str, Any]) -> list[str]:
    """Single-turn vs multi-turn, pass@k side by side (overall and per category)."""
    modes = list(summary["modes"])
    ks = summary["ks"]
    head = f"{'':<14}" + "".join(f"{m + ' @' + str(k):>14}" for k in ks for m in modes)
    lines = ["== single-turn vs multi-turn ==", head]
    cats: list[str] = sorted({c for s in summary["modes"].values() for c in s["categories"]})
    for label in ["overall", *cats]:
        cells = []
        for k in ks:
            for m in modes:
                s = summary["modes"][m]
                src = (
                    s["pass_at_k"]
                    if label == "overall"
                    else s["categories"].get(label, {}).get("pass_at_k", {})
                )
                cells.append(f"{_pct(src.get(str(k))):>14}")
        lines.append(f"{label:<14}" + "".join(cells))
    return lines
