"""The lean call path: libwasmtime's unchecked entry points, both directions.

wasmtime-py's public ``Func.__call__`` re-derives the function type and boxes every
value on each call (~25 us here); calling ``wasmtime_func_call_unchecked`` with a raw
value array built once per export costs ~1 us. Host functions likewise: wasmtime-py's
trampoline converts every value through ``Val`` (~8 us per call), while a callback
registered with ``wasmtime_linker_define_func_unchecked`` reads the raw array
(< 1 us), as measured on the development machine.

This reaches into wasmtime-py's private ctypes bindings, so the wasmtime version is
pinned in pyproject.toml and ``tests/unit/test_runtime.py`` fails loudly if an
upgrade moves them.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import Any

import wasmtime
from wasmtime import _bindings as _ffi  # private: pinned version, see module docstring
from wasmtime import _func as _wfunc

__all__ = (
    "CallerMemory",
    "FastFunc",
    "LeanLinker",
    "RawValues",
    "StartCaller",
    "WasmFailure",
    "deadline_setter",
    "host_failure",
    "pending_host_error",
)

_RAW = _ffi.wasmtime_val_raw_t
_TRAP_PTR = ctypes.POINTER(_ffi.wasm_trap_t)
_ERROR_PTR = ctypes.POINTER(_ffi.wasmtime_error_t)
_VOIDP_PTR = ctypes.POINTER(ctypes.c_void_p)
_DLL: Any = vars(_ffi)["dll"]
# wasmtime_func_call_unchecked(context, func, args_and_results, len, trap_out) with
# every pointer passed as a plain address: wasmtime-py's prototype converts four
# pointer objects per call (a trivial export: 14.4k -> 8.9k instructions, callgrind;
# an Extism call enters wasm four times). CFUNCTYPE: the GIL is released while wasm
# runs (the epoch ticker needs it to time the call out).
_call_unchecked = ctypes.CFUNCTYPE(
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_void_p,
)(("wasmtime_func_call_unchecked", _DLL))

_KIND_FIELD = {"i32": "i32", "i64": "i64", "f32": "f32", "f64": "f64"}


class WasmFailure(Exception):
    """A call ended in a trap or a wasmtime error (wrapping the wasmtime object), or a
    host function raised (wrapping that exception)."""

    def __init__(self, error: BaseException) -> None:
        self.error = error
        super().__init__(str(error))


class _HostErrors:
    """The exception a lean host function raised, kept until the wasm call that ran it
    returns. A worker runs one call at a time (one instance per process), so one slot
    is enough; it is cleared whenever it is read."""

    error: BaseException | None = None


_host_errors = _HostErrors()


def pending_host_error() -> BaseException | None:
    """Take the exception a host function raised during the last call, if any."""
    error, _host_errors.error = _host_errors.error, None
    if error is None and _wfunc.LAST_EXCEPTION is not None:
        # A host function defined through wasmtime-py's own (slow) path.
        error, _wfunc.LAST_EXCEPTION = _wfunc.LAST_EXCEPTION, None
    return error


def _field(ty: wasmtime.ValType | str) -> str:
    name = str(ty)
    try:
        return _KIND_FIELD[name]
    except KeyError:
        raise TypeError(f"value type {name} is not supported on the call path") from None


class FastFunc:
    """One export of one store, callable with plain Python numbers.

    Not thread-safe (one raw array per export), which is fine: an instance serves one
    call at a time. :meth:`bind` returns a closure specialised to the signature, the
    fastest way to call it repeatedly.
    """

    __slots__ = (
        "_ctx",
        "_fn",
        "_func",
        "_n",
        "_params",
        "_raw",
        "_raw_at",
        "_results",
        "_store",
        "_trap",
        "_trap_ref",
        "name",
        "param_types",
        "result_types",
    )

    def __init__(self, store: wasmtime.Store, func: wasmtime.Func, name: str = "") -> None:
        ty = func.type(store)
        self.name = name
        self.param_types = [str(t) for t in ty.params]
        self.result_types = [str(t) for t in ty.results]
        self._params = [_field(t) for t in ty.params]
        self._results = [_field(t) for t in ty.results]
        self._n = max(len(self._params), len(self._results), 1)
        self._raw = (_RAW * self._n)()
        self._func = func  # keeps the wasmtime_func_t alive
        self._store = store  # the raw context pointer below dies with the store
        self._fn = ctypes.addressof(func._func)
        self._ctx = ctypes.cast(store._context(), ctypes.c_void_p).value
        # One trap out-pointer for the life of this object: nulled in place after a
        # trap, so bound closures can keep testing the same object.
        self._trap = _TRAP_PTR()
        self._trap_ref = ctypes.addressof(self._trap)
        self._raw_at = ctypes.addressof(self._raw)

    def _fail(self, err: Any) -> WasmFailure:
        return _failure(err, self._trap)

    def call(self, args: Sequence[int | float] = ()) -> list[int | float]:
        """Call with numbers; returns the results as a list.

        :raises TypeError: wrong number of arguments.
        :raises WasmFailure: the wasm trapped or wasmtime reported an error.
        """
        params = self._params
        if len(args) != len(params):
            raise TypeError(
                f"{self.name or 'export'} takes {len(params)} argument(s) "
                f"({', '.join(self.param_types) or 'none'}), got {len(args)}"
            )
        raw = self._raw
        for i, field in enumerate(params):
            setattr(raw[i], field, args[i])
        err = _call_unchecked(self._ctx, self._fn, self._raw_at, self._n, self._trap_ref)
        if err or self._trap:
            raise self._fail(err)
        return [getattr(raw[i], f) for i, f in enumerate(self._results)]

    def bind(self) -> Callable[..., Any]:
        """A closure ``f(*args) -> None | value | tuple`` specialised to this signature
        (generated once; no per-call type dispatch)."""
        names = [f"a{i}" for i in range(len(self._params))]
        lines = [f"def bound({', '.join(names)}):"]
        lines += [f"    s{i}.{f} = a{i}" for i, f in enumerate(self._params)]
        lines.append("    err = call(ctx, fn, raw, n, trap_ref)")
        lines.append("    if err or trap:")
        lines.append("        raise fail(err)")
        if not self._results:
            lines.append("    return None")
        elif len(self._results) == 1:
            lines.append(f"    return s0.{self._results[0]}")
        else:
            values = ", ".join(f"s{i}.{f}" for i, f in enumerate(self._results))
            lines.append(f"    return ({values},)")
        env: dict[str, Any] = {
            "call": _call_unchecked,
            "ctx": self._ctx,
            "fn": self._fn,
            "raw": self._raw_at,
            "n": self._n,
            "trap_ref": self._trap_ref,
            "trap": self._trap,
            "fail": self._fail,
            "_keep": self,
        }
        env.update({f"s{i}": self._raw[i] for i in range(self._n)})
        exec("\n".join(lines), env)  # code built from field names only
        bound: Callable[..., Any] = env["bound"]
        bound.__qualname__ = f"FastFunc.bound[{self.name}]"
        return bound

    def bind_no_args_i32(self) -> Callable[[], int]:
        """A closure for the hottest shape, ``() -> i32`` (Extism exports)."""
        return self.bind()


_UncheckedCallback = _ffi.wasmtime_func_unchecked_callback_t
_NO_FINALIZER = ctypes.cast(0, ctypes.CFUNCTYPE(None, ctypes.c_void_p))
_TRAP_MESSAGE = b"host function failed"


_instance_export_get = ctypes.PYFUNCTYPE(
    ctypes.c_bool,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.c_size_t,
    ctypes.c_void_p,
)(("wasmtime_instance_export_get", _DLL))
_EXTERN_FUNC = 0  # WASMTIME_EXTERN_FUNC


class StartCaller:
    """Calls a ``() -> ()`` export of a fresh instance each time, for wasi-commands:
    looked up by name and entered through the unchecked call, where wasmtime-py's
    ``Instance.exports`` wraps every export and a :class:`FastFunc` reads the type.

    Only for an export whose type was checked to be ``() -> ()`` (:meth:`fits`):
    the unchecked call trusts it.
    """

    __slots__ = ("_ext", "_ext_at", "_func_at", "_name", "_raw", "_raw_at", "_trap", "_trap_ref")

    def __init__(self, name: str) -> None:
        self._name = ctypes.create_string_buffer(name.encode())
        self._ext = _ffi.wasmtime_extern_t()
        self._ext_at = ctypes.addressof(self._ext)
        self._func_at = self._ext_at + _ffi.wasmtime_extern_t.of.offset
        self._raw = (_RAW * 1)()
        self._raw_at = ctypes.addressof(self._raw)
        self._trap = _TRAP_PTR()
        self._trap_ref = ctypes.addressof(self._trap)

    @staticmethod
    def fits(module: wasmtime.Module, name: str) -> bool:
        """Whether ``module`` exports ``name`` as a function of type ``() -> ()``."""
        for export in module.exports:
            if export.name == name:
                ty = export.type
                return isinstance(ty, wasmtime.FuncType) and not ty.params and not ty.results
        return False

    def __call__(self, store: wasmtime.Store, instance: wasmtime.Instance) -> None:
        """:raises WasmFailure: the wasm trapped or wasmtime reported an error."""
        ctx = ctypes.cast(store._context(), ctypes.c_void_p).value
        name = self._name
        found = _instance_export_get(
            ctx, ctypes.addressof(instance._instance), name, len(name.value), self._ext_at
        )
        if not found or self._ext.kind != _EXTERN_FUNC:
            raise WasmFailure(wasmtime.WasmtimeError(f"no function export {name.value!r}"))
        err = _call_unchecked(ctx, self._func_at, self._raw_at, 1, self._trap_ref)
        if err or self._trap:
            raise _failure(err, self._trap)


def _failure(err: Any, trap: Any) -> WasmFailure:
    """The :class:`WasmFailure` of an unchecked call's error or trap (nulling the
    trap out-pointer in place for the next call)."""
    if err:
        exc: BaseException = wasmtime.WasmtimeError._from_ptr(ctypes.cast(err, _ERROR_PTR))
    else:
        exc = wasmtime.Trap._from_ptr(ctypes.cast(trap, _TRAP_PTR))
        ctypes.cast(ctypes.byref(trap), _VOIDP_PTR).contents.value = None
    # A host function that raised is the real cause: surface it, not the trap.
    pending = pending_host_error()
    return WasmFailure(pending if pending is not None else exc)


def _make_trampoline(fn: Callable[..., Any], params: list[str], results: list[str]) -> Any:
    """A C callback calling ``fn`` with raw values, specialised to the signature."""
    names = [f"a{i}" for i in range(len(params))]
    lines = ["def tramp(env, caller, raw, n):", "    try:"]
    lines += [f"        a{i} = raw[{i}].{f}" for i, f in enumerate(params)]
    if not results:
        lines.append(f"        fn({', '.join(names)})")
    elif len(results) == 1:
        lines.append(f"        raw[0].{results[0]} = fn({', '.join(names)})")
    else:
        lines.append(f"        out = fn({', '.join(names)})")
        lines += [f"        raw[{i}].{f} = out[{i}]" for i, f in enumerate(results)]
    lines += [
        "        return 0",
        "    except BaseException as exc:",
        "        stash.error = exc",
        "        return cast(trap_new(MSG, len(MSG)), c_void_p).value",
    ]
    env: dict[str, Any] = {
        "fn": fn,
        "stash": _host_errors,
        "trap_new": _ffi.wasmtime_trap_new,
        "MSG": _TRAP_MESSAGE,
        "cast": ctypes.cast,
        "c_void_p": ctypes.c_void_p,
    }
    exec("\n".join(lines), env)  # code built from field names only
    return _UncheckedCallback(env["tramp"])


class LeanLinker:
    """Defines host functions on a ``wasmtime.Linker`` through the unchecked C API.

    Keeps the C callbacks alive for as long as this object lives (the linker and the
    stores instantiated from it must not outlive it).
    """

    def __init__(self, linker: wasmtime.Linker, cache: dict[Any, Any] | None = None) -> None:
        self.linker = linker
        # (module, name, fn) -> C callback; share one cache between the linkers of
        # successive stores so a reset does not regenerate trampolines.
        self._callbacks: dict[Any, Any] = cache if cache is not None else {}

    def define(
        self,
        module: str,
        name: str,
        params: list[str],
        results: list[str],
        fn: Callable[..., Any],
    ) -> None:
        """Define ``module.name`` with wasm types ``params -> results``.

        :raises wasmtime.WasmtimeError: the name is already defined.
        """
        key = (module, name, fn)
        cb = self._callbacks.get(key)
        if cb is None:
            cb = _make_trampoline(fn, [_field(p) for p in params], [_field(r) for r in results])
            self._callbacks[key] = cb
        self._register(module, name, params, results, cb)

    def _register(
        self, module: str, name: str, params: list[str], results: list[str], cb: Any
    ) -> None:
        """Put C callback ``cb`` on the linker as ``module.name``.

        :raises wasmtime.WasmtimeError: the name is already defined.
        """
        ty = wasmtime.FuncType(
            [getattr(wasmtime.ValType, p)() for p in params],
            [getattr(wasmtime.ValType, r)() for r in results],
        )
        mod, nm = module.encode(), name.encode()
        err = _ffi.wasmtime_linker_define_func_unchecked(
            self.linker.ptr(),
            ctypes.create_string_buffer(mod),
            len(mod),
            ctypes.create_string_buffer(nm),
            len(nm),
            ty.ptr(),
            cb,
            None,
            _NO_FINALIZER,
        )
        if err:
            raise wasmtime.WasmtimeError._from_ptr(err)

    def define_raw(
        self,
        module: str,
        name: str,
        params: list[str],
        results: list[str],
        fn: Callable[..., Any],
        *,
        catches: bool = False,
    ) -> None:
        """Define ``module.name`` with wasm types ``params -> results``, served by
        ``fn(caller, values)``: ``caller`` is the raw ``wasmtime_caller_t*`` (an int, for
        :class:`CallerMemory`), ``values`` the raw array (see :data:`RawValues`); ``fn``
        converts and writes the results itself. An exception it raises ends the wasm
        call and comes back out of it as itself (as for :meth:`LeanLinker.define`).

        With ``catches``, ``fn`` is the whole C callback, ``fn(env, caller, values, n)
        -> int``, saving a Python call per host call: it returns 0, or
        :func:`host_failure` of the exception it caught (it must never raise).

        :raises wasmtime.WasmtimeError: the name is already defined.
        """
        key = ("raw", module, name, fn)
        cb = self._callbacks.get(key)
        if cb is None:
            raw_cb = _RawCallback(fn) if catches else _make_raw_trampoline(fn)
            cb = (raw_cb, ctypes.cast(raw_cb, _UncheckedCallback))
            self._callbacks[key] = cb
        for t in (*params, *results):
            _field(t)
        self._register(module, name, params, results, cb[1])


# -- raw host functions (native host plug-ins) ------------------------------------------

RawValues = Any
"""``ctypes.POINTER(c_uint64)`` over wasmtime's raw value array: value ``i`` is the
u64 at index ``2 * i`` (each ``wasmtime_val_raw_t`` is 16 bytes, little-endian, an
i32/f32 in the low 32 bits; results overwrite the params from index 0)."""

_RawCallback = ctypes.CFUNCTYPE(
    ctypes.c_size_t,
    ctypes.c_void_p,
    ctypes.c_void_p,
    ctypes.POINTER(ctypes.c_uint64),
    ctypes.c_size_t,
)

# Plain-pointer views of the caller API (PYFUNCTYPE: no GIL release, no pointer
# objects built per call; these return quickly and never call back into Python).
_caller_context = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p)(
    ("wasmtime_caller_context", _DLL)
)
_caller_export_get = ctypes.PYFUNCTYPE(
    ctypes.c_bool, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p
)(("wasmtime_caller_export_get", _DLL))
_memory_data = ctypes.PYFUNCTYPE(ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p)(
    ("wasmtime_memory_data", _DLL)
)
_memory_data_size = ctypes.PYFUNCTYPE(ctypes.c_size_t, ctypes.c_void_p, ctypes.c_void_p)(
    ("wasmtime_memory_data_size", _DLL)
)
_EXTERN_MEMORY = 3  # WASMTIME_EXTERN_MEMORY
_set_epoch_deadline = ctypes.PYFUNCTYPE(None, ctypes.c_void_p, ctypes.c_uint64)(
    ("wasmtime_context_set_epoch_deadline", _DLL)
)


def deadline_setter(store: wasmtime.Store) -> Callable[[int], None]:
    """``store.set_epoch_deadline``, bound to one store's context: set before every
    call, where wasmtime-py's method makes two ctypes calls and a pointer object
    (~1 µs). Valid only while ``store`` lives."""
    ctx = ctypes.cast(store._context(), ctypes.c_void_p).value
    if not ctx:
        raise ValueError("store has no context")

    def set_deadline(ticks: int) -> None:
        _set_epoch_deadline(ctx, ticks)

    return set_deadline


class CallerMemory:
    """Reads the calling instance's exported ``memory`` from a raw ``caller`` pointer.

    One per host function (not thread-safe: one call at a time per instance).
    :meth:`get` returns ``(base address, size in bytes)``, ``(None, 0)`` when the
    caller exports no memory; both are valid only during the host call. Code
    generators can inline the same steps with :meth:`source` and :attr:`env`.

    The extern is looked up on every call (4 C calls, ~0.8 us): caching it per
    store is unsafe, as a new store may reuse a freed one's address and wasmtime
    aborts the process when an extern meets the wrong store.
    """

    __slots__ = ("_ext", "_name", "env", "get")

    def __init__(self, name: bytes = b"memory") -> None:
        self._ext = _ffi.wasmtime_extern_t()
        self._name = ctypes.create_string_buffer(name)
        self.env: dict[str, Any] = {
            "_cm_export_get": _caller_export_get,
            "_cm_context": _caller_context,
            "_cm_data": _memory_data,
            "_cm_size": _memory_data_size,
            "_cm_name": ctypes.addressof(self._name),
            "_cm_name_len": len(name),
            "_cm_ext": ctypes.addressof(self._ext),
            "_cm_memref": ctypes.addressof(self._ext) + _ffi.wasmtime_extern_t.of.offset,
            "_cm_kind": self._ext,  # also keeps the struct (written to by address) alive
            "_cm_name_buf": self._name,
        }
        env: dict[str, Any] = dict(self.env)
        exec(  # code built from constant text only
            "def get(caller):\n"
            + "\n".join(self.source("base", "size", "    "))
            + "\n    return base, size",
            env,
        )
        self.get: Callable[[int], tuple[int | None, int]] = env["get"]

    @staticmethod
    def source(base: str, size: str, indent: str) -> list[str]:
        """Lines assigning the memory's base and size to the targets ``base`` and
        ``size`` (``caller`` in scope, :attr:`env` in the globals)."""
        return [
            f"{indent}if _cm_export_get(caller, _cm_name, _cm_name_len, _cm_ext) "
            "and _cm_kind.kind == 3:",
            f"{indent}    _cm_cx = _cm_context(caller)",
            f"{indent}    {base} = _cm_data(_cm_cx, _cm_memref)",
            f"{indent}    {size} = _cm_size(_cm_cx, _cm_memref)",
            f"{indent}else:",
            f"{indent}    {base} = None",
            f"{indent}    {size} = 0",
        ]


def host_failure(exc: BaseException) -> int:
    """For a ``catches`` raw callback: keep ``exc`` for the caller of the wasm call
    and return the trap that ends it."""
    _host_errors.error = exc
    return int(
        ctypes.cast(
            _ffi.wasmtime_trap_new(_TRAP_MESSAGE, len(_TRAP_MESSAGE)), ctypes.c_void_p
        ).value
        or 0
    )


def _make_raw_trampoline(fn: Callable[[int, RawValues], None]) -> Any:
    stash, trap_new, msg = _host_errors, _ffi.wasmtime_trap_new, _TRAP_MESSAGE
    cast, c_void_p = ctypes.cast, ctypes.c_void_p

    def tramp(env: Any, caller: int, values: RawValues, n: int) -> int | None:
        try:
            fn(caller, values)
            return 0
        except BaseException as exc:
            stash.error = exc
            return cast(trap_new(msg, len(msg)), c_void_p).value

    return _RawCallback(tramp)
