"""Translate what wasmtime reports into Orchestra's typed call errors."""

from __future__ import annotations

import wasmtime

from ..errors import (
    CallError,
    PluginFuelExhausted,
    PluginTimeout,
    PluginTrap,
)

__all__ = ("describe_frames", "translate")

_CODE_MESSAGES = {
    wasmtime.TrapCode.STACK_OVERFLOW: "stack overflow: the wasm call stack was exhausted",
    wasmtime.TrapCode.MEMORY_OUT_OF_BOUNDS: "out-of-bounds memory access",
    wasmtime.TrapCode.UNREACHABLE: "wasm `unreachable` instruction executed",
    wasmtime.TrapCode.INTEGER_DIVISION_BY_ZERO: "integer division by zero",
    wasmtime.TrapCode.INTEGER_OVERFLOW: "integer overflow",
    wasmtime.TrapCode.INDIRECT_CALL_TO_NULL: "indirect call to a null table entry",
    wasmtime.TrapCode.TABLE_OUT_OF_BOUNDS: "out-of-bounds table access",
    wasmtime.TrapCode.BAD_SIGNATURE: "indirect call signature mismatch",
}


def describe_frames(trap: wasmtime.Trap) -> list[str]:
    """Wasm frames innermost first, as ``module!function+0xoffset``."""
    out = []
    for frame in trap.frames:
        func = frame.func_name or f"func[{frame.func_index}]"
        module = frame.module_name or "<module>"
        out.append(f"{module}!{func}+{frame.module_offset:#x}")
    return out


def translate(
    error: BaseException,
    *,
    plugin: str,
    instance: int,
    export: str,
    timeout: float | None,
    fuel: int | None,
) -> CallError:
    """The typed error for a failed call (the caller decides whether to reset)."""
    where = {"plugin": plugin, "instance": instance, "export": export}
    if isinstance(error, CallError):
        error.plugin, error.instance, error.export = plugin, instance, export
        return error
    if isinstance(error, wasmtime.Trap):
        code = error.trap_code
        if code == wasmtime.TrapCode.INTERRUPT:
            return PluginTimeout(f"call exceeded the timeout of {timeout:g}s", **where)
        if code == wasmtime.TrapCode.OUT_OF_FUEL:
            return PluginFuelExhausted(f"call used up its fuel ({fuel} units)", **where)
        frames = describe_frames(error)
        text = _CODE_MESSAGES.get(code) if code is not None else None
        message = text or error.message.splitlines()[0]
        if frames:
            message += f" (in {frames[0]})"
        return PluginTrap(
            message,
            trap_code=code.name.lower() if code is not None else None,
            frames=frames,
            **where,
        )
    if isinstance(error, wasmtime.WasmtimeError):
        return PluginTrap(str(error).splitlines()[0], **where)
    return CallError(f"{type(error).__name__}: {error}", **where)
