"""Finding host plug-ins on search paths (docs/hostplugins.md).

Search order: ``ORCHESTRA_PLUGIN_PATH`` entries, then the config's
``host_plugins.paths``, then ``<sys.prefix>/lib/orchestra/plugins``. The first
plug-in of a name wins, and so does the first provider of a module.

Discovery never runs plug-in code in this process: a native library's descriptor
is learnt by a probe in a child process (``_probe.py``), a Python plug-in's
modules by reading its source. Code runs only in :meth:`HostPlugin.create_module`,
which only workers call, for the modules their plug-in is granted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from .._paths import host_plugin_search_paths
from ..errors import PluginLoadError
from ._native import (
    Descriptor,
    NativeFunction,
    NativeLibrary,
    OptionDesc,
    is_native_file,
    open_library,
    release_library,
)
from ._python import (
    HostModule,
    PythonHostPlugin,
    PythonPluginInfo,
    load_python_plugin,
    scan_python_plugin,
)

if TYPE_CHECKING:
    from ._probe import ProbeResult


class _FunctionSource(Protocol):
    """A loaded native library, Orchestra's ABI or WasmEdge's through the shim."""

    def function(self, module: str, name: str) -> NativeFunction: ...


__all__ = (
    "KNOWN_HOST_MODULES",
    "HostPlugin",
    "HostPluginRegistry",
    "LoadFailure",
    "NativeHostPlugin",
    "PythonPluginEntry",
    "WasmEdgeHostPlugin",
    "default_search_paths",
    "describe_registry",
    "registry_as_dict",
)

#: Host modules known to come from a host plug-in (module -> plug-in name): a
#: granted module of this list whose plug-in is not installed is mocked with a
#: message naming the plug-in. Plug-ins that are found but fail to load add theirs.
KNOWN_HOST_MODULES: dict[str, str] = {
    "orchestra_zhash": "orchestra_zhash",
    "orchestra_zhash/blocks": "orchestra_zhash",
    "orchestra_kv": "orchestra_kv",
    "orchestra_text": "orchestra_text",
}

# The probe's own module is imported only when used: ``python -m
# orchestra.hostplugins._probe`` imports this package first, and must not find itself
# already imported.
DEFAULT_PROBE_TIMEOUT = 10.0

Signature = tuple[tuple[str, ...], tuple[str, ...]]


def default_search_paths(config_paths: list[str] | None = None) -> list[Path]:
    return [Path(p) for p in host_plugin_search_paths(config_paths)]


class HostPlugin(Protocol):
    """A host plug-in found on a search path (native or Python), not yet loaded."""

    kind: str
    name: str
    version: str
    description: str
    file: str

    def module_names(self) -> list[str]: ...

    def create_module(self, name: str) -> HostModule:
        """Load the plug-in into this process (once) and return module ``name``.

        :raises KeyError: no such module.
        :raises PluginLoadError: loading or init failed.
        """
        ...

    def signatures(self, module: str) -> dict[str, Signature]:
        """Function name -> (params, results), as wasm value types (bytes for blocks)."""
        ...

    def option_docs(self) -> list[OptionDesc]: ...


@dataclass(frozen=True)
class LoadFailure:
    """A file on a search path that is a host plug-in but cannot be used.
    ``plugin``/``modules`` are known when its descriptor could be read."""

    file: str
    message: str
    plugin: str | None = None
    modules: tuple[str, ...] = ()


class NativeHostPlugin:
    """A native host plug-in known from its probed descriptor."""

    kind = "native"

    def __init__(self, descriptor: Descriptor, options: Mapping[str, str] | None = None) -> None:
        self.descriptor = descriptor
        self.name = descriptor.name
        self.version = descriptor.version
        self.description = descriptor.description
        self.file = descriptor.file
        self.options = {str(k): str(v) for k, v in (options or {}).items()}
        self._modules: dict[str, HostModule] = {}
        self._library: NativeLibrary | None = None

    def module_names(self) -> list[str]:
        return sorted(self.descriptor.modules)

    def signatures(self, module: str) -> dict[str, Signature]:
        return {n: (f.params, f.results) for n, f in self.descriptor.modules[module].items()}

    def option_docs(self) -> list[OptionDesc]:
        return list(self.descriptor.options)

    def library(self) -> NativeLibrary:
        """The library loaded into this process, its init run (shared with other
        users of the same file and options in this process).

        :raises PluginLoadError: it cannot be loaded, or init failed.
        """
        if self._library is None:
            self._library = open_library(self.file, self.options)
        return self._library

    def close(self) -> None:
        """Done with the modules created here: the library's last user runs fini."""
        lib, self._library = self._library, None
        self._modules.clear()
        if lib is not None:
            release_library(lib)

    def _functions(self) -> _FunctionSource:
        """What makes this plug-in's functions: its library, loaded here."""
        return self.library()

    def create_module(self, name: str) -> HostModule:
        module = self._modules.get(name)
        if module is None:
            fns = self.descriptor.modules[name]  # KeyError: no such module
            lib = self._functions()
            module = HostModule(name)
            for fname in fns:
                module.functions[fname] = lib.function(name, fname)
            self._modules[name] = module
        return module


