"""The environment generated code runs with: what Python and the kernel need, nothing more.

Kernels, fork servers and their children (every runtime, every sandbox setting) are started
with ``minimal(...)`` instead of a copy of the app's environment, so the app's credentials
(``OPENAI_API_KEY``, ``HF_TOKEN``...) are never readable by the code a model wrote:

* kept from the app's environment: the names in ``NEEDED`` (search path, locale, time zone,
  home, the Python/venv variables an installation may rely on) and the user's explicit
  ``env_passthrough`` list (a setting);
* never kept, whatever the list says: a name that looks like a credential (``is_secret``:
  ``*_KEY``, ``*_TOKEN``, ``*_SECRET``, anything with ``PASSWORD``...), nor any variable whose
  value is the value of such a variable or of a secret the app registered (``register_secret``:
  a backend's API key given on the command line), so a copy under a harmless name leaks nothing;
* added by the caller: the app's own variables (the kernel's tag, BLAS thread counts...).

``protect_app()`` also marks the app's process non-dumpable, so code running as the same user
cannot read the app's environment or memory through ``/proc/<app pid>/environ`` or ``mem``
(the kernel drops ``CAP_SYS_PTRACE`` and ``CAP_PERFMON``, kernels/contain.py, so root cannot either).
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
from collections.abc import Iterable, Mapping

# What Python, ipykernel, numpy and ordinary subprocesses need to behave as in a terminal.
NEEDED = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "LC_NUMERIC",
    "LC_TIME",
    "LC_COLLATE",
    "LC_MONETARY",
    "LC_MESSAGES",
    "TZ",
    "TMPDIR",
    "LD_LIBRARY_PATH",
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONIOENCODING",
    "PYTHONUTF8",
    "PYTHONDONTWRITEBYTECODE",
    "VIRTUAL_ENV",
    "CONDA_PREFIX",
    "SYSTEMROOT",
)

# Credential-looking names (upper-cased before matching).
SECRET_PATTERNS = (
    "*_KEY",
    "*_KEYS",
    "*_TOKEN",
    "*_TOKENS",
    "*_SECRET",
    "*_SECRETS",
    "*PASSWORD*",
    "*PASSWD*",
    "*_CREDENTIALS",
    "*API_KEY*",
    "*ACCESS_KEY*",
    "*SECRET_KEY*",
    "*AUTH_TOKEN*",
    "*_PAT",
    "KEY",
    "TOKEN",
    "SECRET",
)

_registered: set[str] = set()


def is_secret(name: str) -> bool:
    """True for a variable name that looks like a credential (never passed to generated code)."""
    upper = name.upper()
    return any(fnmatch.fnmatchcase(upper, pattern) for pattern in SECRET_PATTERNS)


def register_secret(value: str | None) -> None:
    """A credential the app holds (a backend's key): no variable with this value is passed."""
    if value:
        _registered.add(value)


def check_passthrough(names: Iterable[str]) -> list[str]:
    """The user's passthrough names, checked: a ValueError names any that is refused."""
    out: list[str] = []
    for name in names:
        name = name.strip()
        if not name:
            continue
        if "=" in name or not name.replace("_", "a").isalnum():
            raise ValueError(f"env_passthrough: {name!r} is not a variable name")
        if is_secret(name):
            raise ValueError(
                f"env_passthrough: {name!r} looks like a credential; credentials are never "
                "passed to generated code (rename it if it is not one)"
            )
        out.append(name)
    return out


def minimal(
    passthrough: Iterable[str] = (),
    extra: Mapping[str, str] | None = None,
    source: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The environment for a kernel or fork server: ``NEEDED`` and ``passthrough`` names taken
    from ``source`` (the app's environment), then ``extra`` (the app's own settings for the
    kernel); credentials filtered out of all of them."""
    source = os.environ if source is None else source
    secret_values = set(_registered)
    secret_values.update(v for k, v in source.items() if is_secret(k) and len(v) >= 8)
    env: dict[str, str] = {}
    for name in (*NEEDED, *passthrough):
        value = source.get(name)
        if value is not None and not is_secret(name) and value not in secret_values:
            env[name] = value
    for name, value in (extra or {}).items():
        if not is_secret(name) and value not in secret_values:
            env[name] = value
    return env


def leaked(env: Mapping[str, str], source: Mapping[str, str] | None = None) -> list[str]:
    """Names in ``env`` that carry a credential of ``source`` (for tests and the benchmark)."""
    source = os.environ if source is None else source
    values = set(_registered) | {v for k, v in source.items() if is_secret(k) and v}
    return sorted(k for k, v in env.items() if is_secret(k) or v in values)


def protect_app() -> None:
    """Mark this process non-dumpable: /proc/<pid>/environ and mem are then closed to
    processes without CAP_SYS_PTRACE, even of the same user (Linux; a no-op elsewhere)."""
    with contextlib.suppress(Exception):
        import ctypes

        pr_set_dumpable = 4
        ctypes.CDLL(None).prctl(pr_set_dumpable, 0, 0, 0, 0)
