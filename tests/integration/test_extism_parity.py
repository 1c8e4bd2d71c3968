"""Parity with the Extism SDK: the reference cases, run through Orchestra.

``test_extism_sdk_reference.py`` runs our C Extism plug-ins
(``examples/plugins/extism/*.c``) under the real Extism Python SDK and records
what it gives in :data:`REFERENCE_CASES`. Here the same cases, with the same
manifests, run through Orchestra's public API (``Orchestra.call``), and
Orchestra must give the same:

* a call that succeeds under the SDK gives the identical output bytes;
* an error the plug-in sets is a :class:`PluginError` whose ``.message`` is the
  plug-in's text, unchanged;
* a timeout is a :class:`PluginTimeout` (its message says "timeout");
* where the SDK's message hides the reason (a failing host function: the SDK
  says only "error while executing at wasm backtrace: ..." and logs the
  reason), Orchestra raises :class:`HostFunctionError` whose message carries
  that reason, as the Extism runtime logs it;
* a manifest that cannot load is a :class:`PluginLoadError` on entering
  Orchestra.

Where Orchestra differs from the SDK on purpose, :data:`DIFFERENCES` says what
Orchestra gives instead and why; those cases still run and are checked against
Orchestra's own outcome, they are not skipped.

Instances are shared where that cannot change a result: cases with identical
settings whose calls touch no state share one plug-in (one worker); a case that
depends on state (vars, the C counter, count_vowels' running total, calls made
before, repeated calls) gets a plug-in of its own and makes exactly the calls
the reference made, in the same order, on one instance. All of them are plug-ins
of one Orchestra (start-up costs once); load errors each get an Orchestra.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import pytest

from orchestra import (
    CallError,
    Config,
    HostFunctionError,
    Orchestra,
    OrchestraError,
    PluginError,
    PluginLoadError,
    PluginMemoryLimit,
    PluginTimeout,
    PluginTrap,
)
from orchestra.config import HostPluginsSpec, PluginSpec

from .test_extism_sdk_reference import (
    HOST_FUNCTIONS,
    REFERENCE_CASES,
    SDK_FAIL_MESSAGE,
    SDK_NONZERO_MESSAGE,
    SDK_TRAP_PREFIX,
    build_reference_plugins,
    reference_http_server,
    resolve,
    sdk_manifest,
)

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    """asyncio only: one Orchestra serves the whole module (trio is covered elsewhere)."""
    return "asyncio"


# --- what Orchestra should give -----------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    """A call's result: ``output`` bytes, or an error of exactly class ``error``
    whose message contains ``message`` (equals it when ``exact``)."""

    output: bytes | None = None
    error: type[OrchestraError] | None = None
    message: str = ""
    exact: bool = False

    def check(self, got: bytes | OrchestraError, what: str) -> None:
        if self.error is None:
            assert not isinstance(got, BaseException), f"{what}: failed: {got!r}"
            assert got == self.output, f"{what}: output differs ({len(got)} bytes)"
            return
        assert isinstance(got, OrchestraError), f"{what}: succeeded: {got[:200]!r}"
        assert type(got) is self.error, f"{what}: {type(got).__name__}: {got}"
        assert isinstance(got, CallError | PluginLoadError)
        message = got.message
        if self.exact:
            assert message == self.message, what
        else:
            assert self.message in message, f"{what}: {message!r}"


@dataclass(frozen=True)
class Difference:
    """Orchestra's outcome where it deliberately differs from the SDK."""

    outcome: Outcome
    why: str
    after: list[tuple[str, bytes, bytes]] | None = None  # replaces the case's ``after``


#: A trap's reason, as the Extism runtime logs it, starts with this.
WASM_TRAP = "wasm trap: "

#: Orchestra's error class for a call error the SDK reports by its text only;
#: the SDK's text is in Orchestra's message. Any other such error is the
#: plug-in's own (error_set): a PluginError with exactly the SDK's text.
ERROR_CLASS: dict[str, type[OrchestraError]] = {
    # "Function not found: nosuch; exports: echo, reverse, ..."
    "no_such_export": CallError,
    # the 1 MiB input cannot be placed in kernel memory under max_pages 4
    "max_pages_input_too_big": PluginMemoryLimit,
}

