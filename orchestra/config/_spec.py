"""The typed config: msgspec Structs that YAML converts into.

Defaults live here and only here. Paths are resolved against the config file's
folder by the loader, so every path in a loaded :class:`Config` is absolute.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeAlias, cast

import msgspec
from msgspec import Meta, field

from ._units import MAX_SIZE, Duration, Size, parse_duration

__all__ = (  # the Structs only (config_schema() walks them); COMMAND_ENTRY_NAMES too is public
    "Backoff",
    "Call",
    "Condition",
    "Config",
    "DeadLetter",
    "Filter",
    "HostPluginsSpec",
    "Limits",
    "PipelineSpec",
    "PluginSpec",
    "RayActorOptions",
    "RayBackendSpec",
    "RayPlacement",
    "LocalBackendSpec",
    "Restart",
    "Retry",
    "Rlimits",
    "SandboxSpec",
    "Stage",
    "WasiSpec",
)

Abi = Literal["auto", "extism", "wasi-command", "core"]
COMMAND_ENTRY_NAMES = ("_start", "run", "main")
"""The export names a ``wasi-command`` plug-in answers to: its one entry point."""
Name = Annotated[str, Meta(pattern=r"^[A-Za-z_][A-Za-z0-9_.-]*$")]


FIELD_ERROR_PREFIX = "in field "


def field_error(name: str, message: str) -> ValueError:
    """A ``__post_init__`` error about one field.

    msgspec reports a ``__post_init__`` error at the Struct's path; the loader reads this
    prefix back to point at the field itself (its path and its line in the YAML).
    """
    return ValueError(f"{FIELD_ERROR_PREFIX}`{name}`: {message}")


_UNSET: Any = msgspec.UNSET


def _default(value: Size | Duration) -> Any:
    """A Size/Duration default, given through a factory.

    msgspec's JSON Schema generator cannot encode a custom-typed plain default (it has
    no ``enc_hook``); it skips factories, and ``config_schema()`` adds these back.
    """
    return field(default_factory=lambda: value)


class _Spec(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    pass


MAX_OUTPUT = 256 * 1024**2
"""The largest ``limits.output`` (and its default): what one frame may carry."""


class Limits(_Spec):
    """Per-instance resource limits."""

    memory: Size | None = _default(Size(256 * 1024**2))
    """Linear memory (and tables) of the instance; growth past it fails."""
    timeout: Duration | None = _default(Duration(30.0))
    """Wall time of one call (epoch interruption in the worker)."""
    fuel: Annotated[int, Meta(ge=1, le=MAX_SIZE)] | None = None
    """Wasm instructions per call (roughly), refilled at every call."""
    stack: Size | None = None
    """Maximum wasm stack size."""
    process_memory: Size | None = None
    """Address-space limit of the whole worker process (rlimit)."""
    output: Size = _default(Size(MAX_OUTPUT))
    """Largest output of one call (bytes). The worker checks it before sending: a
    larger output fails that call with PluginOutputTooLarge, the instance untouched.
    At most 256MiB (the worker channel's frame limit)."""

    source_size: Size = _default(Size(256 * 1024**2))
    """Largest plug-in source a worker reads: the .wasm/.wat file, or an Extism
    manifest and the modules it names (by path or URL) together. Only regular files
    are read, never more than this (``/dev/zero`` or a FIFO fails at once)."""

    def __post_init__(self) -> None:
        if not 1 <= self.output <= MAX_OUTPUT:
            raise field_error(
                "output", f"expected a size from 1 byte to 256MiB, got {int(self.output)} bytes"
            )


class Backoff(_Spec):
    initial: Duration = _default(Duration(0.1))
    max: Duration = _default(Duration(5.0))
    jitter: Annotated[float, Meta(ge=0, le=1)] = 0.1


# msgspec cannot put a custom type (``Duration``) in a union with a Struct, so it decodes
# ``backoff`` as ``float | str | Backoff`` and ``Restart.__post_init__`` (which also runs
# on construction) parses the scalar; type checkers see what the field always holds.
if TYPE_CHECKING:
    _BackoffField: TypeAlias = Duration | Backoff
else:
    _BackoffField = float | str | Backoff


class Restart(_Spec):
    """Restart intensity, OTP-style: more than ``max_restarts`` within ``within`` fails
    the plug-in."""

    max_restarts: Annotated[int, Meta(ge=0)] = 5
    within: Duration = _default(Duration(60.0))
    backoff: _BackoffField = _default(Duration(0.1))
    """A fixed delay (``100ms``) or a :class:`Backoff`."""

    def __post_init__(self) -> None:
        if not isinstance(self.backoff, Backoff | Duration):
            try:
                self.backoff = parse_duration(cast(float | str, self.backoff))
            except ValueError as exc:
                raise field_error("backoff", str(exc)) from None


class Retry(_Spec):
    """Marks the plug-in's exports idempotent: a call lost with a crashed worker is
    retried up to ``attempts`` times in all."""

    attempts: Annotated[int, Meta(ge=1)] = 1


class WasiSpec(_Spec):
    """WASI for the instance. Nothing of the host is visible unless listed here."""

    args: list[str] = []
    env: dict[str, str] = {}
    allowed_paths: dict[str, str] = {}
    """Host directory → guest path. Prefix the host path with ``ro:`` for read-only."""


class Rlimits(_Spec):
    """OS resource limits of a worker process (``setrlimit``, soft = hard, so plug-in
    code cannot raise them again). The address space is ``limits.process_memory``."""

    nofile: Annotated[int, Meta(ge=1)] | None = None
    """Open file descriptors; the worker itself holds about 10."""
    nproc: Annotated[int, Meta(ge=1)] | None = None
    """Processes and threads of the worker's *user*: the kernel counts them per uid,
    not per process, and never limits uid 0."""
    cpu: Duration | None = None
    """CPU time of the worker's whole life (whole seconds, rounded up; loading counts):
    past it the kernel kills the worker (``PluginCrashed``), a restart starts afresh."""


class SandboxSpec(_Spec):
    """OS confinement of the plug-in's worker processes, beyond the wasm sandbox; it
    also binds native host plug-ins, which run in the worker. Applied once the plug-in
    is loaded, before any of its calls (local backend only, see docs/faults.md)."""

    no_new_privs: bool = True
    """``PR_SET_NO_NEW_PRIVS``: no ``execve`` ever gains privileges (setuid binaries,
    file capabilities). On by default: it costs nothing."""
    drop_capabilities: bool = False
    """Drop every Linux capability, bounding set included (a root supervisor's worker
    keeps uid 0 but not root's powers)."""
    seccomp: Literal["off", "fail", "kill"] = "off"
    """A system-call filter denying new processes and programs, ptrace, signals to
    other processes, identity, namespace and mount changes, kernel modules, io_uring,
    and new sockets unless the plug-in has ``allowed_hosts``: ``fail`` makes a denied call return EPERM, ``kill``
    kills the worker at once (``PluginCrashed``)."""
    rlimits: Rlimits = field(default_factory=Rlimits)

    def __post_init__(self) -> None:
        if self.seccomp != "off" and not self.no_new_privs:
            raise field_error(
                "seccomp",
                "needs no_new_privs: true (the kernel installs a filter only with it)",
            )


class PluginSpec(_Spec):
    """One plug-in: a wasm module and how to run it."""

    source: str
    """A ``.wasm``, ``.wat`` or Extism manifest (``.json``/``.yaml``)."""
    instances: Annotated[int, Meta(ge=1, le=1024)] = 1
    abi: Abi = "auto"
    wasi: WasiSpec | None = None
    config: dict[str, str] = {}
    host_modules: list[str] = []
    imports: dict[str, str] = {}
    allowed_hosts: list[str] = []
    limits: Limits = field(default_factory=Limits)
    restart: Restart = field(default_factory=Restart)
    retry: Retry | None = None
    max_in_flight: Annotated[int, Meta(ge=1, le=4096)] = 128
    """Calls queued on one instance at once (pipelining); callers wait beyond it. A
    pipeline stage sends an instance batches of up to half of it (one runs while the
    next waits): 32 made batches of 16, whose per-batch cost kept a two-stage pipeline
    of small records at 0.9x the in-process floor, against 1.4x with 64."""
    max_waiting: Annotated[int, Meta(ge=0)] | None = None
    """Callers that may wait for a free instance (null: unbounded); past it a call fails
    at once with ``Overloaded``."""
    start_timeout: Duration = _default(Duration(30.0))
    """How long a worker may take to load and report ready."""
    max_var_bytes: Size = _default(Size(1024 * 1024))
    """Extism vars: total bytes of keys and values an instance may keep (0 disables)."""
    max_http_response_bytes: Size = _default(Size(50 * 1024 * 1024))
    """Extism http_request: largest response body accepted."""
    http_response_headers: bool = False
    """Extism http_headers: whether a plug-in may read the last response's headers."""
    sandbox: SandboxSpec = field(default_factory=SandboxSpec)
    """OS confinement of the worker processes (no_new_privs, capabilities, seccomp,
    rlimits)."""


class Call(_Spec):
    """A plug-in export (used by ``parallel`` branches and plug-in filters)."""

    plugin: str
    export: str


class Condition(_Spec):
    """A test on a JSON field of the record's current payload (dots go into objects).

    Exactly one of ``equals``, ``not_equals``, ``in``, ``exists``; a payload that is
    not a JSON object fails the test.
    """

    field: str
    equals: Any = _UNSET
    not_equals: Any = _UNSET
    in_: list[Any] | None = msgspec.field(default=None, name="in")
    exists: bool | None = None

    def __post_init__(self) -> None:
        given = [
            self.equals is not _UNSET,
            self.not_equals is not _UNSET,
            self.in_ is not None,
            self.exists is not None,
        ]
        if sum(given) != 1:
            raise ValueError("give exactly one of equals, not_equals, in, exists")


class Filter(_Spec):
    """Keep a record when a plug-in says so (output ``true``/``1``/a non-empty, non-
    ``false``/``0``/``null`` value) or when a JSON field matches; drop it otherwise.
    The record's payload passes on unchanged."""

    plugin: str | None = None
    export: str | None = None
    field: str | None = None
    equals: Any = _UNSET
    not_equals: Any = _UNSET
    in_: list[Any] | None = msgspec.field(default=None, name="in")
    exists: bool | None = None

    def __post_init__(self) -> None:
        by_plugin = self.plugin is not None or self.export is not None
        if by_plugin and (self.plugin is None or self.export is None):
            raise ValueError("a plug-in filter needs both plugin and export")
        if by_plugin == (self.field is not None):
            raise ValueError("a filter is either {plugin, export} or {field, equals|...}")

    def condition(self) -> Condition | None:
        if self.field is None:
            return None
        return Condition(
            field=self.field,
            equals=self.equals,
            not_equals=self.not_equals,
            in_=self.in_,
            exists=self.exists,
        )


class Stage(_Spec):
    """One step of a pipeline: a plug-in call, a ``parallel`` fan-out joined into a
    JSON object keyed by branch name, or a ``filter``. ``when`` makes any stage
    conditional: records that fail it skip the stage unchanged."""

    plugin: str | None = None
    export: str | None = None
    parallel: dict[str, Call] | None = None
    filter: Filter | None = None
    when: Condition | None = None
    name: str | None = None
    """Shown in progress, summaries, dead letters and graphs (default: plugin.export)."""
    concurrency: Annotated[int, Meta(ge=1)] | None = None
    """Records in this stage at once; default: the plug-in's instances x max_in_flight."""

    def __post_init__(self) -> None:
        kinds = [
            self.plugin is not None or self.export is not None,
            self.parallel is not None,
            self.filter is not None,
        ]
        if sum(kinds) != 1:
            raise ValueError("a stage is exactly one of {plugin, export}, parallel, filter")
        if kinds[0] and (self.plugin is None or self.export is None):
            raise ValueError("a plug-in stage needs both plugin and export")
        if self.parallel is not None and not self.parallel:
            raise ValueError("parallel needs at least one branch")

    @property
    def label(self) -> str:
        if self.name:
            return self.name
        if self.plugin is not None:
            return f"{self.plugin}.{self.export}"
        if self.parallel is not None:
            return "parallel(" + ", ".join(self.parallel) + ")"
        assert self.filter is not None
        f = self.filter
        return f"filter({f.plugin}.{f.export})" if f.plugin else f"filter({f.field})"

    def plugins(self) -> list[str]:
        """Every plug-in this stage calls."""
        if self.plugin is not None:
            return [self.plugin]
        if self.parallel is not None:
            return [c.plugin for c in self.parallel.values()]
        assert self.filter is not None
        return [self.filter.plugin] if self.filter.plugin else []


class DeadLetter(_Spec):
    dead_letter: str
    """JSON lines file receiving records that failed."""


class PipelineSpec(_Spec):
    stages: Annotated[list[Stage], Meta(min_length=1)]
    on_error: Literal["fail", "skip"] | DeadLetter = "fail"
    input: str | None = None
    """Default input (file, relative to the config) when the CLI gives none."""
    input_format: Literal["lines", "jsonl"] = "lines"
    output_format: Literal["lines", "jsonl"] = "lines"
    ordered: bool = True
    max_records_in_flight: Annotated[int, Meta(ge=1)] = 1024


class HostPluginsSpec(_Spec):
    paths: list[str] = []
    options: dict[str, dict[str, str | int | float | bool]] = {}
    """Options for host plug-ins, by plug-in name: given (as strings) to a native
    plug-in's init, or to a Python plug-in's ``init(options)``."""

    def option_strings(self) -> dict[str, dict[str, str]]:
        """:attr:`options` as the strings a plug-in's init receives (``true``, ``9``)."""
        return {
            name: {k: str(v).lower() if isinstance(v, bool) else str(v) for k, v in opts.items()}
            for name, opts in self.options.items()
        }


class LocalBackendSpec(_Spec, tag="local", tag_field="kind"):
    pass


class RayPlacement(_Spec):
    """Where a plug-in's actors go in the Ray cluster."""

    strategy: Literal["DEFAULT", "SPREAD", "PACK", "STRICT_PACK", "STRICT_SPREAD"] = "DEFAULT"
    """``DEFAULT``/``SPREAD``: Ray's scheduling strategy for each actor. ``PACK``,
    ``STRICT_PACK``, ``STRICT_SPREAD``: one placement group per plug-in with a bundle
    per instance (a restarted instance goes back into its own bundle)."""


class RayActorOptions(_Spec):
    """Resources one actor (one instance) asks Ray for."""

    num_cpus: Annotated[float, Meta(ge=0)] | None = None
    """Logical CPUs per actor (Ray's default for actors: 1 to schedule, 0 held)."""
    num_gpus: Annotated[float, Meta(ge=0)] | None = None
    memory: Size | None = None
    """Ray's logical memory reservation per actor (scheduling only; not enforced)."""
    resources: dict[str, float] = {}
    """Custom Ray resources per actor, e.g. ``{node_a: 1}`` to pin to nodes that have it."""
    placement: RayPlacement | None = None


class RayBackendSpec(_Spec, tag="ray", tag_field="kind"):
    """Run every instance as a Ray actor (``pip install 'orchestra-wasm[ray]'``)."""

    address: str = "auto"
    """Given to ``ray.init`` when Ray is not initialised yet in this process: ``auto``
    (a running cluster), ``ray://host:10001``, ``host:6379``, or ``local`` (start one)."""
    num_cpus: Annotated[float, Meta(ge=0)] | None = None
    num_gpus: Annotated[float, Meta(ge=0)] | None = None
    memory: Size | None = None
    resources: dict[str, float] = {}
    placement: RayPlacement | None = None
    plugins: dict[str, RayActorOptions] = {}
    """Per plug-in overrides of the actor options above (a field given here wins)."""
    namespace: str | None = None
    runtime_env: dict[str, Any] | None = None
    """Ray ``runtime_env`` for the actors (e.g. ``pip``/``py_modules`` so every node can
    import orchestra and the host plug-ins)."""
    driver_address: str | None = None
    """``HOST`` or ``HOST:PORT`` the actors connect back to (default: this node's Ray IP,
    a free port)."""
    by_reference: Size | None = _default(Size(8 * 1024 * 1024))
    """Call inputs and outputs (and routed payloads) of at least this size travel by
    reference through Ray's object store, not through the driver's TCP stream; null:
    never. The default is where the object store starts to win on one node; lower it
    when the driver's network is the bottleneck (see docs/scaling.md)."""


class Config(_Spec, kw_only=True):
    """A whole Orchestra config file."""

    version: Literal[1] = 1
    backend: Literal["local", "ray"] | LocalBackendSpec | RayBackendSpec = "local"
    host_plugins: HostPluginsSpec = field(default_factory=HostPluginsSpec)
    plugins: dict[Name, PluginSpec]
    pipelines: dict[Name, PipelineSpec] = {}
