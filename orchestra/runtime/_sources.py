"""Where a plug-in's wasm comes from: a .wasm/.wat file, or an Extism manifest.

Every source is read bounded by ``limits.source_size`` (the manifest and the modules
it names count together), and only regular files are read (``SourceBudget``).
"""

from __future__ import annotations

import base64
import hashlib
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import wasmtime

from ..config import (
    ManifestWasm,
    PluginSpec,
    SourceBudget,
    SourceRefused,
    apply_manifest,
    growth_budget,
    is_manifest,
    parse_manifest,
)
from ..errors import ConfigError, PluginLoadError
from ._engine import EngineSettings, load_module_bytes
from ._http import HostNotAllowed, allowed_opener, check_url

__all__ = ("LoadedSource", "load_source")


@dataclass
class LoadedSource:
    """The plug-in's main module, the modules linked beside it, and the spec with any
    manifest settings applied."""

    spec: PluginSpec
    main: wasmtime.Module
    linked: list[tuple[str, wasmtime.Module]]
    cached: bool
    growth_budget: int | None = None
    """Extism's ``memory.max_pages`` in bytes, when a manifest's is in force."""


def _read(budget: SourceBudget, path: str, plugin: str, what: str = "") -> bytes:
    """A source file, bounded by what is left of ``limits.source_size``.

    :raises PluginLoadError: unreadable, not a regular file, or too large.
    """
    try:
        return budget.read(path)
    except SourceRefused as exc:
        raise PluginLoadError(f"{what}{path}: {exc}", plugin=plugin) from None
    except OSError as exc:
        what = what or "cannot read "
        raise PluginLoadError(f"{what}{path}: {exc.strerror}", plugin=plugin) from None


def _entry_bytes(
    entry: ManifestWasm, spec: PluginSpec, plugin: str, budget: SourceBudget
) -> tuple[bytes, str]:
    if entry.path is not None:
        return _read(budget, entry.path, plugin, "manifest wasm "), entry.path
    if entry.data is not None:  # inside the manifest, which was counted
        try:
            return base64.b64decode(entry.data, validate=True), f"{spec.source} (wasm data)"
        except ValueError:
            raise PluginLoadError(
                "manifest wasm 'data' is not valid base64", plugin=plugin
            ) from None
    assert entry.url is not None
    url = entry.url
    try:
        check_url(url, spec.allowed_hosts)
        req = urllib.request.Request(url, method=entry.method or "GET", headers=entry.headers)
        with allowed_opener(spec.allowed_hosts).open(req, timeout=30) as resp:
            raw = resp.read(budget.left + 1)
        budget.take(len(raw))
    except HostNotAllowed as exc:
        host = urllib.parse.urlsplit(url).hostname or ""
        why = exc.why or f"host {host!r} is not in allowed_hosts"
        raise PluginLoadError(f"manifest wasm url {url}: {why}", plugin=plugin) from None
    except (OSError, SourceRefused) as exc:
        raise PluginLoadError(f"manifest wasm url {url}: {exc}", plugin=plugin) from None
    return raw, url


def load_source(
    spec: PluginSpec,
    *,
    plugin: str,
    engine: wasmtime.Engine,
    settings: EngineSettings,
    cache_dir: Path | None,
) -> LoadedSource:
    """Load the plug-in's modules (through the compile cache).

    :raises PluginLoadError: unreadable, not a regular file, larger than
        ``limits.source_size``, invalid, a hash mismatch, or a manifest asking for
        more than the spec grants.
    """
    budget = SourceBudget(int(spec.limits.source_size))
    if not is_manifest(spec.source):
        raw = _read(budget, spec.source, plugin)
        module, cached = load_module_bytes(engine, settings, raw, spec.source, cache_dir=cache_dir)
        return LoadedSource(spec, module, [], cached)
    try:
        raw = budget.read(spec.source)
    except (OSError, SourceRefused) as exc:
        why = str(exc) if isinstance(exc, SourceRefused) else (exc.strerror or "").lower()
        raise PluginLoadError(
            f"{spec.source}: cannot read the manifest: {why}", plugin=plugin
        ) from None
    try:
        manifest = parse_manifest(raw, spec.source)
        growth = growth_budget(spec, manifest)  # from the spec before the manifest
        spec = apply_manifest(spec, manifest)
    except ConfigError as exc:
        raise PluginLoadError(str(exc), plugin=plugin) from None
    modules: list[tuple[str, wasmtime.Module]] = []
    cached_all = True
    for entry in manifest.wasm:
        raw, where = _entry_bytes(entry, spec, plugin, budget)
        if entry.hash is not None:
            found = hashlib.sha256(raw).hexdigest()
            if found != entry.hash.lower():
                raise PluginLoadError(
                    f"{where}: hash mismatch, found {found} expected {entry.hash.lower()}",
                    plugin=plugin,
                )
        module, cached = load_module_bytes(engine, settings, raw, where, cache_dir=cache_dir)
        cached_all = cached_all and cached
        modules.append((entry.name or "", module))
    names = [n for n, _ in modules]
    # The module named "main", or else the last one, is the plug-in (docs/extism.md).
    main_index = names.index("main") if "main" in names else len(modules) - 1
    main = modules.pop(main_index)[1]
    unnamed = [i for i, (n, _) in enumerate(modules) if not n]
    if unnamed:
        raise PluginLoadError(
            "manifest: every wasm module besides the main one needs a 'name' "
            "(the import module it serves)",
            plugin=plugin,
        )
    return LoadedSource(spec, main, modules, cached_all, growth)