#: Where Orchestra deliberately gives something else than the SDK, and why.
DIFFERENCES: dict[str, Difference] = {
    "nonzero": Difference(
        Outcome(error=PluginError, message="returned non-zero exit code 7", exact=True),
        "a non-zero return without an error carries no message in the Extism runtime; the "
        f"Python SDK makes up {SDK_NONZERO_MESSAGE!r}, Orchestra says what happened "
        "(EXTISM_ABI.md)",
    ),
    "trap": Difference(
        Outcome(error=PluginTrap, message="wasm `unreachable` instruction executed"),
        f"the SDK reports only an opaque {SDK_TRAP_PREFIX!r} backtrace (the cause is only "
        "logged); Orchestra's PluginTrap gives the cause and the wasm frame",
    ),
    "var_store_over_limit": Difference(
        Outcome(output=b"ok"),
        "Orchestra's max_var_bytes counts the key and value bytes only; Extism adds 48 "
        "bytes per var (its Rust String/Vec headers), so 1 + 16 bytes fit under 64 here",
    ),
    "var_store_counts_old_value": Difference(
        Outcome(output=b"ok"),
        "Orchestra counts a var's new value in place of its old one (replacing k=123 with "
        "k=1 shrinks the store); Extism counts the old value as well and refuses",
        after=[("vars", b"k", b"1")],
    ),
    "counter_persists": Difference(
        Outcome(output=b"1"),
        "after a trap or a timeout Orchestra re-instantiates the plug-in (its memory "
        "cannot be trusted; DESIGN.md fault model), so the C counter starts again; Extism "
        "keeps the plug-in's memory. Vars survive in both (var_survives_failures)",
    ),
    "log": Difference(
        Outcome(output=b"2"),
        "plug-in logs always go to Orchestra's structlog, so get_log_level is Orchestra's "
        "level (info = 2 by default); the SDK reports 'off' (INT32_MAX) unless its "
        "process-wide logging is set up",
    ),
    "max_pages_output_too_big": Difference(
        Outcome(error=PluginError, message="out of memory", exact=True),
        "Orchestra's kernel alloc returns 0 when memory cannot grow (EXTISM_ABI.md), so "
        "the plug-in reports its own error; Extism's kernel traps with 'oom'",
    ),
    "max_pages_below_module_minimum": Difference(
        Outcome(error=PluginLoadError, message="memory minimum size of 2 pages exceeds"),
        "Orchestra instantiates every instance at start-up, so a module that cannot fit "
        "is a load error before any call; the SDK instantiates lazily and fails the "
        "first call with 'oom'",
    ),
    "hash_mismatch": Difference(
        Outcome(error=PluginLoadError, message="hash mismatch, found "),
        "Orchestra's messages start in lower case (EXTISM_ABI.md); the SDK says 'Hash'",
    ),
    "missing_host_function": Difference(
        Outcome(
            error=PluginLoadError,
            message="import 'extism:host/user.reverse' is not provided; grant a host module",
        ),
        "Orchestra says how to provide the import (grant a host module, or route it); "
        "the SDK gives wasmtime's 'unknown import ... has not been defined'",
    ),
    "unknown_manifest_key": Difference(
        Outcome(error=PluginLoadError, message="bogus: unknown field 'bogus'"),
        "Orchestra names the unknown key and where it is; the SDK, failing to read the "
        "manifest, tries it as wasm and says 'Unknown manifest format'",
    ),
}

_CASES = {case["id"]: case for case in REFERENCE_CASES}
assert set(DIFFERENCES) <= set(_CASES) and set(ERROR_CLASS) <= set(_CASES)


def sdk_outcome(case: dict[str, Any]) -> Outcome:
    """What Orchestra gives when it matches the SDK (*case* resolved)."""
    if case["expected"] is not None:
        return Outcome(output=case["expected"])
    if case["load_error"] is not None:
        return Outcome(error=PluginLoadError, message=case["load_error"])
    error: str = case["error"]
    if error == "timeout":
        return Outcome(error=PluginTimeout, message="timeout")
    if error == SDK_TRAP_PREFIX:
        cause: str = case["cause"]
        assert not cause.startswith(WASM_TRAP), f"{case['id']}: a trap needs a DIFFERENCES entry"
        return Outcome(error=HostFunctionError, message=cause)
    cls = ERROR_CLASS.get(case["id"], PluginError)
    return Outcome(error=cls, message=error, exact=cls is PluginError)


def orchestra_outcome(case: dict[str, Any]) -> tuple[Outcome, list[tuple[str, bytes, bytes]]]:
    diff = DIFFERENCES.get(case["id"])
    if diff is None:
        return sdk_outcome(case), case["after"]
    return diff.outcome, case["after"] if diff.after is None else diff.after


