"""What satisfies each import of a plug-in: WASI, the Extism kernel, a granted host
module, or a mock (a granted module whose host plug-in is not installed).

An import of a module that is not granted is refused at load, naming the line to
add to the config. Only the host plug-ins providing granted modules are loaded
into the worker (a native library is dlopened, a Python one imported); the others
are only discovered (``hostplugins/_registry.py``).

Native host functions are called through :meth:`LeanLinker.define_raw` with a
context (``orchestra_ctx_t``) refreshed per call: the caller's linear memory, and
the Extism kernel memory for extism plug-ins.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import wasmtime

from ..errors import HostFunctionError, MissingHostPlugin, PluginLoadError
from ..hostplugins import (
    HostFunction,
    HostPlugin,
    HostPluginRegistry,
    NativeFunction,
    NativeHostPlugin,
)
from ..hostplugins._native import (
    FN_KERNEL,
    FN_NO_MEMORY,
    BlockAllocFn,
    BlockLengthFn,
    failure,
    new_context,
)
from ..hostplugins._wasmedge_mocks import WASMEDGE_MOCKS, mock_function, mock_problem
from ._detect import EXTISM_ENV, WASI_MODULES
from ._fastcall import CallerMemory, LeanLinker, RawValues, host_failure

__all__ = (
    "BlockAccess",
    "ImportPlan",
    "ImportProblem",
    "Route",
    "Router",
    "define_imports",
    "plan_imports",
)


class BlockAccess(Protocol):
    """Extism kernel blocks, for host functions that take or return bytes."""

    def read_block(self, handle: int) -> bytes: ...

    def write_block(self, data: bytes) -> int: ...


Router = Callable[
    [str, str, bytes, "list[int | float] | None", float], "tuple[bytes, list[int | float] | None]"
]
"""Sends a routed call to the supervisor and waits: (plugin, export, data, args,
timeout) -> (data, values). Raises HostFunctionError."""


@dataclass(frozen=True)
class Route:
    """An import served by another plug-in's export (``imports:`` in the config)."""

    plugin: str
    export: str
    params: list[str]
    results: list[str]
    blocks: bool  # Extism style: one block in, one block out


class _KernelBlocks(Protocol):
    """The Extism kernel of the current store (``_abi_extism._Kernel``)."""

    def alloc(self, n: int) -> int: ...

    def length(self, handle: int) -> int: ...

    def base(self) -> int: ...

    def size(self) -> int: ...


Wrapper = tuple[list[str], list[str], Callable[..., Any]]


@dataclass
class ImportPlan:
    host: dict[tuple[str, str], HostFunction] = field(default_factory=dict)
    routes: dict[tuple[str, str], Route] = field(default_factory=dict)
    mocked: dict[tuple[str, str], wasmtime.FuncType] = field(default_factory=dict)
    searched: list[str] = field(default_factory=list)
    wrappers: dict[tuple[str, str], Wrapper] = field(default_factory=dict)
    abi: str = ""
    mock_plugins: dict[str, str] = field(default_factory=dict)
    """Module -> the host plug-in known to provide it, for mocked modules."""
    raw_wrappers: dict[tuple[str, str], Wrapper] = field(default_factory=dict)
    registry: HostPluginRegistry | None = None
    """Where the host modules came from; :meth:`close` releases what it loaded."""
    native_kernel: bool = False
    """A native host function reads Extism kernel blocks by pointer (FN_KERNEL)."""
    log_sink: Callable[[str, str], None] | None = None
    """(level, message) to the supervisor's log: WasmEdge's mocks log through it."""

    def close(self) -> None:
        """The instance is done: native host plug-ins nobody else in this process uses
        run their fini. No planned host function may be called after this."""
        registry, self.registry = self.registry, None
        if registry is not None:
            registry.close()


def _sig(types: list[wasmtime.ValType]) -> str:
    return ", ".join(str(t) for t in types)


@dataclass(frozen=True)
class ImportProblem:
    """An import that would stop the plug-in from loading (:func:`plan_imports` with
    ``problems``): ``route`` says whether ``imports:`` is the field to fix, else the
    grants (``host_modules:``) or the host plug-ins."""

    module: str
    name: str
    message: str
    route: bool = False


