"""Front ends over one engine: the controller and slash commands they share, the plain-text
view, the line-mode REPL, the demo, and the Textual TUI (``frontends.tui``, the only place
Textual is imported)."""