def is_load_case(case: dict[str, Any]) -> bool:
    return orchestra_outcome(case)[0].error is PluginLoadError


# --- grouping: which cases may share an instance -----------------------------------------

#: Exports whose result depends on earlier calls on the instance.
STATEFUL_EXPORTS = {"vars", "counter", "count_vowels"}


def group_key(case: dict[str, Any]) -> str:
    exports = {case["export"], *(export for export, _, _ in case["after"])}
    if case["before"] or case["repeat"] > 1 or exports & STATEFUL_EXPORTS:
        return f"solo:{case['id']}"
    settings = [case[k] for k in ("plugin", "config", "manifest", "wasm_entry")]
    return json.dumps([*settings, sorted(case["host_functions"])], sort_keys=True)


def test_settings_decide_the_groups() -> None:
    """Cases sharing an instance have identical settings and touch no state; the
    default kitchen plug-in serves many (the point of sharing)."""
    groups: dict[str, list[str]] = {}
    for case in REFERENCE_CASES:
        if not is_load_case(case):
            groups.setdefault(group_key(case), []).append(case["id"])
    assert "solo:var_get" in groups and "solo:counter_persists" in groups
    assert "solo:alloc_many" in groups  # repeated calls: as the reference made them
    biggest: list[str] = sorted(groups.values(), key=len)[-1]
    assert {"echo", "fail", "trap", "no_such_export"} <= set(biggest)
    assert len(groups) < len(REFERENCE_CASES) - 15


# --- the host plug-in serving extism:host/user --------------------------------------

HOST_PLUGIN = '''
"""extism:host/user for the Extism parity tests: HOST_FUNCTIONS of the reference."""
from orchestra.hostplugins import HostModule

PLUGIN_NAME = "extism_parity_user"
user = HostModule("extism:host/user")


@user.function
def reverse(data: bytes) -> bytes:
    return data[::-1]
'''


def test_host_plugin_is_the_reference_host_functions() -> None:
    namespace: dict[str, Any] = {}
    exec(compile(HOST_PLUGIN, "<host plug-in>", "exec"), namespace)
    functions = namespace["user"].functions
    assert set(functions) == set(HOST_FUNCTIONS)
    for name, impl in HOST_FUNCTIONS.items():
        for sample in (b"", b"a", b"hello", bytes(range(256))):
            assert functions[name].fn(sample) == impl(sample), name


# --- fixtures -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_reference_plugins(tmp_path_factory.mktemp("extism-plugins"))


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with reference_http_server() as url:
        yield url


@pytest.fixture(scope="module")
def host_plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("hostplugins")
    (path / "extism_parity_user.py").write_text(HOST_PLUGIN)
    return path


@dataclass
class Setup:
    plugins: dict[str, Path]
    base_url: str
    host_plugin_dir: Path
    manifests: Path
    specs: dict[str, PluginSpec] = field(default_factory=dict)

    def spec(self, case: dict[str, Any]) -> PluginSpec:
        """The case's manifest (the SDK's, key for key) as the plug-in's source."""
        path = self.manifests / f"{case['id']}.json"
        path.write_text(json.dumps(sdk_manifest(case, self.plugins)))
        grants = ["extism:host/user"] if case["host_functions"] else []
        # The SDK's host writes the manifest; Orchestra's operator grants in the YAML,
        # and a manifest may only narrow that (docs/extism.md, Merging).
        hosts = case["manifest"].get("allowed_hosts", [])
        return PluginSpec(source=str(path), host_modules=grants, allowed_hosts=hosts)

    def config(self, specs: dict[str, PluginSpec]) -> Config:
        return Config(
            plugins=specs, host_plugins=HostPluginsSpec(paths=[str(self.host_plugin_dir)])
        )


