"""Agent mode: the engine behind the Agent Client Protocol (``assistant acp``).

Editors and notebooks that speak ACP (Zed, JetBrains IDEs, Toad, jupyter-ai personas) drive
the same controller as the TUI and the REPL: ``agent`` maps protocol methods onto sessions,
``session`` owns one controller and the ordered stream of updates to the client, ``view`` maps
engine events to those updates, ``permission`` asks before code runs (and about ``input()``),
``commands`` advertises and runs the shared slash commands, ``cli`` serves stdio.
"""
