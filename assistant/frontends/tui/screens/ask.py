"""input() in the running code: a dialog with the code's prompt. Enter answers, Esc cancels
the turn. Dismisses with the text, or None when cancelled."""

from __future__ import annotations

from typing import Any, ClassVar

from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class AskScreen(ModalScreen["str | None"]):
    DEFAULT_CSS = """
    AskScreen { align: center middle; }
    AskScreen > #ask-box {
        width: 70%; height: auto; padding: 1 2;
        border: thick $accent; background: $surface;
    }
    AskScreen #ask-hint { color: $text-muted; }
    """
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "Cancel the turn", priority=True),
    ]

    def __init__(self, prompt: str, password: bool = False) -> None:
        super().__init__()
        self.prompt_text = prompt
        self.password = password

    def compose(self) -> Any:
        with Vertical(id="ask-box"):
            yield Label("The code is waiting for input:", id="ask-hint")
            yield Label(self.prompt_text or "input()", id="ask-prompt", markup=False)
            yield Input(password=self.password, id="ask-input")
            yield Label("Enter sends it · Esc stops the turn", id="ask-keys")

    def on_mount(self) -> None:
        self.query_one(Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