def plan_imports(
    module: wasmtime.Module,
    *,
    plugin: str,
    abi: str,
    granted: list[str],
    search_paths: list[str],
    own_modules: Collection[str] = (),
    routes: dict[str, str] | None = None,
    options: Mapping[str, Mapping[str, str]] | None = None,
    problems: list[ImportProblem] | None = None,
    load: bool = True,
) -> ImportPlan:
    """Decide every non-WASI, non-kernel import, loading the host plug-ins that
    provide granted modules (and only those) into this process.

    A check before a run (``orchestra validate``) passes ``problems``, to collect every
    problem rather than raise the first, and ``load=False``: host plug-ins are then
    only discovered, nothing runs in this process, and host functions are checked
    against the signatures that native plug-ins declare (a Python one's signatures
    need it imported: that check is left to the worker).

    ``own_modules``: the names of the plug-in's own manifest modules, which serve
    its imports of those modules (linked at instantiation, as Extism links them):
    no host plug-in is looked up for them, even one providing a module of the
    same name (``extism:host/user``), and none is needed.

    :raises PluginLoadError: an import that nothing may satisfy, a type mismatch,
        or a host plug-in providing a granted module that fails to load (without
        ``problems``).
    """
    plan = ImportPlan(searched=list(search_paths), abi=abi)

    def fail(imp: wasmtime.ImportType, message: str, *, route: bool = False) -> None:
        if problems is None:
            raise PluginLoadError(message, plugin=plugin)
        problems.append(ImportProblem(imp.module, imp.name or "", message, route))

    others = [
        imp
        for imp in module.imports
        if imp.module not in WASI_MODULES
        and imp.module not in own_modules
        and not (imp.module == EXTISM_ENV and abi == "extism")
    ]
    if not others:
        return plan
    routes = routes or {}
    unrouted = []
    for imp in others:
        target = routes.get(f"{imp.module}.{imp.name}")
        if target is None:
            unrouted.append(imp)
            continue
        if not isinstance(imp.type, wasmtime.FuncType):
            fail(imp, f"route {imp.module}.{imp.name}: only functions can be routed", route=True)
            continue
        params = [str(t) for t in imp.type.params]
        results = [str(t) for t in imp.type.results]
        target_plugin, _, target_export = target.rpartition(".")
        blocks = abi == "extism" and params == ["i64"] and results in ([], ["i64"])
        plan.routes[(imp.module, imp.name)] = Route(
            target_plugin, target_export, params, results, blocks
        )
    others = unrouted
    if not others:
        return plan
    registry = plan.registry = HostPluginRegistry(options=options)
    if granted or any(imp.module in WASMEDGE_MOCKS for imp in others):
        for path in search_paths:
            registry.load_from_path(path, strict=False)
    grant_all = "*" in granted
    for imp in others:
        key = (imp.module, imp.name or "")
        name = f"{imp.module}.{imp.name}"
        if not isinstance(imp.type, wasmtime.FuncType):
            fail(imp, f"import {name!r} is not a function; only function imports can be provided")
            continue
        provider = registry.provider(imp.module)
        if provider is None and _wasmedge_mocked(registry, imp.module):
            sig = ([str(t) for t in imp.type.params], [str(t) for t in imp.type.results])
            problem = mock_problem(imp.module, key[1], *sig)
            if problem is not None:
                fail(imp, problem)
            else:  # as WasmEdge does, with or without a grant
                plan.mocked[key] = imp.type
            continue
        if imp.module not in granted and not (grant_all and provider is not None):
            fail(
                imp,
                f"import {name!r} is not provided; grant a host module "
                f"(host_modules: [{imp.module}]) or route it "
                f'(imports: {{"{name}": other_plugin.export}})',
            )
            continue
        if provider is None:
            failures = registry.failures_for(imp.module)
            if failures:
                fail(
                    imp,
                    f"import {name!r}: no usable host plug-in provides module {imp.module!r}; "
                    f"failed to load: {'; '.join(f.message for f in failures)}",
                )
                continue
            plan.mocked[key] = imp.type
            known = registry.known_modules.get(imp.module)
            if known is not None:
                plan.mock_plugins[imp.module] = known
            continue
        declared = _declared(provider, imp.module, load)
        if declared is None:
            continue  # a Python plug-in, not imported here: the worker checks it
        if isinstance(declared, str):
            fail(
                imp,
                f"import {name!r}: host plug-in {provider.name!r} failed to load: {declared}",
            )
            continue
        signatures, fn_of = declared
        signature = signatures.get(key[1])
        if signature is None:
            fail(
                imp,
                f"import {name!r}: host module {imp.module!r} has no function {imp.name!r} "
                f"(it has: {', '.join(sorted(signatures)) or 'none'})",
            )
            continue
        kinds, flags = signature
        wasm = (
            ["i64" if k == "bytes" else k for k in kinds[0]],
            ["i64" if k == "bytes" else k for k in kinds[1]],
        )
        want = ([str(t) for t in imp.type.params], [str(t) for t in imp.type.results])
        if want != wasm:
            fail(
                imp,
                f"import {name!r} has type ({_sig(imp.type.params)}) -> ({_sig(imp.type.results)}) "
                f"but the host function declares ({', '.join(wasm[0])}) -> "
                f"({', '.join(wasm[1])})",
            )
            continue
        kernel = bool(flags & FN_KERNEL)
        uses_blocks = "bytes" in kinds[0] or "bytes" in kinds[1]
        if (uses_blocks or kernel) and abi != "extism":
            fail(
                imp,
                f"import {name!r} exchanges bytes (Extism blocks), which needs the extism ABI; "
                f"this plug-in uses {abi!r}",
            )
            continue
        if fn_of is not None:
            plan.host[key] = fn_of[key[1]]
        plan.native_kernel |= kernel
    return plan


