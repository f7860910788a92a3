"""Shared fixtures. Every test run gets its own ASSISTANT_HOME so nothing touches the user's files."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="assistant-test-home-"))
os.environ["ASSISTANT_HOME"] = str(_HOME)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
MTPB_PATH = REPO.parent / "shared" / "mtpb" / "mtpb.jsonl"


@pytest.fixture(scope="session")
def assistant_home() -> Path:
    return _HOME


@pytest.fixture(scope="session")
def mtpb_path() -> Path:
    if not MTPB_PATH.exists():
        pytest.fail(f"MTPB data not found at {MTPB_PATH} (the shared/ folder beside the repo)")
    return MTPB_PATH