class WasmEdgeHostPlugin(NativeHostPlugin):
    """A WasmEdge C-API plug-in known from its probed descriptor (``_wasmedge.py``):
    loaded through Orchestra's compatibility library, its modules' ``create`` run
    with ``host_plugins.options`` as WasmEdge program options."""

    kind = "wasmedge"

    def _functions(self) -> _FunctionSource:
        from ._wasmedge import open_wasmedge

        return open_wasmedge(self.file, self.options)

    def close(self) -> None:
        """Module instances stay in the process (as in WasmEdge): nothing to run."""
        self._modules.clear()


class PythonPluginEntry:
    """A Python host plug-in, imported on first :meth:`create_module`."""

    kind = "python"

    def __init__(
        self,
        file: Path,
        info: PythonPluginInfo | None,
        loaded: PythonHostPlugin | None = None,
        options: Mapping[str, str] | None = None,
    ) -> None:
        self.path = file
        self.file = str(file)
        self._loaded = loaded
        self._options = dict(options or {})
        if loaded is not None:
            self.name, self.version = loaded.name, loaded.version
            self.description = loaded.description
            self._module_names = sorted(loaded.modules)
        else:
            assert info is not None
            self.name, self.version, self.description = info.name, info.version, info.description
            self._module_names = sorted(info.modules)

    def load(self) -> PythonHostPlugin:
        """:raises PluginLoadError: importing it (or its init) failed."""
        if self._loaded is None:
            self._loaded = load_python_plugin(self.path, self._options)
        return self._loaded

    def module_names(self) -> list[str]:
        return list(self._module_names)

    def create_module(self, name: str) -> HostModule:
        if name not in self._module_names:
            raise KeyError(name)
        plugin = self.load()
        if name not in plugin.modules:  # named in the source, but not made at import
            raise PluginLoadError(
                f"{self.file}: module {name!r} is not a top-level HostModule once imported "
                f"(it has: {', '.join(plugin.module_names()) or 'none'})"
            )
        return plugin.create_module(name)

    def signatures(self, module: str) -> dict[str, Signature]:
        return {n: (f.params, f.results) for n, f in self.create_module(module).functions.items()}

    def option_docs(self) -> list[OptionDesc]:
        return []


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return sorted(
            p
            for p in path.iterdir()
            if p.is_file()
            and not p.name.startswith(("_", "."))
            and (p.suffix == ".py" or is_native_file(p))
        )
    if path.is_file():
        return [path]
    return []


