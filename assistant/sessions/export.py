"""Export a session: a notebook with outputs (.ipynb), a script (.py) or training JSONL.

The notebook has a markdown cell per natural-language turn and a code cell per committed
subprogram, with the outputs the kernel produced, so it reads like the session did and still
runs unchanged under nbclient/Jupyter.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

from assistant.config import Settings
from assistant.engine.session import Session, SessionError, Turn
from assistant.execution.result import ExecResult
from assistant.sessions import store

FORMATS = ("ipynb", "py", "training")


def committed_result(turn: Turn) -> ExecResult | None:
    """The execution result of the code that was committed for this turn."""
    for attempt in reversed(turn.attempts):
        for cand in [attempt.best, *attempt.candidates]:
            if cand is not None and cand.result is not None and cand.code == turn.code:
                return cand.result
    best = turn.attempts[-1].best if turn.attempts else None
    return best.result if best is not None else None


def committed_label(turn: Turn) -> str:
    """The verdict label of the committed code ("edited by hand" when no check labelled it)."""
    for attempt in reversed(turn.attempts):
        for cand in attempt.candidates:
            if cand.passed and cand.code == turn.code and cand.label:
                return cand.label
    return "edited by hand" if turn.edited else "passed"


def _outputs(result: ExecResult | None) -> list[Any]:
    from nbformat import v4

    nbf: Any = v4  # nbformat ships no type hints

    if result is None:
        return []
    outs: list[Any] = []
    if result.stdout:
        outs.append(nbf.new_output("stream", name="stdout", text=result.stdout))
    if result.stderr:
        outs.append(nbf.new_output("stream", name="stderr", text=result.stderr))
    for text in result.display:
        outs.append(nbf.new_output("display_data", data={"text/plain": text}))
    if result.error is not None:
        err = result.error
        outs.append(
            nbf.new_output(
                "error", ename=err.ename, evalue=err.evalue, traceback=list(err.traceback)
            )
        )
    return outs


def to_notebook(session: Session) -> Any:
    from nbformat import v4

    nbf: Any = v4  # nbformat ships no type hints

    nb = nbf.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.metadata["assistant"] = {"session": session.id, "model": session.model}
    title = session.title or f"Session {session.id}"
    cells = [nbf.new_markdown_cell(f"# {title}\n\nModel: `{session.model or '?'}`")]
    count = 0
    for turn in session.turns:
        if not turn.committed:
            continue
        count += 1
        cells.append(nbf.new_markdown_cell(turn.text))
        cell = nbf.new_code_cell(
            (turn.code or "").rstrip("\n"),
            execution_count=count,
            outputs=_outputs(committed_result(turn)),
        )
        for out in cell.outputs:
            if out.get("output_type") == "execute_result":
                out["execution_count"] = count
        # What the pass rested on ("ran without error (no checks)", "2 derived checks passed").
        cell.metadata["assistant"] = {"verdict": committed_label(turn)}
        cells.append(cell)
    nb.cells = cells
    return nb


def to_script(session: Session) -> str:
    lines = [
        f"# Session {session.id} ({session.model or 'unknown model'})",
        f"# exported {time.strftime('%Y-%m-%d %H:%M')}",
        "",
    ]
    for turn in session.committed_turns():
        lines += [f"# {ln}" for ln in turn.text.splitlines() or [""]]
        lines += [(turn.code or "").rstrip("\n"), ""]
    return "\n".join(lines)


def _format_for(out: Path, fmt: str | None) -> str:
    if fmt:
        return fmt
    return {".py": "py", ".jsonl": "training"}.get(out.suffix.lower(), "ipynb")


def export_session(session: Session, out: Path, fmt: str | None = None) -> Path:
    fmt = _format_for(out, fmt)
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "ipynb":
        import nbformat as nbformat_untyped

        nbformat: Any = nbformat_untyped

        nbformat.write(to_notebook(session), str(out))
    elif fmt == "py":
        out.write_text(to_script(session), encoding="utf-8")
    elif fmt == "training":
        from assistant.sessions.training import export_all

        written = export_all(session, out)
        for kind, (path, n) in written.items():
            print(f"training data: {n} {kind} record(s) written to {path}")
    else:
        raise SessionError(f"unknown export format {fmt!r} (use one of {', '.join(FORMATS)})")
    return out


def main(args: argparse.Namespace, settings: Settings) -> int:
    try:
        session, path = store.load(getattr(args, "session", None))
    except SessionError as exc:  # SessionCorrupt included: its message says where it was kept
        print(f"assistant export: {exc}", file=sys.stderr)
        return 1
    fmt = getattr(args, "format", None)
    out = Path(args.out) if getattr(args, "out", None) else None
    if out is None:
        suffix = {"py": ".py", "training": ".jsonl"}.get(fmt or "", ".ipynb")
        out = Path(f"{session.id}{suffix}")
    try:
        export_session(session, out, fmt)
    except (SessionError, OSError) as exc:
        print(f"assistant export: {exc}", file=sys.stderr)
        return 1
    n = len(session.committed_turns())
    print(f"exported {n} committed turn(s) of {path.stem} to {out}")
    return 0


def list_sessions(args: argparse.Namespace, settings: Settings) -> int:
    found = store.saved_sessions()
    if not found:
        print("no saved sessions yet")
        return 0
    for path in found:
        try:
            s = Session.load(path)
        except SessionError as exc:
            print(f"{path.stem}  (unreadable: {exc})")
            continue
        first = s.turns[0].text[:50] if s.turns else ""
        when = time.strftime("%Y-%m-%d %H:%M", time.localtime(path.stat().st_mtime))
        print(f"{s.id}  {when}  {len(s.turns):>3} turns  {s.model:<16.16}  {first}")
    return 0
