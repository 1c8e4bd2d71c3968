"""Environment-derived locations shared by both sides of the process boundary."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ("default_cache_dir", "host_plugin_search_paths")


def default_cache_dir() -> Path:
    """``$ORCHESTRA_CACHE_DIR``, else ``$XDG_CACHE_HOME/orchestra``, else ``~/.cache/orchestra``.

    Compiled modules are kept under ``modules/`` there.
    """
    env = os.environ.get("ORCHESTRA_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "orchestra"


def host_plugin_search_paths(config_paths: list[str] | None = None) -> list[str]:
    """The search order of docs/hostplugins.md: ``ORCHESTRA_PLUGIN_PATH`` entries, then the config's
    ``host_plugins.paths``, then ``WASMEDGE_PLUGIN_PATH`` entries (WasmEdge's own
    variable: files or folders), then ``<sys.prefix>/lib/orchestra/plugins``."""
    import sys

    env = os.environ.get("ORCHESTRA_PLUGIN_PATH", "")
    paths = [p for p in env.split(os.pathsep) if p]
    paths += list(config_paths or [])
    paths += [p for p in os.environ.get("WASMEDGE_PLUGIN_PATH", "").split(os.pathsep) if p]
    paths.append(str(Path(sys.prefix) / "lib" / "orchestra" / "plugins"))
    return paths
