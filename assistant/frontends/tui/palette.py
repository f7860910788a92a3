"""Command palette entries: one per slash command (Ctrl+P), shared table in commands.py.

Picking an entry posts ``SlashCommands.Chosen`` to the app, which runs the command (or
prefills the input when it needs an argument): the palette knows nothing of the app.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.message import Message

from assistant.frontends.commands import COMMANDS, CommandSpec


class SlashCommands(Provider):
    class Chosen(Message):
        """A slash command picked in the palette."""

        def __init__(self, spec: CommandSpec) -> None:
            super().__init__()
            self.spec = spec

    def _run(self, spec: CommandSpec) -> None:
        self.app.post_message(SlashCommands.Chosen(spec))

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
