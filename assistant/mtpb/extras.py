"""Optional outputs of ``assistant eval``: code similarity to the reference solutions and
training-data export (CYCLE triples, RRTF-style ranked lists) from the sessions of the run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistant.mtpb.problems import Problem


def similarity_summary(records: list[dict[str, Any]], problems: list[Problem]) -> dict[str, Any]:
    """Mean CodeBLEU syntax and data-flow match per mode, each program vs the reference one.

    Raises ``SimilarityUnavailable`` (with the install command) when codebleu is missing.
    """
    from assistant.mtpb.similarity import code_similarity
    from assistant.mtpb.solutions import all_solutions, solution

    by_id = {p.id: p for p in problems}
    refs = all_solutions()
    per_mode: dict[str, dict[str, list[float]]] = {}
    for rec in records:
        prob = by_id.get(str(rec.get("problem")))
        cells = rec.get("cells") or []
        if prob is None or not cells or prob.id not in refs:
            continue
        reference = "\n".join(solution(prob.id, prob.inputs[int(rec["case"])]))
        sim = code_similarity("\n".join(cells), reference)
        bucket = per_mode.setdefault(str(rec.get("mode", "multi")), {"syntax": [], "dataflow": []})
        bucket["syntax"].append(sim.syntax_match)
        if sim.dataflow_match is not None:
            bucket["dataflow"].append(sim.dataflow_match)
    out: dict[str, Any] = {}
    for mode, b in per_mode.items():
        out[mode] = {
            "programs": len(b["syntax"]),
            "syntax_match": sum(b["syntax"]) / len(b["syntax"]) if b["syntax"] else None,
            "dataflow_match": sum(b["dataflow"]) / len(b["dataflow"]) if b["dataflow"] else None,
        }
    return out


def format_similarity(summary: dict[str, Any]) -> str:
    lines = ["code similarity to the reference solutions (CodeBLEU components)"]
    for mode, s in sorted(summary.items()):
        syn = "n/a" if s["syntax_match"] is None else f"{s['syntax_match']:.3f}"
        dfm = "n/a" if s["dataflow_match"] is None else f"{s['dataflow_match']:.3f}"
        lines.append(
            f"  {mode:<7} syntax match {syn}   data-flow match {dfm}   ({s['programs']} programs)"
        )
    return "\n".join(lines)


def export_training(sessions: list[Any], target: str | Path) -> dict[str, Any]:
    from assistant.sessions.training import export_all

    return export_all(sessions, target)
