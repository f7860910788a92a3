"""Locate files shipped with the package (prompts/ and kernels/), in a wheel or a source tree."""

from __future__ import annotations

from functools import cache
from pathlib import Path

_PKG = Path(__file__).resolve().parent


@cache
def bundled_dir(name: str) -> Path:
    """The folder ``prompts`` or ``kernels``: inside the wheel (``assistant/_data``) or the repo."""
    for candidate in (_PKG / "_data" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(
        f"cannot find the '{name}' folder of the assistant (looked in {_PKG / '_data'} and "
        f"{_PKG.parent}); the installation is incomplete: reinstall the package"
    )


def prompt_path(name: str) -> Path:
    return bundled_dir("prompts") / name
