"""One loading path: the TUI, the REPL and /model load the model with the user's settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistant.config import Settings
from assistant.frontends.controller import Controller

pytestmark = [pytest.mark.kernel, pytest.mark.llama]


def settings(**kw: object) -> Settings:
    return Settings(timeout=15.0, autosave=False, **kw)  # type: ignore[arg-type]


async def test_controller_and_model_switch_honour_n_ctx_threads_seed_chat(
    tiny_gguf: Path,
) -> None:
    s = settings(model=str(tiny_gguf), n_ctx=512, threads=2, seed=7, chat=False, n_gpu_layers=0)
    ctl = Controller(s, lambda e: None, autosave_enabled=False)
    await ctl.start()
    try:
        for _ in range(2):  # start(), then /model
            info = ctl.describe_model()
            assert (info["n_ctx"], info["threads"], info["chat"]) == (512, 2, False)
            assert ctl.model.seed == 7  # type: ignore[union-attr]
            assert ctl.engine.style == "completion"
            await ctl.switch_model(str(tiny_gguf))
    finally:
        await ctl.close()


async def test_a_gguf_with_a_chat_template_runs_in_chat_style(tiny_gguf: Path) -> None:
    ctl = Controller(settings(model=str(tiny_gguf), n_ctx=256, threads=1), lambda e: None)
    await ctl.start()
    try:
        assert ctl.describe_model()["chat"] is True and ctl.engine.style == "chat"
    finally:
        await ctl.close()


def test_no_template_means_base_model(tmp_path: Path) -> None:
    from assistant.models.llama import LlamaModel
    from assistant.models.tiny_gguf import write_tiny_gguf

    path = write_tiny_gguf(tmp_path / "base-instruct-chat.gguf", chat_template=False)
    m = LlamaModel(path, n_ctx=128, n_threads=1)  # the name says "instruct": the file decides
    try:
        assert m.chat is False
    finally:
        m.close()
