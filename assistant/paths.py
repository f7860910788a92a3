"""Where the assistant keeps its files. ``ASSISTANT_HOME`` moves all of them (tests use it).

Nothing here creates folders at import time; callers ask for a folder with ``ensure=True``.
"""

from __future__ import annotations

import os
from pathlib import Path

APP = "mtpb-assistant"


def _home() -> Path | None:
    env = os.environ.get("ASSISTANT_HOME")
    return Path(env).expanduser() if env else None


def _pick(kind: str) -> Path:
    home = _home()
    if home is not None:
        return home / kind
    import platformdirs

    fn = {
        "config": platformdirs.user_config_dir,
        "data": platformdirs.user_data_dir,
        "cache": platformdirs.user_cache_dir,
        "state": platformdirs.user_state_dir,
    }[kind]
    return Path(fn(APP, appauthor=False))


def config_dir(ensure: bool = False) -> Path:
    return _ensure(_pick("config"), ensure)


def data_dir(ensure: bool = False) -> Path:
    return _ensure(_pick("data"), ensure)


def cache_dir(ensure: bool = False) -> Path:
    return _ensure(_pick("cache"), ensure)


def state_dir(ensure: bool = False) -> Path:
    return _ensure(_pick("state"), ensure)


def sessions_dir(ensure: bool = False) -> Path:
    return _ensure(data_dir() / "sessions", ensure)


def _ensure(path: Path, ensure: bool) -> Path:
    if ensure:
        path.mkdir(parents=True, exist_ok=True)
    return path
