"""Extism manifests (JSON, or the same keys in YAML) as a plug-in ``source:``.

The manifest is parsed and checked here (unknown keys rejected, positions in
errors); the worker reads the wasm it names, checks hashes and links the modules.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import msgspec
from msgspec import Meta

from ..errors import ConfigError
from ._loader import _explain, _parse
from ._spec import Limits, PluginSpec, WasiSpec
from ._units import Duration, Size

__all__ = (
    "MANIFEST_SUFFIXES",
    "Manifest",
    "ManifestMemory",
    "ManifestWasm",
    "apply_manifest",
    "growth_budget",
    "is_manifest",
    "load_manifest",
)

MANIFEST_SUFFIXES = (".json", ".yaml", ".yml")


class _M(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    pass


class ManifestWasm(_M):
    """One module: exactly one of ``path``, ``data`` (base64) or ``url``."""

    path: str | None = None
    data: str | None = None
    url: str | None = None
    headers: dict[str, str] = {}
    method: str | None = None
    name: str | None = None
    hash: Annotated[str, Meta(pattern=r"^[0-9a-fA-F]{64}$")] | None = None


class ManifestMemory(_M):
    max_pages: Annotated[int, Meta(ge=0)] | None = None
    max_http_response_bytes: Annotated[int, Meta(ge=0)] | None = None
    max_var_bytes: Annotated[int, Meta(ge=0)] | None = None


class Manifest(_M):
    wasm: Annotated[list[ManifestWasm], Meta(min_length=1)]
    memory: ManifestMemory | None = None
    config: dict[str, str] = {}
    allowed_hosts: list[str] | None = None
    allowed_paths: dict[str, str] | None = None
    timeout_ms: Annotated[int, Meta(ge=0)] | None = None


def is_manifest(source: str) -> bool:
    return source.lower().endswith(MANIFEST_SUFFIXES)


def load_manifest(path: str | os.PathLike[str]) -> Manifest:
    """Read and check a manifest; relative wasm paths resolve against its folder.

    :raises ConfigError: unreadable, malformed, unknown keys, duplicate module names,
        a wasm entry with none or several of path/data/url.
    """
    filename = os.fspath(path)
    try:
        raw = Path(filename).read_bytes()
    except OSError as exc:
        raise ConfigError(
            f"cannot read the manifest: {(exc.strerror or str(exc)).lower()}", file=filename
        ) from None
    doc = _parse(raw, filename)
    if not isinstance(doc.data, dict):
        raise doc.error((), "expected a manifest object with a 'wasm' list")
    try:
        manifest = msgspec.convert(doc.data, Manifest)
    except msgspec.ValidationError as exc:
        raise _explain(doc, str(exc), Manifest) from None
    base = os.path.dirname(os.path.abspath(filename))
    names: set[str] = set()
    wasm = []
    for i, entry in enumerate(manifest.wasm):
        given = [k for k in ("path", "data", "url") if getattr(entry, k) is not None]
        if len(given) != 1:
            raise doc.error(
                ("wasm", i), "each wasm entry needs exactly one of 'path', 'data' or 'url'"
            )
        name = entry.name or "main"
        if entry.name is not None:
            if name in names:
                raise doc.error(("wasm", i, "name"), f"duplicate module name {name!r}")
            names.add(name)
        if entry.path is not None:
            entry = msgspec.structs.replace(
                entry, path=os.path.join(base, os.path.expanduser(entry.path))
            )
        wasm.append(entry)
    paths = manifest.allowed_paths
    if paths is not None:
        paths = {
            (
                ("ro:" + os.path.join(base, k[3:]))
                if k.startswith("ro:")
                else os.path.join(base, k)
            ): v
            for k, v in paths.items()
        }
    return msgspec.structs.replace(manifest, wasm=wasm, allowed_paths=paths)


def growth_budget(spec: PluginSpec, manifest: Manifest) -> int | None:
    """Bytes that the memories of a plug-in from ``manifest`` may grow by after
    instantiation, together (Extism's ``memory.max_pages``), when the manifest's
    value is the one in force (``spec`` is the plug-in before :func:`apply_manifest`:
    a ``limits.memory`` of its own wins, and keeps Orchestra's per-memory meaning)."""
    memory = manifest.memory
    if memory is None or memory.max_pages is None or spec.limits.memory != Limits().memory:
        return None
    return memory.max_pages * 65536


def apply_manifest(spec: PluginSpec, manifest: Manifest) -> PluginSpec:
    """The plug-in spec with the manifest's settings applied.

    The manifest's limits and caps replace the spec's *defaults* only: a value the
    YAML (or the CLI) set to something else wins. ``config`` merges, the YAML's keys
    winning; ``allowed_hosts`` and ``allowed_paths`` are unions.
    """
    default_limits = Limits()
    default_spec = PluginSpec(source="")
    limits: Limits = spec.limits
    memory = manifest.memory
    if memory and memory.max_pages is not None and limits.memory == default_limits.memory:
        limits = msgspec.structs.replace(limits, memory=Size(memory.max_pages * 65536))
    if manifest.timeout_ms is not None and limits.timeout == default_limits.timeout:
        limits = msgspec.structs.replace(limits, timeout=Duration(manifest.timeout_ms / 1000))
    wasi = spec.wasi
    if manifest.allowed_paths:
        base = wasi or WasiSpec()
        wasi = msgspec.structs.replace(
            base, allowed_paths={**manifest.allowed_paths, **base.allowed_paths}
        )
    changes: dict[str, object] = {
        "limits": limits,
        "wasi": wasi,
        "config": {**manifest.config, **spec.config},
    }
    if manifest.allowed_hosts is not None:
        changes["allowed_hosts"] = sorted({*manifest.allowed_hosts, *spec.allowed_hosts})
    if memory and memory.max_var_bytes is not None:
        if spec.max_var_bytes == default_spec.max_var_bytes:
            changes["max_var_bytes"] = Size(memory.max_var_bytes)
    if memory and memory.max_http_response_bytes is not None:
        if spec.max_http_response_bytes == default_spec.max_http_response_bytes:
            changes["max_http_response_bytes"] = Size(memory.max_http_response_bytes)
    return msgspec.structs.replace(spec, **changes)  # type: ignore[arg-type]
