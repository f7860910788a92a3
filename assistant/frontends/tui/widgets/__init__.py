"""Widgets of the TUI; each keeps the messages it posts next to it."""
