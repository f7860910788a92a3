"""/edit: fix a turn's code by hand; Ctrl+S runs it, Esc gives up. Dismisses with the code."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, TextArea

from assistant.frontends.tui.screens import CannotOpen

if TYPE_CHECKING:
    from assistant.engine.session import Turn


class EditScreen(ModalScreen["str | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("ctrl+s", "run", "Run code", priority=True),
        Binding("escape", "cancel", "Cancel", priority=True),
    ]

    def __init__(self, turn_index: int, turn_text: str, code: str) -> None:
        super().__init__()
        self.turn_index = turn_index
        self.turn_text = turn_text
        self.code = code

    def compose(self) -> Any:
        with Vertical(id="edit-box"):
            yield Label(f"Edit turn {self.turn_index + 1}: {self.turn_text}", id="edit-title")
            yield TextArea(self.code, id="edit-code", show_line_numbers=True, tab_behavior="indent")
            with Horizontal(id="edit-buttons"):
                yield Button("Run (Ctrl+S)", id="edit-run", variant="primary")
                yield Button("Cancel (Esc)", id="edit-cancel")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "edit-run":
            self.action_run()
        else:
            self.action_cancel()

    def action_run(self) -> None:
        self.dismiss(self.query_one(TextArea).text)

    def action_cancel(self) -> None:
        self.dismiss(None)


def edit_screen(turns: Sequence[Turn], arg: str) -> EditScreen:
    """The editor on turn ``arg`` (1-based; default the last) with its kept code, else the
    code of its best candidate; ``CannotOpen`` when there is no such turn."""
    if not turns:
        raise CannotOpen("nothing to edit yet")
    try:
        index = int(arg) - 1 if arg else len(turns) - 1
        turn = turns[index]
    except (ValueError, IndexError):
        raise CannotOpen(f"/edit: no turn {arg!r} (1-{len(turns)})") from None
    best = turn.attempts[-1].best if turn.attempts else None
    code = turn.code or (best.code if best is not None else "")
    return EditScreen(turn.index, turn.text, code)