@pytest.fixture(scope="module")
def setup(
    plugins: dict[str, Path],
    base_url: str,
    host_plugin_dir: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Setup:
    return Setup(plugins, base_url, host_plugin_dir, tmp_path_factory.mktemp("manifests"))


@dataclass
class Running:
    orch: Orchestra
    plugin_of: dict[str, str]  # case id -> plug-in name


@pytest.fixture(scope="module")
async def running(setup: Setup) -> AsyncIterator[Running]:
    """One Orchestra: a plug-in per group of cases (see :func:`group_key`)."""
    specs: dict[str, PluginSpec] = {}
    names: dict[str, str] = {}
    plugin_of: dict[str, str] = {}
    for case in REFERENCE_CASES:
        if is_load_case(case):
            continue
        key = group_key(case)
        if key not in names:
            names[key] = f"p{len(names)}"
            specs[names[key]] = setup.spec(resolve(case, setup.base_url))
        plugin_of[case["id"]] = names[key]
    async with Orchestra(setup.config(specs)) as orch:
        yield Running(orch, plugin_of)


async def call(orch: Orchestra, plugin: str, export: str, data: bytes) -> bytes | OrchestraError:
    try:
        out = await orch.call(plugin, export, data)
    except CallError as exc:
        assert (exc.plugin, exc.export) == (plugin, export)
        return exc
    assert isinstance(out, bytes)
    return out


# --- the tests ----------------------------------------------------------------------


def test_every_case_is_checked() -> None:
    """Each reference case has one outcome here, and the SDK messages the
    differences are about are the reference's."""
    assert _CASES["fail"]["error"] == SDK_FAIL_MESSAGE
    assert _CASES["nonzero"]["error"] == SDK_NONZERO_MESSAGE
    assert _CASES["trap"]["cause"].startswith(WASM_TRAP)
    for case in REFERENCE_CASES:
        outcome, _ = orchestra_outcome(case)
        assert (outcome.output is None) != (outcome.error is None), case["id"]


_LOAD_IDS = [case["id"] for case in REFERENCE_CASES if is_load_case(case)]
_CALL_IDS = [case["id"] for case in REFERENCE_CASES if not is_load_case(case)]


@pytest.mark.parametrize("case_id", _CALL_IDS)
async def test_parity(case_id: str, setup: Setup, running: Running) -> None:
    """The reference's calls, in its order, on the case's instance."""
    case = resolve(_CASES[case_id], setup.base_url)
    expect, after = orchestra_outcome(case)
    orch, plugin = running.orch, running.plugin_of[case_id]
    for export, data in case["before"]:  # results not checked, as in the reference
        await call(orch, plugin, export, data)
    for i in range(case["repeat"]):
        expect.check(await call(orch, plugin, case["export"], case["input"]), f"call {i + 1}")
    for export, data, expected in after:
        Outcome(output=expected).check(await call(orch, plugin, export, data), f"after {export}")


@pytest.mark.parametrize("case_id", _LOAD_IDS)
async def test_load_parity(case_id: str, setup: Setup) -> None:
    """A manifest that cannot load fails on entering Orchestra."""
    case = resolve(_CASES[case_id], setup.base_url)
    expect, _ = orchestra_outcome(case)
    with pytest.raises(PluginLoadError) as info:
        async with Orchestra(setup.config({"p": setup.spec(case)})):
            pass
    expect.check(info.value, case_id)


async def test_var_store_limit_counts_key_and_value(setup: Setup) -> None:
    """Orchestra's own var accounting (the var_store_* differences): key + value
    bytes against max_var_bytes, a replaced value no longer counted; a store past
    the limit fails with Extism's cause, and the old value stays."""
    case = resolve(_CASES["var_store_fits_limit"], setup.base_url)
    case.update(id="orchestra_var_accounting", manifest={"memory": {"max_var_bytes": 16}})
    async with Orchestra(setup.config({"p": setup.spec(case)})) as orch:
        assert await call(orch, "p", "vars", b"k=" + b"x" * 15) == b"ok"
        full = await call(orch, "p", "vars", b"k=" + b"x" * 16)
        Outcome(error=HostFunctionError, message="Variable store is full").check(full, "full")
        assert await call(orch, "p", "vars", b"k") == b"x" * 15
        assert await call(orch, "p", "vars", b"k=1") == b"ok"
        assert await call(orch, "p", "vars", b"k") == b"1"


async def test_idle_longer_than_timeout(setup: Setup) -> None:
    """timeout_ms bounds each call, not the time between calls: a call after an idle
    spell longer than the timeout runs (the SDK's behaviour; a stale deadline once
    made it time out at once)."""
    case = resolve(_CASES["timeout_not_hit"], setup.base_url)
    case.update(id="orchestra_idle_timeout", manifest={"timeout_ms": 200})
    async with Orchestra(setup.config({"p": setup.spec(case)})) as orch:
        assert await call(orch, "p", "echo", b"first") == b"first"
        await anyio.sleep(0.5)
        assert await call(orch, "p", "echo", b"after a rest") == b"after a rest"
        assert await call(orch, "p", "counter", b"") == b"1"
