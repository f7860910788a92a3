"""The MTPB table's figures, from the results records of one run (bench_mtpb_table.py).

Pass rates with and without refinement (read off the same greedy run), pass@k through
``assistant.mtpb.metrics``, which program or candidate the engine's rankers
(``assistant.engine.ranking``) put first, and the statistics the table prints beside them: a
Wilson interval per rate and an exact sign test per pair of greedy runs.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import Any


# -- figures ------------------------------------------------------------------------------------
def _pass_rows(recs: list[dict], *, refined: bool) -> list[tuple[str, str, int, bool]]:
    rows = []
    for r in recs:
        ok = r["verdict"]["kind"] == "pass"
        if not refined:  # passed at the first attempt of every turn
            outcomes = (r.get("engine") or {}).get("outcomes") or []
            ok = ok and all(o[0] == 0 for o in outcomes)
        rows.append((str(r["problem"]), r.get("category", "?"), int(r["case"]), ok))
    return rows


def _pass_at(rows: list, k: int) -> float | None:
    from assistant.mtpb import metrics

    scores = list(metrics.score(rows).values())
    return metrics.mean_pass_at(scores, k) if scores else None


def figures(recs: list[dict], shape: dict) -> dict[str, Any]:
    """One run's figures from its results records (``shape``: its samples per test case)."""
    from assistant.mtpb.refinement_metrics import refinement_stats

    recs = [r for r in recs if r["verdict"]["kind"] != "needs_dataset"]
    eng = [r.get("engine") or {} for r in recs]
    tokens = sum(e.get("completion_tokens", 0) for e in eng)
    decode = sum(e.get("decode_s", 0.0) for e in eng)
    generated = sum(e.get("generated", 0) for e in eng)
    refine_gen = sum(e.get("refine_generated", 0) for e in eng)
    outcomes = [(o[0], int(o[1])) for e in eng for o in e.get("outcomes", [])]
    passed = _pass_rows(recs, refined=True)
    first = _pass_rows(recs, refined=False)
    out: dict[str, Any] = {
        "programs": len(recs),
        "ran": sorted(f"{p}/{c}" for p, _, c, _ok in passed) if shape["samples"] == 1 else None,
        "passed": sorted(f"{p}/{c}" for p, _, c, ok in passed if ok)
        if shape["samples"] == 1
        else None,
        "passed_no_refine": sorted(f"{p}/{c}" for p, _, c, ok in first if ok)
        if shape["samples"] == 1
        else None,
        "pass@1": _pass_at(passed, 1),
        "pass@1_no_refine": _pass_at(first, 1),
        "no_code_rate": sum(e.get("no_code", 0) for e in eng) / generated if generated else None,
        "copy_rate": (sum(e.get("copies_rejected", 0) for e in eng) / refine_gen)
        if refine_gen
        else None,
        "success_per_attempt": refinement_stats(outcomes).success_rate if outcomes else [],
        "turns": len(outcomes),
        "generations_per_program": generated / len(recs) if recs else None,
        "tokens_per_program": tokens / len(recs) if recs else None,
        "decode_tok_s": tokens / decode if decode else None,
        "kinds": dict(Counter(r["verdict"]["kind"] for r in recs)),
    }
    if shape["samples"] > 1:
        rows = _pass_rows(recs, refined=True)
        for k in (2, 3, shape["samples"]):
            out[f"pass@{k}"] = _pass_at(rows, k)
        out["program_pick"] = program_pick(recs)
    lasts = [e.get("last_turn_candidates") or [] for e in eng]
    if any(lasts):
        out["last_turn_pick"] = last_turn_pick([c for c in lasts if c])
    return out


def _candidates(items: list[dict]) -> list[Any]:
    """The recorded candidates as the engine's ``Candidate``s: what its rankers read (ran ok,
    has code, mean log-prob; no tests, and ``passed`` left false: it is what the pick is
    scored on, not something a ranker may see)."""
    from assistant.engine.session import Candidate
    from assistant.execution.result import ExecResult

    return [
        Candidate(
            index=i,
            code="",
            mean_logprob=float("-inf") if c["logprob"] is None else c["logprob"],
            result=ExecResult("ok") if c["ok"] else None,
            no_code=c["no_code"],
        )
        for i, c in enumerate(items)
    ]


