"""/mtpb: browse MTPB problems (filter by id, name, category), pick a test case, play it.

Playing starts a fresh session and steps through the problem's turns with the current model
or the reference solutions; the last turn is checked against the expected output with MTPB
semantics, and the verdict shows expected vs actual.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from rich.text import Text
from textual import on
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import DataTable, Input, Static

from assistant.frontends.tui.screens import CannotOpen

if TYPE_CHECKING:
    from assistant.mtpb.problems import Problem


@dataclass(frozen=True)
class MtpbChoice:
    problem: Problem
    case: int
    reference: bool  # True: the reference solutions answer, else the current model


class ProblemBrowser(ModalScreen["MtpbChoice | None"]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "close", "Close", priority=True),
        Binding("ctrl+r", "toggle_source", "Model/reference", priority=True),
        *[Binding(str(i), f"play({i - 1})", f"Case {i}", show=False) for i in range(1, 6)],
    ]

    def __init__(self, problems: list[Any], selected: str | None = None) -> None:
        super().__init__()
        self.problems = problems
        self.selected = selected
        self.reference = True

    def compose(self) -> Any:
        with Vertical(id="mtpb-box"):
            yield Input(placeholder="filter: id, name or category", id="mtpb-filter")
            table: DataTable[str] = DataTable(id="mtpb-table", cursor_type="row")
            yield table
            yield Static("", id="mtpb-detail")

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("id", "name", "category", "turns")
        self._fill("")
        if self.selected is not None:
            keys = [p.id for p in self._shown]
            if self.selected in keys:
                table.move_cursor(row=keys.index(self.selected))
            table.focus()
        self._detail()

    def _fill(self, query: str) -> None:
        q = query.strip().lower()
        self._shown = [
            p
            for p in self.problems
            if not q or q == p.id or q in p.name.lower() or q in p.category.lower()
        ]
        table = self.query_one(DataTable)
        table.clear()
        for p in self._shown:
            table.add_row(p.id, p.name, p.category, str(len(p.prompts)), key=p.id)

    @property
    def current(self) -> Any:
        table = self.query_one(DataTable)
        if not self._shown or table.cursor_row is None:
            return None
        return self._shown[min(table.cursor_row, len(self._shown) - 1)]

    def _detail(self) -> None:
        p = self.current
        detail = self.query_one("#mtpb-detail", Static)
        if p is None:
            detail.update("no problem matches")
            return
        source = "reference solutions" if self.reference else "the current model"
        text = Text(f"{p.id}. {p.name}", style="bold")
        text.append(f"  ({p.category})\n{p.description}\n")
        for i, prompt in enumerate(p.prompts):
            text.append(f"  {i + 1}. {prompt}\n", style="dim")
        text.append(
            f"Press 1-{p.cases} to play that test case with {source} (Ctrl+R switches); Esc closes.",
            style="bold",
        )
        detail.update(text)

    @on(Input.Changed, "#mtpb-filter")
    def _filter(self, event: Input.Changed) -> None:
        self._fill(event.value)
        self._detail()

    @on(Input.Submitted, "#mtpb-filter")
    def _to_table(self) -> None:
        self.query_one(DataTable).focus()

    @on(DataTable.RowHighlighted)
    def _highlighted(self) -> None:
        self._detail()

    def action_toggle_source(self) -> None:
        self.reference = not self.reference
        self._detail()

    def action_play(self, case: int) -> None:
        if isinstance(self.focused, Input):
            self.focused.insert_text_at_cursor(str(case + 1))  # digits typed in the filter
            return
        p = self.current
        if p is not None and case < p.cases:
            self.dismiss(MtpbChoice(p, case, self.reference))

    def action_close(self) -> None:
        self.dismiss(None)


def problem_browser(arg: str) -> ProblemBrowser:
    """The browser over the MTPB problems, on problem ``arg`` when given; ``CannotOpen`` when
    the data cannot be found or read, or no problem has that id."""
    from assistant.mtpb.problems import DataNotFound, load_problems, resolve_path

    try:
        problems = load_problems(resolve_path()).problems
    except (DataNotFound, OSError) as exc:
        raise CannotOpen(str(exc)) from exc
    if arg and arg not in {p.id for p in problems}:
        raise CannotOpen(f"/mtpb: no problem {arg!r} (ids 1-{len(problems)})")
    return ProblemBrowser(problems, arg or None)
