"""The small interface every backend implements (like httpx's transports).

A backend starts worker processes (or actors) and gives the supervisor a byte
channel to each; framing, calls, restarts and routing live above it.
"""

from __future__ import annotations

import importlib
from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, Protocol

from ..config import PluginSpec
from ..errors import ConfigError

__all__ = (
    "Backend",
    "ByRef",
    "FastIO",
    "ObjectStore",
    "PayloadLost",
    "WorkerChannel",
    "get_backend",
)


class WorkerChannel(ABC):
    """A started worker: a duplex byte stream plus process control."""

    pid: int | None = None
    shm_fd: int | None = None
    """A memfd shared with the worker for large payloads (see ``wire.ShmRings``)."""
    exit_description: str | None = None
    """Once :meth:`wait` returned: how the worker ended, when the exit code alone
    cannot say (a Ray actor has none); the supervisor then reports this instead."""

    @abstractmethod
    async def send(self, data: bytes | bytearray | memoryview) -> None:
        """Write all of ``data``. Raises ``OSError``/anyio errors if the worker is gone."""

    @abstractmethod
    async def receive(self) -> bytes:
        """Some bytes from the worker; ``b""`` once it has closed its end."""

    @abstractmethod
    def terminate(self) -> None:
        """Ask the worker to stop now (SIGTERM)."""

    @abstractmethod
    def kill(self) -> None:
        """Stop the worker at once (SIGKILL)."""

    @abstractmethod
    async def wait(self) -> int | None:
        """Wait for the worker to exit; its return code (negative: killed by signal)."""

    @abstractmethod
    async def aclose(self) -> None:
        """Release the channel (does not stop the worker by itself)."""

    async def attach(
        self, on_data: Callable[[bytes], None], on_eof: Callable[[], None]
    ) -> FastIO | None:
        """Optional fast path: deliver received bytes by calling ``on_data`` from the
        event loop itself (no reader task, no task switch per read) and write without
        awaiting. Returns None when the channel cannot (the caller then uses
        :meth:`send` / :meth:`receive` from tasks). After a successful attach,
        ``send``/``receive`` must not be used again.
        """
        return None


class FastIO(Protocol):
    """Non-blocking writes and loop scheduling for an attached channel."""

    def write(self, data: bytes | bytearray) -> None: ...

    def call_soon(self, fn: Callable[[], None]) -> None: ...

    def call_at(self, when: float, fn: Callable[[], None]) -> bool:
        """Call ``fn`` once ``time.perf_counter()`` reaches ``when``, to the
        microsecond; False (and nothing scheduled) where no such timer exists."""
        ...

    def new_waiter(self) -> Any: ...


class PayloadLost(Exception):
    """A by-reference payload cannot be read any more (e.g. its owner died)."""


class ByRef:
    """A payload in a backend's object store, as the supervisor passes it around:
    its wire ``ref``, its size, and ``keep`` (whatever keeps the object alive: it is
    freed once the last ByRef holding it is dropped)."""

    __slots__ = ("keep", "ref", "size")

    def __init__(self, ref: bytes, size: int, keep: Any = None) -> None:
        self.ref = ref
        self.size = size
        self.keep = keep

    def __len__(self) -> int:
        return self.size


class ObjectStore(ABC):
    """The supervisor's side of passing large payloads by reference (a backend whose
    workers share an object store, like Ray's). Workers get a ``ref`` on the wire
    instead of the bytes; see ``wire.PayloadStore`` for their side."""

    threshold: int
    """Payloads from this many bytes go by reference."""

    @abstractmethod
    async def put(self, data: bytes) -> ByRef | None:
        """Store ``data`` (None: it could not be stored; send it inline)."""

    @abstractmethod
    async def get(self, ref: bytes) -> bytes:
        """Read a payload a worker put. :raises PayloadLost: it is gone."""


class Backend(ABC):
    """Starts workers."""

    name: str
    payloads: ObjectStore | None = None
    """Set when large payloads travel by reference between this backend's workers."""

    @abstractmethod
    async def spawn(self, plugin: str, instance: int) -> WorkerChannel:
        """Start one worker for ``plugin``'s instance number ``instance``."""

    async def prepare_spec(self, plugin: str, spec: PluginSpec) -> PluginSpec:
        """The spec the worker about to be spawned for ``plugin`` should load; called
        before every :meth:`spawn` (restarts too). A backend whose workers may run on
        other machines ships the module here and points ``source`` at the copy.
        Default: ``spec`` unchanged.

        :raises PluginLoadError: the plug-in cannot be prepared (e.g. unreadable).
        """
        return spec

    async def aclose(self) -> None:  # noqa: B027 - optional hook, a no-op by default
        """Release backend resources (cluster connections, spare workers)."""


_KNOWN = {"local": ("orchestra.backends.local", None), "ray": ("orchestra.backends.ray", "ray")}


def get_backend(kind: str, **options: Any) -> Backend:
    """Load a backend by name, lazily (anyio's ``get_async_backend`` pattern).

    :raises ConfigError: unknown backend, or known but its extra is not installed.
    """
    try:
        modname, extra = _KNOWN[kind]
    except KeyError:
        raise ConfigError(
            f"no such backend {kind!r} (known: {', '.join(sorted(_KNOWN))})", path="backend"
        ) from None
    try:
        module = importlib.import_module(modname)
    except ImportError as exc:
        hint = f"; install it with pip install 'orchestra-wasm[{extra}]'" if extra else ""
        raise ConfigError(
            f"backend {kind!r} is known but not installed ({exc}){hint}", path="backend"
        ) from None
    backend_class: type[Backend] = module.backend_class
    return backend_class(**options)
