"""Modal screens of the TUI: the input() dialog, the code editor and the MTPB browser.

Each module builds its screen from plain data and dismisses with a plain value; none imports
the app (the app pushes the screen and acts on what it returns).
"""

from __future__ import annotations

from assistant.errors import AssistantError


class CannotOpen(AssistantError):
    """A screen has nothing to show for what was typed; the message says why (a warning)."""
