"""The one root of the assistant's own errors.

Every error the package raises on purpose (bad input, a missing model, a kernel that would not
start, a corrupt session file, ...) derives from ``AssistantError``, so a front end catches that
one class, shows its message and carries on; anything else is a bug and keeps its traceback.

The families: ConfigError (config), CommandError (frontends.commands), ModelError (models),
KernelError > KernelStartError > SandboxError and KernelDied (execution), SessionError >
SessionCorrupt (engine.session), DataNotFound, DownloadError, SimilarityUnavailable (mtpb).
``models.base.Cancelled`` is deliberately not one: it is control flow (the user cancelled), and
the engine turns it into a cancelled turn rather than an error to show.
"""

from __future__ import annotations


class AssistantError(Exception):
    """Something the user can act on; ``str(exc)`` is the message to show."""


def report_bug(exc: BaseException, context: str) -> str:
    """Log an exception that is not an AssistantError (a bug) with its traceback, under the
    ``assistant`` logger; returns the log file it went to ("" when logging falls back to
    stderr). For front ends that keep running after one: the message on screen names the file.
    """
    import logging

    logger = logging.getLogger("assistant")
    logger.error("%s: unexpected %s: %s", context, type(exc).__name__, exc, exc_info=exc)
    for handler in logger.handlers:
        if isinstance(handler, logging.FileHandler):
            return handler.baseFilename
    return ""


def bug_message(exc: BaseException, log_file: str) -> str:
    """One line for the screen about a bug whose traceback ``report_bug`` logged."""
    where = f"traceback in {log_file}" if log_file else "traceback on stderr"
    return f"internal error {type(exc).__name__}: {exc} ({where})"
