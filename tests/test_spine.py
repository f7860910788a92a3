"""Package hygiene: CLI help, lazy imports, UI-free core, data files shipped in the wheel, config."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from assistant.config import ConfigError, load

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[1]


def _run(code: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=REPO
    )
    return out.stdout


def test_help_explains_commands() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "assistant.cli", "--help"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    for word in ("demo", "repl", "replay", "eval", "export", "--model", "examples:"):
        assert word in out


def test_core_never_imports_textual_or_heavy_libraries() -> None:
    mods = [
        "assistant.cli",
        "assistant.config",
        "assistant.engine.session",
        "assistant.engine.events",
        "assistant.execution",
        "assistant.models",
    ]
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in mods)
        + "bad = [m for m in ('textual', 'llama_cpp', 'jupyter_client', 'numpy', 'pandas', 'httpx')"
        " if m in sys.modules]\nprint(','.join(bad))"
    )
    assert _run(code).strip() == ""


def test_every_core_module_is_textual_free() -> None:
    """Import each module of the core (everything but assistant.frontends.tui) and check for Textual."""
    core = sorted(
        ".".join(p.relative_to(REPO).with_suffix("").parts)
        for p in (REPO / "assistant").rglob("*.py")
        if p.relative_to(REPO / "assistant").parts[:2] != ("frontends", "tui")
    )
    core = [m.removesuffix(".__init__") for m in core]
    code = (
        "import importlib, sys\n"
        f"for m in {core!r}:\n"
        "    importlib.import_module(m)\n"
        "print('textual' in sys.modules)"
    )
    assert _run(code).strip() == "False"


def test_wheel_ships_prompts_and_kernel_code(tmp_path: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            str(REPO),
        ],
        check=True,
        capture_output=True,
    )
    wheel = next(tmp_path.glob("*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    assert "assistant/_data/kernels/assistant_kernel.py" in names
    assert any(n.startswith("assistant/_data/prompts/") for n in names)


def test_config_layers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('model = "reference"\nattempts = 5\ntimeout = 3\n')
    monkeypatch.setenv("ASSISTANT_ATTEMPTS", "4")
    s = load(cfg, {"temperature": 0.7})
    assert (s.model, s.attempts, s.timeout, s.temperature) == ("reference", 4, 3.0, 0.7)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("attempts = 'many'\n", "bad value for 'attempts'"),
        ("nonsense = 1\n", "unknown setting 'nonsense'"),
        ("attempts = \n", "invalid TOML"),
    ],
)
def test_config_errors_name_the_file(tmp_path: Path, text: str, needle: str) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(text)
    with pytest.raises(ConfigError) as err:
        load(cfg)
    assert needle in str(err.value) and str(cfg) in str(err.value)


def test_config_choices_match_the_ranker_registry() -> None:
    from assistant.config import _CHOICES
    from assistant.engine.ranking import RANKERS

    assert set(_CHOICES["ranker"]) == set(RANKERS)


def test_bad_ranker_is_a_config_error(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text('ranker = "best"\n')
    with pytest.raises(ConfigError, match="ranker"):
        load(cfg)


def test_refine_prompt_choices_match_the_variants(tmp_path: Path) -> None:
    from assistant.config import _CHOICES
    from assistant.engine.prompting import REFINE_VARIANTS

    assert set(_CHOICES["refine_prompt"]) == {"auto", *REFINE_VARIANTS}
    cfg = tmp_path / "config.toml"
    cfg.write_text('refine_prompt = "louder"\n')
    with pytest.raises(ConfigError, match="refine_prompt"):
        load(cfg)


def test_acp_permission_setting(tmp_path: Path) -> None:
    from assistant.frontends.acp.permission import MODES

    cfg = tmp_path / "config.toml"
    cfg.write_text('acp_permission = "always"\n')
    assert load(cfg).acp_permission == "always"
    assert load(tmp_path / "none.toml").acp_permission == "ask"
    assert set(MODES) == {"ask", "always"}  # every setting value is a session mode
    cfg.write_text('acp_permission = "never"\n')
    with pytest.raises(ConfigError, match="acp_permission"):
        load(cfg)
