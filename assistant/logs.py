"""Where the app's own log records (loggers under ``assistant``) go.

Two set-ups, both files, because the terminal belongs to the UI:

* ``setup_logging``: the global switch, ``assistant --log-file PATH`` or ``ASSISTANT_LOG=PATH``
  (level from ``--log-level`` / ``ASSISTANT_LOG_LEVEL``, default INFO). It adds a file; the
  terminal sees exactly what it saw without the switch (see ``_AsBefore``).
* ``log_app_to_file``: the full-screen app and the REPL send warnings to
  ``<state folder>/log/assistant.log``, where logging's stderr fallback would draw over the UI.

Without either, records of ``assistant.execution`` (kernel starts, restarts, deaths) go
nowhere (its ``NullHandler``), and other warnings reach stderr through logging's last resort,
as they always did. Nothing here runs at import: ``assistant --help`` stays instant.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from pathlib import Path

ROOT = "assistant"
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
ENV_FILE = "ASSISTANT_LOG"
ENV_LEVEL = "ASSISTANT_LOG_LEVEL"

# Handlers this module added: the switch's (file + terminal guard) and the UI's app log.
_switch: set[logging.Handler] = set()
_app_log: set[logging.Handler] = set()


def parse_level(level: int | str) -> int:
    """``"info"``, ``"INFO"``, ``20``: a logging level; ValueError names the choices."""
    if isinstance(level, int):
        return level
    text = level.strip().upper()
    if text.isdigit():
        return int(text)
    if text not in LEVELS:
        raise ValueError(f"unknown log level {level!r} (one of: {', '.join(LEVELS)})")
    return int(logging.getLevelName(text))


class _AsBefore(logging.Handler):
    """Keeps the terminal as it was without the switch: our file handler on ``assistant``
    stops logging's last resort (stderr) from firing, so a record that would have reached it
    (no other handler on its way up) is handed to it here."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    def emit(self, record: logging.LogRecord) -> None:
        last = logging.lastResort
        if last is None or record.levelno < last.level:
            return
        logger: logging.Logger | None = logging.getLogger(record.name)
        while logger is not None:
            if any(h not in _switch for h in logger.handlers):
                return  # someone else handles it (the TUI's file, execution's NullHandler)
            if not logger.propagate:
                break
            logger = logger.parent
        last.handle(record)


def setup_logging(path: str | os.PathLike[str], level: int | str = logging.INFO) -> Path:
    """Append the app's records at ``level`` and above to ``path``, with timestamps, levels
    and logger names. Calling it again replaces the previous file. OSError if the file cannot
    be opened (the caller says so); ValueError for an unknown level."""
    lvl = parse_level(level)
    file = Path(path).expanduser()
    file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(file, encoding="utf-8")
    handler.setLevel(lvl)
    handler.setFormatter(logging.Formatter(FORMAT))
    logger = logging.getLogger(ROOT)
    for old in [h for h in logger.handlers if h in _switch]:
        logger.removeHandler(old)
        _switch.discard(old)
        old.close()
    for h in (handler, _AsBefore()):
        _switch.add(h)
        logger.addHandler(h)
    # Only ever lower the threshold: warnings that reached the terminal still do.
    if lvl < logger.getEffectiveLevel():
        logger.setLevel(lvl)
    return file


def setup_from(
    path: str | None, level: str | None, environ: Mapping[str, str] = os.environ
) -> Path | None:
    """The switch from flags, else the environment; None when neither asks for a log."""
    path = path or environ.get(ENV_FILE) or None
    if path is None:
        return None
    return setup_logging(path, level or environ.get(ENV_LEVEL) or "INFO")


def log_app_to_file() -> Path | None:
    """Send the app's own warnings (``logging`` under ``assistant``) to ``log/assistant.log``:
    in the full-screen app and the REPL, logging's stderr fallback would draw over the UI."""
    from assistant.execution.kernel_log import kernel_log_dir

    logger = logging.getLogger(ROOT)
    if any(h in _app_log for h in logger.handlers):
        return None
    handler: logging.Handler
    try:
        folder = kernel_log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(folder / "assistant.log", encoding="utf-8", delay=True)
    except OSError:
        handler = logging.NullHandler()
    # Warnings only, as before ``--log-file`` could lower the ``assistant`` logger's level.
    handler.setLevel(logging.WARNING)
    _app_log.add(handler)
    handler.setFormatter(logging.Formatter(FORMAT))
    logger.addHandler(handler)
    logger.propagate = False
    return folder / "assistant.log"
