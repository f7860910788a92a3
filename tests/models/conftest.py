"""Fixtures for the model backends: a tiny random GGUF written once per run, models loaded on it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.models.tiny_gguf import ban_tokens, byte_token_ids, write_tiny_gguf


@pytest.fixture(scope="session")
def tiny_gguf(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_tiny_gguf(tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture
def model(tiny_gguf: Path) -> Iterator[object]:
    """A fresh model (loading takes ~10 ms) that never emits stray bytes, so text is UTF-8."""
    from assistant.models.llama import LlamaModel

    m = LlamaModel(
        tiny_gguf, n_ctx=1024, n_threads=1, logits_processor=[ban_tokens(byte_token_ids())]
    )
    yield m
    m.close()


@pytest.fixture
def unused_port() -> int:
    """A port nothing listens on (connection refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
