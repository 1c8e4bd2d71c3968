"""Python host plug-ins: host modules declared with decorated, typed functions.

::

    from orchestra.hostplugins import HostModule, i32

    user = HostModule("extism:host/user")

    @user.function
    def reverse(data: bytes) -> bytes:          # Extism style: a block in, a block out
        return data[::-1]

    @user.function
    def add(a: i32, b: i32) -> i32:             # core types
        return a + b

A file (or importable module) exposing ``HostModule`` objects at top level is a
Python host plug-in; it may set ``PLUGIN_NAME``, ``PLUGIN_VERSION`` and
``PLUGIN_DESCRIPTION``.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from ..errors import PluginLoadError

__all__ = (
    "HostFunction",
    "HostModule",
    "PythonHostPlugin",
    "f32",
    "f64",
    "i32",
    "i64",
    "load_python_plugin",
)

i32 = Annotated[int, "i32"]
i64 = Annotated[int, "i64"]
f32 = Annotated[float, "f32"]
f64 = Annotated[float, "f64"]

_SCALARS = {"i32", "i64", "f32", "f64"}


@dataclass(frozen=True, slots=True)
class HostFunction:
    """One host function: its wasm-level signature and the Python callable.

    ``kinds`` say how each parameter/result crosses: ``"bytes"`` is an Extism
    kernel block (an i64 handle in wasm), the others are wasm value types.
    """

    module: str
    name: str
    params: tuple[str, ...]
    results: tuple[str, ...]
    fn: Callable[..., Any]

    @property
    def wasm_params(self) -> list[str]:
        return ["i64" if k == "bytes" else k for k in self.params]

    @property
    def wasm_results(self) -> list[str]:
        return ["i64" if k == "bytes" else k for k in self.results]

    @property
    def uses_blocks(self) -> bool:
        return "bytes" in self.params or "bytes" in self.results


def _kind(annotation: Any, where: str) -> str:
    if annotation is bytes:
        return "bytes"
    if typing.get_origin(annotation) is Annotated:
        meta = [m for m in typing.get_args(annotation)[1:] if m in _SCALARS]
        if meta:
            return str(meta[0])
    if annotation is int:
        return "i64"
    if annotation is float:
        return "f64"
    raise TypeError(
        f"{where}: annotate with bytes, int, float or orchestra.hostplugins.i32/i64/f32/f64"
    )


@dataclass
class HostModule:
    """A named group of host functions a wasm module can import."""

    name: str
    functions: dict[str, HostFunction] = field(default_factory=dict)

    def function(self, fn: Callable[..., Any] | None = None, *, name: str | None = None) -> Any:
        """Decorator registering ``fn`` under ``name`` (default: its Python name)."""

        def register(f: Callable[..., Any]) -> Callable[..., Any]:
            fname = name or f.__name__
            where = f"{self.name}.{fname}"
            hints = typing.get_type_hints(f, include_extras=True)
            sig = inspect.signature(f)
            params = tuple(_kind(hints.get(p, None), f"{where}({p})") for p in sig.parameters)
            ret = hints.get("return", type(None))
            if ret is type(None):
                results: tuple[str, ...] = ()
            elif typing.get_origin(ret) is tuple:
                results = tuple(_kind(a, f"{where} result") for a in typing.get_args(ret))
            else:
                results = (_kind(ret, f"{where} result"),)
            self.functions[fname] = HostFunction(self.name, fname, params, results, f)
            return f

        return register(fn) if fn is not None else register


@dataclass
class PythonHostPlugin:
    """A loaded Python host plug-in."""

    name: str
    version: str
    description: str
    file: str
    modules: dict[str, HostModule]

    def module_names(self) -> list[str]:
        return sorted(self.modules)

    def create_module(self, name: str) -> HostModule:
        """:raises KeyError: this plug-in has no such module."""
        return self.modules[name]


def load_python_plugin(path: Path) -> PythonHostPlugin:
    """Import a ``.py`` file as a host plug-in.

    :raises PluginLoadError: it cannot be imported or declares no host module.
    """
    modname = f"orchestra_hostplugin_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(modname, path)
    if spec is None or spec.loader is None:
        raise PluginLoadError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[modname] = module
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        sys.modules.pop(modname, None)
        raise PluginLoadError(
            f"{path}: importing the host plug-in failed: {type(exc).__name__}: {exc}"
        ) from None
    modules = {m.name: m for m in vars(module).values() if isinstance(m, HostModule)}
    if not modules:
        raise PluginLoadError(f"{path}: declares no HostModule")
    return PythonHostPlugin(
        name=str(getattr(module, "PLUGIN_NAME", path.stem)),
        version=str(getattr(module, "PLUGIN_VERSION", "0")),
        description=str(getattr(module, "PLUGIN_DESCRIPTION", module.__doc__ or "").strip()),
        file=str(path),
        modules=modules,
    )
