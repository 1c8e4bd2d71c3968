"""The ``core`` ABI: numbers in, numbers out, one long-lived store per instance."""

from __future__ import annotations

import wasmtime

from ..errors import CallError
from ._fastcall import FastFunc
from ._instance import PluginInstance, memory_sizes, register_abi

__all__ = ("CoreAbi",)


class CoreAbi:
    name = "core"

    def __init__(self, owner: PluginInstance) -> None:
        self._owner = owner
        self._funcs: dict[str, FastFunc] = {}
        self.reset()

    def reset(self) -> None:
        owner = self._owner
        self._store = owner.new_store()
        owner.arm(self._store)
        self._instance = owner.pre.instantiate(self._store)
        self._funcs = {}
        # Reactors want their initialiser run once before the first call.
        init = self._instance.exports(self._store).get("_initialize")
        if isinstance(init, wasmtime.Func):
            FastFunc(self._store, init, "_initialize").call(())

    def memory_sizes(self) -> list[int]:
        return memory_sizes(self._store, self._instance)

    def exports(self) -> list[str]:
        return [
            name
            for name, item in self._instance.exports(self._store).items()
            if isinstance(item, wasmtime.Func) and name != "_initialize"
        ]

    def _func(self, export: str) -> FastFunc:
        func = self._funcs.get(export)
        if func is None:
            item = self._instance.exports(self._store).get(export)
            if not isinstance(item, wasmtime.Func):
                raise CallError(
                    f"no exported function {export!r}; exports: {', '.join(self.exports()) or 'none'}"
                )
            try:
                func = FastFunc(self._store, item, export)
            except TypeError as exc:
                raise CallError(str(exc)) from None
            self._funcs[export] = func
        return func

    def call(
        self, export: str, data: bytes, args: list[int | float] | None
    ) -> tuple[bytes, list[int | float] | None]:
        func = self._func(export)
        self._owner.arm(self._store)
        try:
            return b"", func.call(args or ())
        except TypeError as exc:
            raise CallError(str(exc)) from None


register_abi("core", CoreAbi)
