"""The lean call path: wasm exports called through libwasmtime's unchecked entry point.

wasmtime-py's public ``Func.__call__`` re-derives the function type and boxes every
value on each call (~25 us here); calling ``wasmtime_func_call_unchecked`` with a raw
value array built once per export costs ~1 us (../shared/BASELINES.md). This reaches
into wasmtime-py's private ctypes bindings, so the wasmtime version is pinned in
pyproject.toml and ``tests/unit/test_fastcall.py`` fails loudly if an upgrade moves
them.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable, Sequence
from typing import Any

import wasmtime
from wasmtime import _bindings as _ffi  # private: pinned version, see module docstring
from wasmtime import _func as _wfunc

__all__ = ("FastFunc", "WasmFailure")

_call_unchecked = _ffi._wasmtime_func_call_unchecked
_RAW = _ffi.wasmtime_val_raw_t
_TRAP_PTR = ctypes.POINTER(_ffi.wasm_trap_t)

_KIND_FIELD = {
    "i32": "i32",
    "i64": "i64",
    "f32": "f32",
    "f64": "f64",
}


class WasmFailure(Exception):
    """A call ended in a trap or a wasmtime error (wrapping the wasmtime object)."""

    def __init__(self, error: wasmtime.Trap | wasmtime.WasmtimeError | BaseException) -> None:
        self.error = error
        super().__init__(str(error))


def _field(ty: wasmtime.ValType) -> str:
    name = str(ty)
    try:
        return _KIND_FIELD[name]
    except KeyError:
        raise TypeError(f"value type {name} is not supported on the call path") from None


class FastFunc:
    """One export of one store, callable with plain Python numbers.

    Not thread-safe (one raw array per export), which is fine: an instance serves one
    call at a time.
    """

    __slots__ = (
        "_ctx",
        "_fn",
        "_func",
        "_n",
        "_params",
        "_raw",
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
        self._fn = ctypes.byref(func._func)
        self._ctx = store._context()
        self._trap = _TRAP_PTR()
        self._trap_ref = ctypes.byref(self._trap)

    def _fail(self, err: Any) -> WasmFailure:
        if err:
            exc: BaseException = wasmtime.WasmtimeError._from_ptr(err)
        else:
            exc = wasmtime.Trap._from_ptr(self._trap)
            self._trap = _TRAP_PTR()
            self._trap_ref = ctypes.byref(self._trap)
        # A Python host function that raised left its exception in wasmtime-py's stash:
        # it is the real cause, so surface it instead of the generic trap.
        pending = _wfunc.LAST_EXCEPTION
        if pending is not None:
            _wfunc.LAST_EXCEPTION = None
            return WasmFailure(pending)
        return WasmFailure(exc)

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
        err = _call_unchecked(self._ctx, self._fn, raw, self._n, self._trap_ref)
        if err or self._trap:
            raise self._fail(err)
        return [getattr(raw[i], f) for i, f in enumerate(self._results)]

    def bind_no_args_i32(self) -> Callable[[], int]:
        """A closure for the hottest shape, ``() -> i32`` (Extism exports)."""
        raw, ctx, fn, n = self._raw, self._ctx, self._fn, self._n
        slot = raw[0]

        def call() -> int:
            err = _call_unchecked(ctx, fn, raw, n, self._trap_ref)
            if err or self._trap:
                raise self._fail(err)
            return int(slot.i32)

        return call
