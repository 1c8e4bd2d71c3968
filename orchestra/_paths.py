"""Environment-derived locations shared by both sides of the process boundary."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ("default_cache_dir",)


def default_cache_dir() -> Path:
    """``$ORCHESTRA_CACHE_DIR``, else ``$XDG_CACHE_HOME/orchestra``, else ``~/.cache/orchestra``.

    Compiled modules are kept under ``modules/`` there.
    """
    env = os.environ.get("ORCHESTRA_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "orchestra"
