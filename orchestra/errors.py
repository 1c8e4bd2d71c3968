"""The exception tree of Orchestra. Imports nothing from the rest of the package.

::

    OrchestraError
    ├── ConfigError           FILE:LINE:COL: path.to.field: what is wrong
    ├── ProtocolError         bad frame, unknown tag, oversize frame (the worker is killed)
    ├── PluginLoadError       wasm compile/instantiate, unsatisfied import, host plug-in load
    └── CallError             .plugin .instance .export
        ├── PluginError       the plug-in reported an error (Extism error_set, non-zero return)
        ├── PluginTrap        .trap_code, .frames
        ├── PluginTimeout
        ├── PluginMemoryLimit
        ├── PluginFuelExhausted
        ├── PluginCrashed     the worker died mid-call (or broke the protocol)
        ├── PluginOutputTooLarge the output exceeds ``limits.output``
        ├── PluginUnavailable restart budget spent; carries the recent failures
        ├── Overloaded        more callers waiting than the plug-in's max_waiting
        ├── HostFunctionError a host function raised or reported an error
        └── MissingHostPlugin a mocked host function was called

Errors cross the process boundary by *kind* (the class name) and message, so every
``CallError`` subclass must be constructible from ``(message, plugin=, instance=,
export=)``; :func:`call_error_from_kind` is the single place that maps a kind back.
"""

from __future__ import annotations

__all__ = (
    "CALL_ERROR_KINDS",
    "CallError",
    "ConfigError",
    "HostFunctionError",
    "MissingHostPlugin",
    "OrchestraError",
    "Overloaded",
    "PluginCrashed",
    "PluginError",
    "PluginFuelExhausted",
    "PluginLoadError",
    "PluginMemoryLimit",
    "PluginOutputTooLarge",
    "PluginTimeout",
    "PluginTrap",
    "PluginUnavailable",
    "ProtocolError",
    "call_error_from_kind",
)


class OrchestraError(Exception):
    """Root of every error Orchestra raises on purpose."""


class ConfigError(OrchestraError):
    """A config (YAML, manifest or CLI option) is invalid.

    ``str(err)`` is ``FILE:LINE:COL: path.to.field: what is wrong`` when the location
    is known, so editors and terminals can jump to it.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        path: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.path = path
        where = ""
        if file is not None:
            where = file
            if line is not None:
                where += f":{line}"
                if column is not None:
                    where += f":{column}"
            where += ": "
        field = f"{path}: " if path else ""
        super().__init__(f"{where}{field}{message}")


class ProtocolError(OrchestraError):
    """A frame on the supervisor/worker channel is malformed, unknown or too large."""


class PluginLoadError(OrchestraError):
    """A plug-in could not be compiled, linked or instantiated (before any call ran)."""

    def __init__(self, message: str, *, plugin: str | None = None) -> None:
        self.message = message
        self.plugin = plugin
        super().__init__(f"plug-in {plugin!r}: {message}" if plugin else message)


class CallError(OrchestraError):
    """A call to a plug-in export failed. Carries where it happened."""

    def __init__(
        self,
        message: str,
        *,
        plugin: str | None = None,
        instance: int | None = None,
        export: str | None = None,
    ) -> None:
        self.message = message
        self.plugin = plugin
        self.instance = instance
        self.export = export
        super().__init__(message)

    def __str__(self) -> str:
        where = []
        if self.plugin is not None:
            where.append(self.plugin if self.export is None else f"{self.plugin}.{self.export}")
        if self.instance is not None:
            where.append(f"instance {self.instance}")
        return f"{' '.join(where)}: {self.message}" if where else self.message

    def __reduce__(self) -> tuple[object, ...]:
        # Keep the keyword-only context when pickled (Ray, multiprocessing).
        return (
            _rebuild,
            (type(self), self.message, self.plugin, self.instance, self.export, self.__dict__),
        )


def _rebuild(
    cls: type[CallError],
    message: str,
    plugin: str | None,
    instance: int | None,
    export: str | None,
    state: dict[str, object],
) -> CallError:
    err = cls(message, plugin=plugin, instance=instance, export=export)
    err.__dict__.update(state)
    return err


class PluginError(CallError):
    """The plug-in itself reported a failure: an Extism error (its own text), a non-zero
    return code, or a WASI command's non-zero exit."""


class PluginTrap(CallError):
    """The wasm code trapped (unreachable, out-of-bounds access, stack overflow ...)."""

    def __init__(
        self,
        message: str,
        *,
        plugin: str | None = None,
        instance: int | None = None,
        export: str | None = None,
        trap_code: str | None = None,
        frames: list[str] | None = None,
    ) -> None:
        super().__init__(message, plugin=plugin, instance=instance, export=export)
        self.trap_code = trap_code
        self.frames = list(frames or [])


class PluginTimeout(CallError):
    """The call ran past ``limits.timeout``; the instance is reset before its next call."""


class PluginMemoryLimit(CallError):
    """The plug-in tried to grow its memory past ``limits.memory``."""


class PluginFuelExhausted(CallError):
    """The call used up ``limits.fuel``."""


class PluginCrashed(CallError):
    """The worker process died while it held this call; the call may or may not have run.

    Also what a worker that broke the protocol (a frame that does not check out) leaves
    its calls with: it is killed, and the message names the protocol error."""


class PluginOutputTooLarge(CallError):
    """The call's output is larger than the plug-in's ``limits.output``. Detected in the
    worker before anything is sent: the instance is untouched and keeps serving."""


class PluginUnavailable(CallError):
    """The plug-in has no instance to serve the call (failed, or shutting down)."""

    def __init__(
        self,
        message: str,
        *,
        plugin: str | None = None,
        instance: int | None = None,
        export: str | None = None,
        failures: list[str] | None = None,
    ) -> None:
        super().__init__(message, plugin=plugin, instance=instance, export=export)
        self.failures = list(failures or [])


class Overloaded(CallError):
    """Every instance is busy and ``max_waiting`` callers already wait for one: the call
    is refused at once instead of queueing (shedding load beats unbounded queues)."""


class HostFunctionError(CallError):
    """A host function (host plug-in or route) raised or reported an error."""


class MissingHostPlugin(CallError):
    """A mocked host function was called: its host plug-in is not installed."""


_KINDS: dict[str, type[CallError]] = {
    cls.__name__: cls
    for cls in (
        CallError,
        PluginError,
        PluginTrap,
        PluginTimeout,
        PluginMemoryLimit,
        PluginFuelExhausted,
        PluginCrashed,
        PluginOutputTooLarge,
        PluginUnavailable,
        Overloaded,
        HostFunctionError,
        MissingHostPlugin,
    )
}


CALL_ERROR_KINDS = frozenset(_KINDS)
"""The kinds a worker may report in a ``CallFailed`` (any other is a protocol error)."""


def call_error_from_kind(
    kind: str,
    message: str,
    *,
    plugin: str | None = None,
    instance: int | None = None,
    export: str | None = None,
    trap_code: str | None = None,
    frames: list[str] | None = None,
) -> CallError:
    """Rebuild the typed error a worker reported by kind name (unknown kinds → CallError)."""
    cls = _KINDS.get(kind, CallError)
    if cls is PluginTrap:
        return PluginTrap(
            message,
            plugin=plugin,
            instance=instance,
            export=export,
            trap_code=trap_code,
            frames=frames,
        )
    return cls(message, plugin=plugin, instance=instance, export=export)