def _wasmedge_mocked(registry: HostPluginRegistry, module: str) -> bool:
    """A module WasmEdge mocks, and no plug-in that failed to load declares it."""
    return module in WASMEDGE_MOCKS and not any(module in f.modules for f in registry.errors)


_Signatures = dict[str, tuple[tuple[tuple[str, ...], tuple[str, ...]], int]]
"""Function name -> ((param kinds, result kinds), native flags)."""


def _declared(
    provider: HostPlugin, module: str, load: bool
) -> tuple[_Signatures, dict[str, HostFunction] | None] | str | None:
    """The functions of host module ``module``: loaded (``load``), or as declared by a
    native plug-in's probed descriptor. None: not known without loading; a string: the
    plug-in failed to load."""
    if load:
        try:
            host_module = provider.create_module(module)
        except PluginLoadError as exc:
            return exc.message
        fns = host_module.functions
        return (
            {
                n: ((f.params, f.results), f.flags if isinstance(f, NativeFunction) else 0)
                for n, f in fns.items()
            },
            dict(fns),
        )
    if isinstance(provider, NativeHostPlugin):
        descs = provider.descriptor.modules[module]
        return {n: ((f.params, f.results), f.flags) for n, f in descs.items()}, None
    return None


def _wrap(fn: HostFunction, blocks: Callable[[], BlockAccess | None]) -> Callable[..., Any]:
    where = f"{fn.module}.{fn.name}"
    params, results, call = fn.params, fn.results, fn.fn

    def host(*args: Any) -> Any:
        access = blocks()
        try:
            if access is not None:
                args = tuple(
                    access.read_block(a) if k == "bytes" else a
                    for k, a in zip(params, args, strict=True)
                )
            out = call(*args)
        except HostFunctionError:
            raise
        except Exception as exc:
            raise HostFunctionError(
                f"host function {where} raised {type(exc).__name__}: {exc}"
            ) from None
        if not results:
            return None
        values = out if len(results) > 1 else (out,)
        if access is not None:
            values = tuple(
                access.write_block(bytes(v)) if k == "bytes" else v
                for k, v in zip(results, values, strict=True)
            )
        return values[0] if len(results) == 1 else list(values)

    return host


