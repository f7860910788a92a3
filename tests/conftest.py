"""Shared fixtures and the cost tiers.

Every test run gets its own ASSISTANT_HOME so nothing touches the user's files.

Every test gets at least one cost marker, assigned here from where it lives and the fixtures it
uses or what its code calls (an explicit marker in the test file wins):

- ``unit``: pure logic: no kernel, no model, no TUI (``make test-fast``, under 30 s);
- ``kernel``: starts real Jupyter kernels or the fork server;
- ``llama``: loads a GGUF through llama.cpp (the tiny random one or a real one);
- ``tui``: Textual Pilot, snapshots, the prompt-toolkit REPL;
- ``acceptance``: whole-benchmark runs.

A test may carry several (a TUI test that starts a kernel is ``tui`` and ``kernel``). A test
marked only ``unit`` that starts a kernel or loads a model fails at once (``_unit_guard``), so
the fast tier stays honest.
"""

from __future__ import annotations

import inspect
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_HOME = Path(tempfile.mkdtemp(prefix="assistant-test-home-"))
os.environ["ASSISTANT_HOME"] = str(_HOME)
os.environ.setdefault("HF_HUB_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[1]
MTPB_PATH = REPO.parent / "shared" / "mtpb" / "mtpb.jsonl"
TESTS = Path(__file__).resolve().parent

COSTS = ("unit", "kernel", "llama", "tui", "acceptance")

# Folders whose every test has that cost.
FOLDER_COSTS: dict[str, tuple[str, ...]] = {
    "unit": ("unit",),
    "execution": ("kernel",),
    "hostile": ("kernel",),
    "tui": ("tui",),
    "real": ("llama",),
    "acp_agent": ("kernel",),  # each test spawns `assistant acp`, whose sessions start kernels
}
# Fixtures (or anything they depend on) that give a test its cost.
FIXTURE_COSTS: dict[str, str] = {
    "kernel": "kernel",  # the engine, hostile and TUI kernels
    "pool": "kernel",
    "make_engine": "kernel",
    "tiny_gguf": "llama",  # model, server, remote, hub depend on it
    "llama": "llama",
    "real_model": "llama",
    "model_path": "llama",
    "run_app": "tui",
    "snap_compare": "tui",
}
# What a test's own code does: Pilot runs an app, whose boot starts a kernel; the REPL is a TUI.
SOURCE_COSTS: dict[str, tuple[str, ...]] = {
    ".run_test(": ("tui", "kernel"),
    "Repl(": ("tui",),
}
# Files whose tests start kernels or models in their bodies (through the CLI, an engine, a
# pool), so no fixture tells; single tests are marked in their files instead.
FILE_COSTS: dict[str, tuple[str, ...]] = {
    "engine/test_engine_snapshot.py": ("kernel",),
    "models/test_front_end_loading.py": ("kernel", "llama"),
    "models/test_quantized_tiny.py": ("llama",),
    "models/test_lineup_eval.py": ("kernel", "llama"),
    "mtpb/test_mtpb_runner.py": ("kernel",),
    "mtpb/test_eval_concurrency.py": ("kernel", "llama"),
    "mtpb/test_eval_scripted.py": ("kernel",),
    "mtpb/test_mtpb_acceptance.py": ("acceptance", "kernel"),
    "mtpb/test_upstream_eval.py": ("kernel",),
}


def _costs(item: pytest.Item) -> set[str]:
    explicit = {m.name for m in item.iter_markers() if m.name in COSTS}
    if explicit:
        return explicit
    rel = Path(str(item.fspath)).resolve().relative_to(TESTS)
    found: set[str] = set()
    if len(rel.parts) > 1:
        found.update(FOLDER_COSTS.get(rel.parts[0], ()))
    found.update(FILE_COSTS.get(rel.as_posix(), ()))
    found.update(FIXTURE_COSTS[f] for f in getattr(item, "fixturenames", ()) if f in FIXTURE_COSTS)
    source = _source(item)
    for needle, costs in SOURCE_COSTS.items():
        if needle in source:
            found.update(costs)
    return found or {"unit"}


def _source(item: pytest.Item) -> str:
    try:
        return inspect.getsource(item.function)  # type: ignore[attr-defined]
    except (AttributeError, OSError, TypeError):
        return ""


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = []
    for item in items:
        for cost in sorted(_costs(item)):
            item.add_marker(cost)
        if not any(m.name in COSTS for m in item.iter_markers()):
            unmarked.append(item.nodeid)
    if unmarked:
        tiers = ", ".join(COSTS)
        listing = "\n  ".join(unmarked)
        raise pytest.UsageError(f"tests without a cost marker (one of {tiers}):\n  {listing}")


# -- the unit tier stays honest: no kernel process, no llama.cpp model ----------------------
def _refuse(what: str, nodeid: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError(f"unit test {nodeid} {what}")

    return refuse


@pytest.fixture(autouse=True)
def _unit_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """A ``unit`` test (and nothing costlier) may not start a kernel or load a model."""
    costs = {m.name for m in request.node.iter_markers() if m.name in COSTS}
    if costs != {"unit"}:
        yield
        return
    import subprocess

    from assistant.models import llama as llama_module

    nodeid = request.node.nodeid
    popen = subprocess.Popen.__init__

    def guarded_popen(self: Any, args: Any, *rest: Any, **kwargs: Any) -> None:
        argv = " ".join(map(str, args)) if isinstance(args, list | tuple) else str(args)
        if "ipykernel_launcher" in argv or "fork_server.py" in argv:
            _refuse("started a kernel (mark it kernel)", nodeid)()
        popen(self, args, *rest, **kwargs)

    with pytest.MonkeyPatch.context() as mp:

        def refuse_models(module: Any) -> Any:
            mp.setattr(module.Llama, "__init__", _refuse("loaded a model (mark it llama)", nodeid))
            return module

        mp.setattr(subprocess.Popen, "__init__", guarded_popen)
        # LlamaModel imports llama.cpp lazily, through this function: guard what it returns.
        import_llama_cpp = getattr(llama_module, "import_llama_cpp", None)
        if import_llama_cpp is not None:
            mp.setattr(llama_module, "import_llama_cpp", lambda: refuse_models(import_llama_cpp()))
        if "llama_cpp" in sys.modules:
            refuse_models(sys.modules["llama_cpp"])
        yield


@pytest.fixture(scope="session")
def assistant_home() -> Path:
    return _HOME


@pytest.fixture(scope="session")
def mtpb_path() -> Path:
    if not MTPB_PATH.exists():
        pytest.fail(f"MTPB data not found at {MTPB_PATH} (the shared/ folder beside the repo)")
    return MTPB_PATH
