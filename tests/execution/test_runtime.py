"""The runtime contract: both runtimes answer the same calls the same way, chosen in one place."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.execution import KernelConfig
from assistant.execution.choose import choose_runtime, make_pool
from assistant.execution.forkpool import ForkPool
from assistant.execution.pool import KernelPool
from assistant.execution.runtime import ProgramPool, Runtime

# upstream's program runner: the same module and answer in both runtimes
_UPSTREAM = "upstream_exec:run_upstream"
_PROGRAM = "import numpy as np\nx = [3, 1]\nprint(sorted(x))\n"


def test_the_runtime_is_chosen_in_one_place() -> None:
    cfg = KernelConfig()
    assert choose_runtime("fork", cfg) == "fork"
    assert choose_runtime("jupyter", cfg) == "jupyter"
    # another interpreter (a kernelspec) only runs in Jupyter kernels
    assert choose_runtime("fork", KernelConfig(kernel_name="python3")) == "jupyter"
    with pytest.raises(ValueError, match="fork, jupyter"):
        choose_runtime("docker", cfg)
    assert isinstance(make_pool(1, cfg), ForkPool)
    assert isinstance(make_pool(1, cfg, runtime="jupyter"), KernelPool)


async def _contract(pool: ProgramPool) -> dict[str, Any]:
    """What a pool and one of its runtimes answer, with the runtime's own name beside it."""
    out: dict[str, Any] = {}
    async with pool:
        results = await pool.run_cells(["x = 6", "y = x * 7", "y"])
        out["run_cells"] = [(r.status, r.last_printed and r.last_printed.value) for r in results]
        stopped = await pool.run_cells(["1 / 0", "print('never')"])
        out["stops"] = [r.status for r in stopped]
        reply = await pool.call(
            _UPSTREAM, {"program": _PROGRAM, "timeout": 20.0, "expected": [1, 3]}
        )
        out["call"] = (reply["status"], reply["value"]["passed"], reply["value"]["printed"])
        async with pool.kernel() as k:
            runtime: Runtime = k
            res = await runtime.execute("z = 5")
            got = await runtime.evaluate({"z": "z + 1"})
            out["evaluate"] = (res.ok, got["z"]["data"]["text/plain"])
            info = runtime.describe()
            # a checkpoint is taken only where the runtime says it can
            out["snapshot"] = await runtime.checkpoint("snapshot") == runtime.snapshots
            out["name"] = (info["runtime"], info["snapshots"], runtime.snapshots)
    return out


@pytest.mark.asyncio
async def test_both_runtimes_keep_the_contract() -> None:
    cfg = KernelConfig(timeout=20)
    fork = await _contract(make_pool(1, cfg, runtime="fork", preload=[]))
    jupyter = await _contract(make_pool(1, cfg, runtime="jupyter"))
    assert fork.pop("name") == ("fork", True, True)
    assert jupyter.pop("name") == ("jupyter", False, False)
    assert fork == jupyter
    assert fork["run_cells"] == [("ok", None), ("ok", None), ("ok", 42)]
    assert fork["stops"] == ["error"]
    assert fork["call"][:2] == ("ok", True)
    assert fork["evaluate"] == (True, "6")
    assert fork["snapshot"] is True
