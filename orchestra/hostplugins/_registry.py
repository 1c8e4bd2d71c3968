"""Finding host plug-ins on search paths (DESIGN.md "Host plug-ins").

Search order: ``ORCHESTRA_PLUGIN_PATH`` entries, then the config's
``host_plugins.paths``, then ``<sys.prefix>/lib/orchestra/plugins``.
"""

from __future__ import annotations

from pathlib import Path

from .._paths import host_plugin_search_paths
from ._python import HostModule, PythonHostPlugin, load_python_plugin

__all__ = ("HostPluginRegistry", "default_search_paths")


def default_search_paths(config_paths: list[str] | None = None) -> list[Path]:
    return [Path(p) for p in host_plugin_search_paths(config_paths)]


class HostPluginRegistry:
    """Host plug-ins found so far, by name; host modules by module name (first wins,
    in search order)."""

    def __init__(self) -> None:
        self.plugins: dict[str, PythonHostPlugin] = {}
        self._modules: dict[str, HostModule] = {}
        self.searched: list[str] = []

    def load_from_path(self, path: str | Path) -> list[PythonHostPlugin]:
        """Load a plug-in file, or every plug-in file in a directory.

        :raises PluginLoadError: a file that is a host plug-in fails to load.
        """
        path = Path(path)
        self.searched.append(str(path))
        if path.is_dir():
            files = sorted(
                p for p in path.iterdir() if p.suffix == ".py" and not p.name.startswith("_")
            )
        elif path.is_file():
            files = [path]
        else:
            return []
        loaded = []
        for file in files:
            if file.suffix != ".py":
                continue
            plugin = load_python_plugin(file)
            if plugin.name in self.plugins:
                continue
            self.plugins[plugin.name] = plugin
            for name, module in plugin.modules.items():
                self._modules.setdefault(name, module)
            loaded.append(plugin)
        return loaded

    def load_default_paths(self, config_paths: list[str] | None = None) -> None:
        for p in default_search_paths(config_paths):
            self.load_from_path(p)

    def names(self) -> list[str]:
        return sorted(self.plugins)

    def find(self, name: str) -> PythonHostPlugin | None:
        return self.plugins.get(name)

    def module(self, name: str) -> HostModule | None:
        return self._modules.get(name)

    def module_names(self) -> list[str]:
        return sorted(self._modules)
