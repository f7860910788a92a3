"""Starting the full-screen app: what the CLI and the demo call (imported only then, so the
rest of the package never loads Textual)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from assistant.config import Settings
from assistant.frontends.demo_problem import DemoProblem, demo_model
from assistant.frontends.terminal import has_terminal
from assistant.frontends.tui.app import AssistantApp
from assistant.frontends.tui.screens.mtpb import MtpbChoice
from assistant.logs import log_app_to_file
from assistant.sessions import store

if TYPE_CHECKING:
    from assistant.mtpb.problems import Problem


def run_demo(settings: Settings, problem: DemoProblem, *, fast: bool = False) -> int:
    """Play a demo problem in the app (``assistant demo``)."""
    model = demo_model(problem, 0.0 if fast else settings.demo_delay)
    app = AssistantApp(settings, model=model, demo=problem, fast=fast, autosave=False)
    return app.run() or 0


def run_mtpb(settings: Settings, problem: Problem, case: int, reference: bool) -> int:
    """Open the app and play one MTPB problem (``assistant demo --problem ID``)."""
    choice = MtpbChoice(problem, case, reference)
    return AssistantApp(settings, autosave=False, autoplay=choice).run() or 0


def main(args: argparse.Namespace, settings: Settings) -> int:
    """``assistant`` / ``assistant tui``: the app on a new or resumed session."""
    loaded = store.resume_from_args(args)
    if loaded is None:
        return 1
    if not has_terminal():  # a pipe or CI: the full-screen app would spin, never get input
        print(
            "assistant: the full-screen app needs a terminal; without one use "
            "`assistant repl` or `assistant demo`",
            file=sys.stderr,
        )
        return 2
    log_app_to_file()
    session, path = loaded
    app = AssistantApp(settings, session=session, session_path=path)
    return app.run() or 0
