"""Whether the process has a terminal: the full-screen app needs one."""

from __future__ import annotations

import sys


def has_terminal() -> bool:
    """Both stdin and stdout are a terminal: what the full-screen app needs. Without one (a
    pipe, CI, ``make demo | tee``) Textual never gets input and spins at 100% CPU forever."""
    try:
        return sys.stdin.isatty() and sys.stdout.isatty()
    except (AttributeError, ValueError):  # closed or replaced streams
        return False
