"""What a run would refuse, found before any worker starts (``orchestra validate``,
and ``orchestra run`` before it reads a record).

The YAML is already checked by the loader; this opens the plug-ins the way a worker
does (``runtime``'s source loading and import planning, so the two cannot disagree):
each source is read and compiled, every import must be satisfiable (a route, a
granted host module, WASI, the Extism kernel), every route must reach an export of a
compatible ABI, and every pipeline stage must name an export its plug-in has. Every
problem is reported, each at the YAML field to fix.

Modules are compiled in this process (no store, no instance, no host plug-in code:
native host plug-ins are read by a probe process) with the engine settings a worker
uses, into the same compiled-module cache, so the workers that follow start from it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog
import wasmtime

from ._paths import default_cache_dir, host_plugin_search_paths
from .config import Config, ConfigFile, PluginSpec, is_manifest, load_manifest
from .errors import ConfigError, PluginLoadError
from .pipeline import missing_export, stage_calls
from .runtime import detect_abi
from .runtime._abi_extism import INITIALISERS
from .runtime._engine import engine_settings, make_engine
from .runtime._imports import ImportProblem, Route, plan_imports
from .runtime._sources import load_source

__all__ = ("check_config",)

log = structlog.get_logger("orchestra.preflight")

_Path = tuple[Any, ...]
_Report = Callable[[_Path, str], None]


@dataclass
class _Plugin:
    """What a loaded plug-in offers: its ABI and callable exports (name -> type)."""

    abi: str
    exports: dict[str, wasmtime.FuncType]
    routes: dict[str, Route] = field(default_factory=dict)


def check_config(
    config: Config | ConfigFile,
    *,
    pipelines: Collection[str] | None = None,
    cache_dir: str | os.PathLike[str] | None = None,
) -> list[ConfigError]:
    """Every problem that would stop a run of ``config`` or fail its records for
    reasons the config can fix, in file order. Empty: nothing found.

    Pass a :class:`ConfigFile` (``read_config``) for errors at ``FILE:LINE:COL``; a
    plain :class:`Config` gives field paths only. ``pipelines`` limits the stage checks
    to those (a run checks the one it runs; default: all). ``cache_dir`` is the compiled-module
    cache (default: the one ``Orchestra`` uses).

    A plug-in whose Extism manifest fetches wasm from a URL is not opened (nothing is
    downloaded here): its worker checks it when it starts.
    """
    where = config if isinstance(config, ConfigFile) else ConfigFile.unlocated(config)
    cfg = where.config
    errors: list[ConfigError] = []

    def report(path: _Path, message: str) -> None:
        errors.append(where.error(path, message))

    cache = Path(cache_dir) if cache_dir is not None else default_cache_dir() / "modules"
    search = host_plugin_search_paths(cfg.host_plugins.paths)
    options = cfg.host_plugins.option_strings()
    loaded: dict[str, _Plugin] = {}
    for name, spec in cfg.plugins.items():
        plugin = _open(name, spec, report, cache, search, options)
        if plugin is not None:
            loaded[name] = plugin
    for name, plugin in loaded.items():
        for key, route in plugin.routes.items():
            _check_route(("plugins", name, "imports", key), route, loaded, report)
    for name, pipeline in cfg.pipelines.items():
        if pipelines is not None and name not in pipelines:
            continue
        for at, plugin_name, export in stage_calls(pipeline):
            target = loaded.get(plugin_name)
            if target is not None:
                message = missing_export(plugin_name, target.abi, target.exports, export)
                if message is not None:
                    report(("pipelines", name, *at), message)
    return sorted(errors, key=_order)


def _order(err: ConfigError) -> tuple[str, int, int]:
    return (err.file or "", err.line or 0, err.column or 0)


def _open(
    name: str,
    spec: PluginSpec,
    report: _Report,
    cache: Path,
    search: list[str],
    options: dict[str, dict[str, str]],
) -> _Plugin | None:
    at: _Path = ("plugins", name)
    source = spec.source
    if not os.path.exists(source):
        report((*at, "source"), f"no such file: {source}")
        return None
    if os.path.isdir(source):
        report((*at, "source"), f"{source} is a directory, not a .wasm, .wat or manifest")
        return None
    if is_manifest(source):
        try:
            manifest = load_manifest(source)
        except ConfigError as exc:
            report((*at, "source"), str(exc))
            return None
        if any(entry.url is not None for entry in manifest.wasm):
            log.info("preflight_skipped", plugin=name, reason="manifest wasm from a url")
            return None
    settings = engine_settings(spec)
    try:
        src = load_source(
            spec,
            plugin=name,
            engine=make_engine(settings),
            settings=settings,
            cache_dir=cache,
        )
    except PluginLoadError as exc:
        report((*at, "source"), exc.message)
        return None
    spec = src.spec  # a manifest may add grants and settings
    abi = (
        spec.abi if spec.abi != "auto" else detect_abi(src.main, manifest=is_manifest(spec.source))
    )
    linked = [n for n, _ in src.linked]
    problems: list[ImportProblem] = []
    plan = plan_imports(
        src.main,
        plugin=name,
        abi=abi,
        granted=list(spec.host_modules),
        search_paths=search,
        own_modules=linked,
        routes=spec.imports,
        options=options,
        problems=problems,
        load=False,
    )
    plan.close()
    for problem in problems:
        report(_problem_field(at, spec, problem), problem.message)
    funcs = {e.name: e.type for e in src.main.exports if isinstance(e.type, wasmtime.FuncType)}
    if abi == "wasi-command":
        exports = {n: t for n, t in funcs.items() if n == "_start"}
    else:
        hidden = INITIALISERS if abi == "extism" else ("_initialize",)
        exports = {n: t for n, t in funcs.items() if n not in hidden}
    routes = {f"{m}.{n}": route for (m, n), route in plan.routes.items()}
    return _Plugin(abi, exports, routes)


def _problem_field(at: _Path, spec: PluginSpec, problem: ImportProblem) -> _Path:
    """The field to fix: the route, the grant of that module, or where grants go."""
    if problem.route:
        return (*at, "imports", f"{problem.module}.{problem.name}")
    if problem.module in spec.host_modules:
        return (*at, "host_modules", spec.host_modules.index(problem.module))
    return (*at, "host_modules")


def _check_route(at: _Path, route: Route, loaded: dict[str, _Plugin], report: _Report) -> None:
    target = loaded.get(route.plugin)
    if target is None:
        return  # unknown plug-ins are the loader's; one that failed has its own error
    where = f"route to {route.plugin}.{route.export}"
    missing = missing_export(route.plugin, target.abi, target.exports, route.export)
    if missing is not None:
        report(at, f"{where}: {missing}")
        return
    if route.blocks:
        if target.abi not in ("extism", "wasi-command"):
            report(
                at,
                f"{where}: the import passes bytes (an Extism block) but "
                f"{route.plugin!r} uses the {target.abi!r} ABI (numbers in, numbers out)",
            )
        return
    signature = f"({', '.join(route.params)}) -> ({', '.join(route.results)})"
    if target.abi != "core":
        report(
            at,
            f"{where}: the import {signature} passes numbers but {route.plugin!r} uses the "
            f"{target.abi!r} ABI (bytes in, bytes out)",
        )
        return
    ty = target.exports[route.export]
    params, results = [str(t) for t in ty.params], [str(t) for t in ty.results]
    if (params, results) != (route.params, route.results):
        report(
            at,
            f"{where}: the import has type {signature} but the export has type "
            f"({', '.join(params)}) -> ({', '.join(results)})",
        )
