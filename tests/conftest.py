"""Shared fixtures and the cost tiers.

Every test run gets its own ASSISTANT_HOME so nothing touches the user's files.

Every test has at least one cost tier, a pytest marker, declared where a reader sees it: by
its folder (``FOLDER_TIERS``: every test in ``tests/unit`` is ``unit``, in ``tests/execution``
``kernel``...), and otherwise in its file, as ``pytestmark = pytest.mark.unit`` for the whole
file or ``@pytest.mark.kernel`` on a test. A test's tiers are its folder's plus every tier
marker on it, its class or its file; nothing is inferred from fixtures or code. The tiers:

- ``unit``: pure logic: no kernel, no model, no TUI (``make test-fast``, under 30 s);
- ``kernel``: starts real Jupyter kernels or the fork server;
- ``llama``: loads a GGUF through llama.cpp (the tiny random one or a real one);
- ``tui``: Textual Pilot, snapshots, the prompt-toolkit REPL;
- ``acceptance``: whole-benchmark runs.

A test may carry several (a TUI test that starts a kernel is ``tui`` and ``kernel``). A test
without any is an error at collection. A test marked only ``unit`` that starts a kernel or
loads a model fails at once (``_unit_guard``), so the fast tier stays honest.
"""

from __future__ import annotations

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

# Folders whose every test has that tier; tests elsewhere declare theirs in their files.
FOLDER_TIERS: dict[str, tuple[str, ...]] = {
    "unit": ("unit",),
    "execution": ("kernel",),
    "hostile": ("kernel",),
    "tui": ("tui",),
    "real": ("llama",),
    "acp_agent": ("kernel",),  # each test spawns `assistant acp`, whose sessions start kernels
}


def _folder_tiers(item: pytest.Item) -> tuple[str, ...]:
    rel = Path(str(item.fspath)).resolve().relative_to(TESTS)
    return FOLDER_TIERS.get(rel.parts[0], ()) if len(rel.parts) > 1 else ()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    unmarked = []
    for item in items:
        declared = {m.name for m in item.iter_markers() if m.name in COSTS}
        for cost in _folder_tiers(item):
            if cost not in declared:
                item.add_marker(cost)
                declared.add(cost)
        if not declared:
            unmarked.append(item.nodeid)
    if unmarked:
        tiers = ", ".join(COSTS)
        listing = "\n  ".join(unmarked)
        raise pytest.UsageError(
            f"tests without a cost tier (one of {tiers}): put the file in a folder of "
            f"FOLDER_TIERS (tests/conftest.py) or mark it (pytestmark = pytest.mark.unit):"
            f"\n  {listing}"
        )


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
        if "ipykernel_launcher" in argv or "fork_server" in argv:
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