def _picks(groups: list[list[dict]]) -> dict[str, float]:
    """What each of the engine's rankers puts first, scored: the mean over ``groups`` of
    whether it passes; ``random`` is the expected value of a uniform pick."""
    from assistant.engine.ranking import ExecutionRanker, MBRExecRanker

    n = len(groups)
    res = {"execution": 0.0, "mbr-exec": 0.0, "random": 0.0, "oracle": 0.0}
    for items in groups:
        cands = _candidates(items)
        mbr = MBRExecRanker(signature=lambda c, items=items: items[c.index]["sig"])
        res["execution"] += items[ExecutionRanker().rank(cands).order[0]]["passed"]
        res["mbr-exec"] += items[mbr.rank(cands).order[0]]["passed"]
        res["random"] += sum(c["passed"] for c in items) / len(items)
        res["oracle"] += any(c["passed"] for c in items)
    return {k: v / n for k, v in res.items()} if n else res


def last_turn_pick(groups: list[list[dict]]) -> dict[str, float]:
    """Among the same candidates of the last turn: which ordering puts a correct one first."""
    return _picks(groups)


def program_pick(recs: list[dict]) -> dict[str, float]:
    """Among the n sampled programs of a test case: pick one by each ranker."""
    by_case: dict[tuple, list[dict]] = defaultdict(list)
    for r in recs:
        v, e = r["verdict"], r.get("engine") or {}
        ran_ok = v["kind"] in ("pass", "wrong")
        by_case[(r["problem"], r["case"])].append(
            {
                "passed": v["kind"] == "pass",
                "sig": f"{v.get('actual_type')}:{v.get('actual')}" if ran_ok else None,
                "logprob": e.get("mean_logprob"),
                "ok": ran_ok,
                "no_code": e.get("no_code", 0) > 0,
            }
        )
    return _picks([g for g in by_case.values() if len(g) > 1])


# -- counts, intervals, pairs ------------------------------------------------------------------
def pct(v: float | None) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def wilson(k: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The 95% Wilson score interval of a proportion k/n (sound for small k and n)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    mid = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return max(0.0, mid - half), min(1.0, mid + half)


def counted(ids: list[str] | None, n: int) -> str:
    """A greedy run's pass rate with its count and 95% interval: '7.0% (8/115, 3.6-13.1)'."""
    if ids is None or not n:
        return "n/a"
    lo, hi = wilson(len(ids), n)
    return f"{100 * len(ids) / n:.1f}% ({len(ids)}/{n}, {100 * lo:.0f}-{100 * hi:.0f})"


def common_cases(*runs: dict) -> list[str]:
    """The test cases every one of ``runs`` ran (greedy runs record them)."""
    sets = [set(r.get("ran") or ()) for r in runs]
    return sorted(set.intersection(*sets)) if sets else []


def sign_test(b: int, c: int) -> float:
    """Two-sided exact sign test on the discordant pairs (McNemar's exact test)."""
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1)) / 2**n
    return min(1.0, 2 * tail)


def paired(
    label: str, a: list[str] | None, b: list[str] | None, ran: list[str] | None
) -> str | None:
    """How two greedy runs differ, pair by pair, over the test cases both ran (``ran``)."""
    if a is None or b is None or not ran:
        return None
    both_ran = set(ran)
    universe = len(both_ran)
    sa, sb = set(a) & both_ran, set(b) & both_ran
    only_a, only_b = len(sa - sb), len(sb - sa)
    both = len(sa & sb)
    return (
        f"{label}: both pass {both}, first only {only_a}, second only {only_b}, neither "
        f"{universe - both - only_a - only_b} (exact sign test p = {sign_test(only_a, only_b):.2f})"
    )
