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
