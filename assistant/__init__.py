"""A terminal programming assistant: multi-turn synthesis with a local model and a Jupyter kernel."""

__version__ = "0.1.0"
