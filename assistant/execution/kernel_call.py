"""A pluggable program runner (``module:function`` of ``kernels/``) called in a Jupyter kernel.

The Jupyter side of ``ProgramPool.call`` (``runtime.py``); a fork server's child does the same
in ``kernels/fork_child.py``, and both answer alike: ``status`` "ok" with ``value`` (what the
function returned, through JSON), "error" with ``error``, or "timeout"/"died" with ``cause``.
The module comes from the ``kernels`` package every kernel's boot code registered
(``kernelcode.py``), as in the fork child: loaded once per kernel process, never by path.
"""

from __future__ import annotations

import ast
import json
from typing import Any

from assistant.execution.result import ExecResult
from assistant.execution.runtime import Runtime

# The function's answer is left in the namespace as JSON text, read back with ``evaluate``:
# a cell's own output is the program's, never the runner's.
_CELL = """\
def __asst_call(name, function, args):
    import importlib, json
    mod = importlib.import_module("assistant_kernels." + name)
    return json.dumps(getattr(mod, function)(**json.loads(args)))
__asst_call_result = __asst_call({name!r}, {function!r}, {args!r})
del __asst_call
"""


async def call_in_kernel(
    kernel: Runtime, runner: str, args: dict[str, Any], timeout: float
) -> tuple[dict[str, Any], ExecResult]:
    """(the runner's reply, the cell's ExecResult) for ``runner`` called with ``args``."""
    module, _, function = runner.partition(":")
    cell = _CELL.format(
        name=module,
        function=function,
        args=json.dumps(args),
    )
    res = await kernel.execute(cell, timeout=timeout)
    if res.status in ("timeout", "died") and res.restarted:
        return {"status": res.status, "cause": res.message}, res
    if not res.ok:  # the runner itself failed, or an interrupt stopped it
        detail = res.error.summary() if res.error is not None else res.message
        return {"status": "error", "error": detail}, res
    got = await kernel.evaluate({"r": "__asst_call_result"})
    text = got.get("r", {}).get("data", {}).get("text/plain", "")
    try:
        return {"status": "ok", "value": json.loads(ast.literal_eval(text))}, res
    except (ValueError, SyntaxError) as exc:
        return {"status": "error", "error": f"no result ({exc})"}, res