class HostPluginRegistry:
    """Host plug-ins found so far, by name, and the provider of each host module
    (first wins, in search order), as in WasmEdge's plug-in registry.

    ``options`` (``host_plugins.options`` of the config: plug-in name -> key ->
    value) go to each plug-in's init when it is loaded (and when a native one is
    probed). Nothing is loaded into this process until
    :meth:`HostPlugin.create_module`.
    """

    def __init__(
        self,
        *,
        options: Mapping[str, Mapping[str, str]] | None = None,
        probe_timeout: float = DEFAULT_PROBE_TIMEOUT,
    ) -> None:
        self.plugins: dict[str, HostPlugin] = {}
        self.providers: dict[str, HostPlugin] = {}
        self.searched: list[str] = []
        self.errors: list[LoadFailure] = []
        self.shadowed: list[tuple[str, str]] = []
        """(file, plug-in name) of plug-ins ignored because the name was found earlier."""
        self.options = {
            str(k): {str(a): str(b) for a, b in v.items()} for k, v in (options or {}).items()
        }
        self.probe_timeout = probe_timeout

    # -- discovery ------------------------------------------------------------------

    def load_from_path(self, path: str | Path, *, strict: bool = True) -> list[HostPlugin]:
        """Find the plug-in in a file, or every plug-in file (``*.py``, ``*.so``,
        ``*.dylib``) in a directory; a missing path is searched and yields nothing.

        Failures are collected in :attr:`errors` (with ``strict``, the first is
        raised after the whole path is scanned).

        :raises PluginLoadError: ``strict`` and a file failed: no descriptor,
            another ABI version, a malformed descriptor, init failed or crashed.
        """
        path = Path(path)
        self.searched.append(str(path))
        files = _files(path)
        native = [str(f) for f in files if is_native_file(f)]
        probed: dict[str, ProbeResult] = {}
        if native:
            from ._probe import probe

            probed = {r.file: r for r in probe(native, self.options, timeout=self.probe_timeout)}
        found: list[HostPlugin] = []
        failed: list[LoadFailure] = []
        for file in files:
            entry: HostPlugin | None
            try:
                if is_native_file(file):
                    entry = self._native_entry(probed[str(file)], failed)
                elif file.suffix == ".py":
                    entry = self._python_entry(file)
                else:
                    entry = None
            except PluginLoadError as exc:
                failed.append(LoadFailure(str(file), exc.message))
                continue
            if entry is not None and self._add(entry):
                found.append(entry)
        self.errors += failed
        if strict and failed:
            more = f" (and {len(failed) - 1} more)" if len(failed) > 1 else ""
            raise PluginLoadError(failed[0].message + more)
        return found

    def _native_entry(self, result: ProbeResult, failed: list[LoadFailure]) -> HostPlugin | None:
        desc = Descriptor.from_json(result.descriptor) if result.descriptor else None
        if result.error is not None:
            failed.append(
                LoadFailure(
                    result.file,
                    result.error,
                    desc.name if desc else None,
                    tuple(desc.modules) if desc else (),
                )
            )
            return None
        assert desc is not None
        kind = WasmEdgeHostPlugin if desc.kind == "wasmedge" else NativeHostPlugin
        return kind(desc, self.options.get(desc.name))

    def _python_entry(self, file: Path) -> HostPlugin:
        info = scan_python_plugin(file)
        if info is not None:
            return PythonPluginEntry(file, info, options=self.options.get(info.name))
        # Modules not named literally: import it to know (this is the only case
        # where discovery runs plug-in code; Python code, never a native library).
        loaded = load_python_plugin(file, self.options.get(file.stem))
        return PythonPluginEntry(file, None, loaded, self.options.get(loaded.name))

    def _add(self, plugin: HostPlugin) -> bool:
        if plugin.name in self.plugins:
            self.shadowed.append((plugin.file, plugin.name))
            return False
        self.plugins[plugin.name] = plugin
        for module in plugin.module_names():
            self.providers.setdefault(module, plugin)
        return True

    def load_default_paths(self, config_paths: list[str] | None = None) -> list[HostPlugin]:
        """Search ``ORCHESTRA_PLUGIN_PATH``, then ``config_paths``, then
        ``WASMEDGE_PLUGIN_PATH``, then ``<sys.prefix>/lib/orchestra/plugins``;
        failures go to :attr:`errors`."""
        found: list[HostPlugin] = []
        for p in default_search_paths(config_paths):
            found += self.load_from_path(p, strict=False)
        return found

    load_with_default_paths = load_default_paths
    """WasmEdge's name (``WasmEdge_PluginLoadWithDefaultPaths``)."""

    # -- lookup ----------------------------------------------------------------------

    def names(self) -> list[str]:
        return sorted(self.plugins)

    list_plugins = names
    """WasmEdge's name (``WasmEdge_PluginListPlugins``)."""

    def find(self, name: str) -> HostPlugin | None:
        return self.plugins.get(name)

    def module_names(self) -> list[str]:
        return sorted(self.providers)

    def provider(self, module: str) -> HostPlugin | None:
        """The plug-in providing host module ``module`` (nothing is loaded)."""
        return self.providers.get(module)

    def module(self, name: str) -> HostModule | None:
        """Host module ``name``, loading its plug-in into this process.

        :raises PluginLoadError: the plug-in fails to load.
        """
        plugin = self.providers.get(name)
        return plugin.create_module(name) if plugin is not None else None

    @property
    def known_modules(self) -> dict[str, str]:
        """Modules known to come from a host plug-in that is not usable here
        (module -> plug-in name): :data:`KNOWN_HOST_MODULES` and the modules of
        plug-ins that failed to load, minus what is provided."""
        known = dict(KNOWN_HOST_MODULES)
        for failure in self.errors:
            for module in failure.modules:
                known.setdefault(module, failure.plugin or failure.file)
        return {m: p for m, p in known.items() if m not in self.providers}

    def close(self) -> None:
        """Release what :meth:`HostPlugin.create_module` loaded through this registry
        (native fini runs when no other registry in the process uses the library;
        Python modules stay imported)."""
        for plugin in self.plugins.values():
            if isinstance(plugin, NativeHostPlugin):
                plugin.close()

    def failures_for(self, module: str) -> list[LoadFailure]:
        """Failures that declare ``module``, or, when none does, the failures whose
        modules are unknown (any of them could have provided it)."""
        declared = [f for f in self.errors if module in f.modules]
        return declared or [f for f in self.errors if not f.modules]


