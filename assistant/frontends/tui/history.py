"""The input line's history across runs: one line per entry in the user's data folder."""

from __future__ import annotations

from pathlib import Path

from assistant import paths

HISTORY_LIMIT = 500  # lines read back at start


def history_file() -> Path:
    return paths.data_dir() / "tui_history.txt"


def load_history() -> list[str]:
    """The last ``HISTORY_LIMIT`` entries, oldest first; none when the file cannot be read."""
    try:
        lines = history_file().read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    return [ln.replace("\\n", "\n") for ln in lines[-HISTORY_LIMIT:]]


def save_history(line: str) -> None:
    """Append one entry (newlines escaped, so an entry stays one line of the file)."""
    try:
        path = history_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(line.replace("\n", "\\n") + "\n")
    except OSError:
        pass  # history is a convenience; a read-only home must not break the app
