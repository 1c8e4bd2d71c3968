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
``PLUGIN_DESCRIPTION``, and define ``init(options: dict[str, str])``, called once
with ``host_plugins.options[PLUGIN_NAME]`` when a worker loads it.

Discovery reads a file without running it (:func:`scan_python_plugin`: the
``HostModule("...")`` literals and ``PLUGIN_*`` strings), so a worker imports only
the plug-ins providing modules it is granted.
"""

from __future__ import annotations

import ast
import importlib.util
import inspect
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

from ..errors import PluginLoadError

__all__ = (
    "HostFunction",
    "HostModule",
    "PythonHostPlugin",
    "PythonPluginInfo",
    "f32",
    "f64",
    "i32",
    "i64",
    "load_python_plugin",
    "scan_python_plugin",
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


@dataclass(frozen=True)
class PythonPluginInfo:
    """What a Python host plug-in file declares, read without running it."""

    file: str
    name: str
    version: str
    description: str
    modules: tuple[str, ...]


def scan_python_plugin(path: Path) -> PythonPluginInfo | None:
    """Read ``PLUGIN_*`` strings and ``HostModule("name")`` literals from ``path``
    without importing it. None when it names no module literally (the caller must
    import it to know) or does not parse (importing it will say why)."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return None
    consts: dict[str, str] = {}
    modules: list[str] = []
    for node in tree.body:
        if (
            isinstance(node, ast.Assign)
            and len(node.targets) == 1
            and isinstance(node.targets[0], ast.Name)
            and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str)
        ):
            consts[node.targets[0].id] = node.value.value
    for call in ast.walk(tree):
        if not isinstance(call, ast.Call) or not call.args:
            continue
        func = call.func
        called = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        arg = call.args[0]
        if called == "HostModule" and isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            if arg.value not in modules:
                modules.append(arg.value)
    if not modules:
        return None
    doc = ast.get_docstring(tree) or ""
    return PythonPluginInfo(
        file=str(path),
        name=consts.get("PLUGIN_NAME", path.stem),
        version=consts.get("PLUGIN_VERSION", "0"),
        description=consts.get("PLUGIN_DESCRIPTION", doc).strip(),
        modules=tuple(modules),
    )


def load_python_plugin(path: Path, options: Mapping[str, str] | None = None) -> PythonHostPlugin:
    """Import a ``.py`` file as a host plug-in; call its ``init(options)`` if any.

    :raises PluginLoadError: it cannot be imported, declares no host module, or its
        init raises.
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
    init = getattr(module, "init", None)
    if callable(init):
        try:
            init(dict(options or {}))
        except Exception as exc:
            raise PluginLoadError(f"{path}: init failed: {type(exc).__name__}: {exc}") from None
    return PythonHostPlugin(
        name=str(getattr(module, "PLUGIN_NAME", path.stem)),
        version=str(getattr(module, "PLUGIN_VERSION", "0")),
        description=str(getattr(module, "PLUGIN_DESCRIPTION", module.__doc__ or "").strip()),
        file=str(path),
        modules=modules,
    )