def _native(
    fn: NativeFunction, blocks: Callable[[], BlockAccess | None], extism: bool
) -> Callable[[Any, int, RawValues, int], int]:
    """The whole C callback (``LeanLinker.define_raw(..., catches=True)``) calling C
    function ``fn`` with a context refreshed per call; generated per signature, so
    there is no per-call type dispatch and no Python call besides the C one."""
    ctx = new_context(fn.library, fn.data)
    argv = (ctypes.c_uint64 * max(1, len(fn.params)))()
    resv = (ctypes.c_uint64 * max(1, len(fn.results)))()

    def kernel() -> _KernelBlocks | None:
        access = blocks()
        return getattr(access, "blocks", None) if access is not None else None

    def block_alloc(_ctx: Any, n: int) -> int:
        # Runs inside the C call (ctypes callback): never raise out of it.
        try:
            k = kernel()
            if k is None or n <= 0:
                return 0
            handle = int(k.alloc(n))
            ctx.kernel, ctx.kernel_size = k.base(), k.size()
            return handle
        except Exception:
            return 0

    def block_length(_ctx: Any, handle: int) -> int:
        try:
            k = kernel()
            return int(k.length(handle)) if k is not None and handle else 0
        except Exception:
            return 0

    # Each piece of the context costs ctypes calls per host call (~0.2 us each), so
    # a function gets only what its flags ask for.
    uses_kernel = extism and bool(fn.flags & FN_KERNEL)
    if uses_kernel:
        ctx.block_alloc = BlockAllocFn(block_alloc)
        ctx.block_length = BlockLengthFn(block_length)
    memory = CallerMemory()
    lines = ["def host(env, caller, v, n):", "    try:"]
    if not fn.flags & FN_NO_MEMORY:
        lines += memory.source("ctx.memory", "ctx.memory_size", "        ")
    if uses_kernel:
        lines += [
            "        k = kernel()",
            "        if k is not None:",
            "            ctx.kernel, ctx.kernel_size = k.base(), k.size()",
        ]
    for i, t in enumerate(fn.params):
        mask = " & 0xFFFFFFFF" if t in ("i32", "f32") else ""
        lines.append(f"        a[{i}] = v[{2 * i}]{mask}")
    lines += ["        rc = cfn(ctx_addr, a_addr, r_addr)", "        if rc:"]
    lines += ["            raise fail(rc)"]
    lines += [f"        v[{2 * i}] = r[{i}]" for i in range(len(fn.results))]
    lines += ["        return 0", "    except BaseException as exc:", "        return failed(exc)"]
    env: dict[str, Any] = {
        **memory.env,
        "ctx": ctx,
        "ctx_addr": ctypes.addressof(ctx),
        "kernel": kernel,
        "a": argv,
        "a_addr": ctypes.addressof(argv),
        "r": resv,
        "r_addr": ctypes.addressof(resv),
        "cfn": fn.c_function(),
        "fail": lambda rc: failure(fn.module, fn.name, ctx, rc),
        "failed": host_failure,
        "_keep": (fn, memory, block_alloc, block_length),
    }
    exec("\n".join(lines), env)  # code built from indices and field names only
    host: Callable[[Any, int, RawValues, int], int] = env["host"]
    host.__qualname__ = f"native[{fn.module}.{fn.name}]"
    return host


def _mock(
    module: str, name: str, searched: list[str], plugin: str | None = None
) -> Callable[..., Any]:
    where = ", ".join(searched) or "nothing"
    if plugin is not None:
        message = (
            f"host function {module}.{name} is mocked: host plug-in {plugin!r} (providing "
            f"module {module!r}) is not installed (searched: {where})"
        )
    else:
        message = (
            f"host function {module}.{name} is mocked: no installed host plug-in provides "
            f"module {module!r} (searched: {where})"
        )

    def mocked(*_: Any) -> Any:
        raise MissingHostPlugin(message)

    return mocked


def _route(
    route: Route, blocks: Callable[[], BlockAccess | None], router: Router | None, timeout: float
) -> Callable[..., Any]:
    where = f"{route.plugin}.{route.export}"

    def routed(*args: Any) -> Any:
        if router is None:
            raise HostFunctionError(f"route to {where}: this runtime has no router")
        if route.blocks:
            access = blocks()
            assert access is not None
            data, _ = router(route.plugin, route.export, access.read_block(args[0]), None, timeout)
            return access.write_block(data) if route.results else None
        _, values = router(route.plugin, route.export, b"", list(args), timeout)
        values = values or []
        if len(values) != len(route.results):
            raise HostFunctionError(
                f"route to {where} returned {len(values)} value(s), the import expects "
                f"{len(route.results)}"
            )
        return None if not values else values[0] if len(values) == 1 else values

    return routed


def define_imports(
    linker: LeanLinker,
    plan: ImportPlan,
    blocks: Callable[[], BlockAccess | None],
    router: Router | None = None,
    timeout: float = 30.0,
) -> None:
    """Define the planned host functions and mocks on ``linker`` (lean callbacks).

    The Python wrappers are made once per plan and reused by every store's linker.
    """
    wrappers, raw = plan.wrappers, plan.raw_wrappers
    if not wrappers and not raw:
        for key, fn in plan.host.items():
            if isinstance(fn, NativeFunction):
                raw[key] = (
                    fn.wasm_params,
                    fn.wasm_results,
                    _native(fn, blocks, plan.abi == "extism"),
                )
            else:
                wrappers[key] = (fn.wasm_params, fn.wasm_results, _wrap(fn, blocks))
        for (module, name), ty in plan.mocked.items():
            wrappers[(module, name)] = (
                [str(t) for t in ty.params],
                [str(t) for t in ty.results],
                mock_function(module, name, plan.searched, plan.log_sink)
                if module in WASMEDGE_MOCKS
                else _mock(module, name, plan.searched, plan.mock_plugins.get(module)),
            )
        for key, route in plan.routes.items():
            wrappers[key] = (route.params, route.results, _route(route, blocks, router, timeout))
    for (module, name), (params, results, callback) in wrappers.items():
        linker.define(module, name, params, results, callback)
    for (module, name), (params, results, callback) in raw.items():
        linker.define_raw(module, name, params, results, callback, catches=True)