def _signature(params: tuple[str, ...], results: tuple[str, ...]) -> str:
    return f"({', '.join(params)}) -> ({', '.join(results)})"


def describe_registry(registry: HostPluginRegistry) -> str:
    """The ``orchestra plugins`` report: a table of the plug-ins found, then each
    one's modules, functions and options, then what failed and what was searched.

    Python plug-ins are imported to read their signatures (never native ones: their
    descriptors come from the probe).
    """
    rows = [("NAME", "VERSION", "KIND", "MODULES", "FILE")]
    for name in registry.names():
        p = registry.plugins[name]
        rows.append((p.name, p.version, p.kind, ", ".join(p.module_names()), p.file))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = [
        "  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4]
        for row in rows
    ]
    if len(rows) == 1:
        lines = ["no host plug-ins found"]
    for name in registry.names():
        p = registry.plugins[name]
        kind = p.kind
        if isinstance(p, WasmEdgeHostPlugin):
            kind += f", plug-in API version {p.descriptor.api_version}"
        lines += ["", f"{p.name} {p.version} ({kind}): {p.description or 'no description'}"]
        for module in p.module_names():
            try:
                sigs = p.signatures(module)
            except PluginLoadError as exc:
                lines.append(f"  {module}: cannot list functions: {exc.message}")
                continue
            for fname, (params, results) in sorted(sigs.items()):
                lines.append(f"  {module}.{fname} {_signature(params, results)}")
        for option in p.option_docs():
            default = f" (default: {option.default})" if option.default is not None else ""
            lines.append(f"  option {option.name}: {option.description or '-'}{default}")
    if registry.errors:
        lines += ["", "failed to load:"]
        lines += [f"  {f.message}" for f in registry.errors]
    if registry.shadowed:
        lines += ["", "ignored (a plug-in of the same name comes first):"]
        lines += [f"  {file} ({name})" for file, name in registry.shadowed]
    lines += ["", "searched: " + (", ".join(registry.searched) or "nothing")]
    return "\n".join(lines)


def registry_as_dict(registry: HostPluginRegistry) -> dict[str, Any]:
    """What ``orchestra plugins --json`` prints (the keys are part of the CLI):
    ``plugins`` (each ``name``, ``version``, ``kind``, ``description``, ``file``,
    ``modules`` [{``name``, ``functions`` [{``name``, ``params``, ``results``}] or
    ``error``}], ``options`` [{``name``, ``description``, ``default``}]),
    ``errors`` [{``file``, ``message``, ``plugin``, ``modules``}], ``shadowed``
    [{``file``, ``name``}] and ``searched``."""
    plugins = []
    for name in registry.names():
        p = registry.plugins[name]
        modules: list[dict[str, Any]] = []
        for module in p.module_names():
            try:
                sigs = p.signatures(module)
            except PluginLoadError as exc:
                modules.append({"name": module, "error": exc.message})
                continue
            functions = [
                {"name": fname, "params": list(params), "results": list(results)}
                for fname, (params, results) in sorted(sigs.items())
            ]
            modules.append({"name": module, "functions": functions})
        plugins.append(
            {
                "name": p.name,
                "version": p.version,
                "kind": p.kind,
                "description": p.description,
                "file": p.file,
                "modules": modules,
                "options": [
                    {"name": o.name, "description": o.description, "default": o.default}
                    for o in p.option_docs()
                ],
            }
        )
    return {
        "plugins": plugins,
        "errors": [
            {"file": f.file, "message": f.message, "plugin": f.plugin, "modules": list(f.modules)}
            for f in registry.errors
        ],
        "shadowed": [{"file": file, "name": name} for file, name in registry.shadowed],
        "searched": list(registry.searched),
    }
