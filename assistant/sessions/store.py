"""Where sessions are saved, and how ``--resume``/``export`` find one (last, id or path).

Saving is atomic (``Session.save``); a corrupt file is moved aside by ``Session.load`` and the
error names both paths, so a crash mid-write or a hand-edited file never loses a session.
"""

from __future__ import annotations

from pathlib import Path

from assistant import paths
from assistant.engine.session import Session, SessionError


def session_path(session: Session) -> Path:
    return paths.sessions_dir() / f"{session.id}.json"


def save(session: Session) -> Path:
    return session.save(session_path(session))


def saved_sessions() -> list[Path]:
    """Saved session files, newest first (by modification time)."""
    folder = paths.sessions_dir()
    if not folder.is_dir():
        return []
    files = [p for p in folder.glob("*.json") if not p.name.startswith(".")]
    return sorted(files, key=lambda p: p.stat().st_mtime, reverse=True)


def resolve(ref: str | None) -> Path:
    """A session file from ``last`` (or None), an id, or a path; SessionError if none."""
    if ref in (None, "", "last"):
        found = saved_sessions()
        if not found:
            raise SessionError(f"no saved sessions in {paths.sessions_dir()}")
        return found[0]
    assert ref is not None
    as_path = Path(ref).expanduser()
    if as_path.suffix == ".json" and as_path.exists():
        return as_path
    by_id = paths.sessions_dir() / f"{ref}.json"
    if by_id.exists():
        return by_id
    matches = [p for p in saved_sessions() if p.stem.startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        names = ", ".join(p.stem for p in matches[:5])
        raise SessionError(f"session id {ref!r} is ambiguous: {names}")
    raise SessionError(f"no session {ref!r} (not a file, not an id in {paths.sessions_dir()})")


def resume_from_args(args: object) -> tuple[Session | None, Path | None] | None:
    """The session ``--resume`` names (or none); None after reporting an unreadable one.

    A corrupt file has been moved aside by Session.load; the message says where.
    """
    import sys

    ref = getattr(args, "resume", None)
    if not ref:
        return None, None
    try:
        return load(ref)
    except SessionError as exc:
        print(f"assistant: {exc}", file=sys.stderr)
        return None


def load(ref: str | None) -> tuple[Session, Path]:
    """Load a session; raises SessionCorrupt (file kept aside) or SessionError."""
    path = resolve(ref)
    return Session.load(path), path
