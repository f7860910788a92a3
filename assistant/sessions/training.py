"""Training data from recorded sessions, as JSONL (one JSON object per line, UTF-8).

Two kinds of records:

``cycle`` (CYCLE-style self-refinement triples; one per failed attempt of a turn that was
eventually committed)::

    {"task": str,          # the prompt the model saw: prefix + past turns + "# {turn}\\n"
     "turns": [str],       # the user's turns so far, the current one last
     "faulty_code": str,   # the failed attempt's code (its best-ranked candidate)
     "feedback": str,      # what the execution/check said (error + traceback lines, or
                           # expected vs actual output)
     "fixed_code": str,    # the code the turn was committed with
     "turn": int, "attempt": int,   # where the faulty code came from
     "fixed_attempt": int | null,   # the attempt that produced fixed_code (null: edited by hand)
     "session": str}

Rejected copies are not faulty code of their own (they were never run) and are skipped.

``ranked`` (RRTF-style ranked candidate lists; one per attempt that sampled 2+ candidates)::

    {"prompt": str,        # the prompt of that attempt (a refinement prompt for attempts > 0)
     "turn": int, "attempt": int, "session": str,
     "candidates": [{"code": str, "rank": int | null,   # 0 = best; null = not ranked
                     "passed": bool, "mean_logprob": float | null,  # null: unknown
                     "tests_passed": int, "tests_total": int}, ...]}  # best first
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, Literal

from assistant import jsontext
from assistant.engine import prompting
from assistant.engine.session import Attempt, Session, Turn

Kind = Literal["cycle", "ranked"]


def _history(session: Session, upto: int) -> list[prompting.PastTurn]:
    return [
        prompting.PastTurn(t.text, t.code or "")
        for t in session.committed_turns()
        if t.index < upto
    ]


def _turn_texts(session: Session, turn: Turn) -> list[str]:
    return [t.text for t in session.committed_turns() if t.index < turn.index] + [turn.text]


def _fixed_attempt(turn: Turn) -> int | None:
    if turn.edited:
        return None
    for a in turn.attempts:
        best = a.best
        if best is not None and best.passed and best.code == turn.code:
            return a.index
    return None


def cycle_triples(session: Session) -> Iterator[dict[str, Any]]:
    for turn in session.turns:
        if not turn.committed:
            continue
        task = prompting.multi_turn_prompt(_history(session, turn.index), turn.text)
        fixed_at = _fixed_attempt(turn)
        for a in turn.attempts:
            best = a.best
            if a.reason == "edit" or best is None or best.result is None or best.passed:
                continue
            if fixed_at is not None and a.index > fixed_at:
                continue
            yield {
                "task": task,
                "turns": _turn_texts(session, turn),
                "faulty_code": best.code,
                "feedback": best.feedback,
                "fixed_code": turn.code,
                "turn": turn.index,
                "attempt": a.index,
                "fixed_attempt": fixed_at,
                "session": session.id,
            }


def _attempt_prompt(session: Session, turn: Turn, attempt: Attempt) -> str:
    hist = _history(session, turn.index)
    faulty = None
    for prev in turn.attempts[: attempt.index]:
        b = prev.best
        if b is not None and b.result is not None and not b.passed:
            faulty = b
    if attempt.reason == "first" or faulty is None:
        return prompting.multi_turn_prompt(hist, turn.text)
    return prompting.refine_prompt(hist, turn.text, faulty.code, faulty.feedback)


def ranked_lists(session: Session) -> Iterator[dict[str, Any]]:
    for turn in session.turns:
        for a in turn.attempts:
            if len(a.candidates) < 2:
                continue
            ordered = sorted(a.candidates, key=lambda c: (c.rank is None, c.rank or 0, c.index))
            yield {
                "prompt": _attempt_prompt(session, turn, a),
                "turn": turn.index,
                "attempt": a.index,
                "session": session.id,
                "candidates": [
                    {
                        "code": c.code,
                        "rank": c.rank,
                        "passed": c.passed,
                        "mean_logprob": c.mean_logprob if math.isfinite(c.mean_logprob) else None,
                        "tests_passed": c.tests_passed,
                        "tests_total": c.tests_total,
                    }
                    for c in ordered
                ],
            }


def records(sessions: Session | Iterable[Session], kind: Kind) -> Iterator[dict[str, Any]]:
    items = [sessions] if isinstance(sessions, Session) else list(sessions)
    make = cycle_triples if kind == "cycle" else ranked_lists
    for s in items:
        yield from make(s)


def export_jsonl(sessions: Session | Iterable[Session], path: str | Path, kind: Kind) -> int:
    """Write ``kind`` records of the sessions to ``path``; returns how many were written."""
    if kind not in ("cycle", "ranked"):
        raise ValueError(f"unknown export kind {kind!r}: use 'cycle' or 'ranked'")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    n = 0
    with p.open("w", encoding="utf-8") as fh:
        for rec in records(sessions, kind):
            fh.write(jsontext.dumps(rec) + "\n")  # kernel text: lone surrogates
            n += 1
    return n


def training_paths(target: str | Path) -> tuple[Path, Path]:
    """``runs/train.jsonl`` -> ``runs/train.cycle.jsonl`` and ``runs/train.ranked.jsonl``."""
    p = Path(target)
    stem = p.name[: -len(".jsonl")] if p.name.endswith(".jsonl") else p.name
    return p.with_name(stem + ".cycle.jsonl"), p.with_name(stem + ".ranked.jsonl")


def export_all(
    sessions: Session | Iterable[Session], target: str | Path
) -> dict[str, tuple[str, int]]:
    """Both kinds, beside ``target``: {kind: (path written, records)}."""
    items = [sessions] if isinstance(sessions, Session) else list(sessions)
    cycle, ranked = training_paths(target)
    return {
        "cycle": (str(cycle), export_jsonl(items, cycle, "cycle")),
        "ranked": (str(ranked), export_jsonl(items, ranked, "ranked")),
    }
