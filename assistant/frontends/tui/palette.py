"""Command palette entries: one per slash command (Ctrl+P), shared table in commands.py."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from assistant.frontends.commands import COMMANDS, CommandSpec

if TYPE_CHECKING:
    from assistant.frontends.tui.app import AssistantApp


class SlashCommands(Provider):
    def _run(self, spec: CommandSpec) -> None:
        app: AssistantApp = self.app  # type: ignore[assignment]
        app.palette_command(spec)

    async def discover(self) -> Hits:
        for spec in COMMANDS:
            yield DiscoveryHit(spec.usage, partial(self._run, spec), help=spec.help)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for spec in COMMANDS:
            score = max(matcher.match(spec.usage), matcher.match(spec.help) * 0.5)
            if score > 0:
                hit: Any = Hit(score, matcher.highlight(spec.usage), partial(self._run, spec))
                hit.help = spec.help
                yield hit
