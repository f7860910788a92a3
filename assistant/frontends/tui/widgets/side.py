"""The side panel: model backend (device, offloaded layers, warnings) and kernel variables."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from assistant.frontends.textview import describe_line


class SidePanel(Vertical):
    def compose(self) -> Any:
        yield Static("model", classes="side-title")
        yield Static("loading…", id="backend")
        yield Static("variables", classes="side-title")
        table: DataTable[str] = DataTable(id="variables", cursor_type="row", zebra_stripes=True)
        yield table

    def on_mount(self) -> None:
        self.query_one(DataTable).add_columns("name", "type", "value")

    def show_backend(self, info: dict[str, Any]) -> None:
        line, _, warnings = describe_line(info).partition("\n")
        text = Text(line.replace(" · ", "\n"))
        if warnings:
            text.append("\n" + warnings.strip(), style="bold yellow")
        self.query_one("#backend", Static).update(text)

    def show_variables(self, rows: list[tuple[str, str, str]]) -> None:
        table = self.query_one(DataTable)
        table.clear()
        for name, type_name, value in rows:
            table.add_row(name, type_name, value.replace("\n", " ")[:60], key=name)
