"""Reference results: our Extism-ABI plug-ins run under the real Extism SDK.

The plug-ins in ``examples/plugins/extism/`` are written against our own PDK
header (``orchestra_pdk.h``). Running them under the Extism Python SDK
(``extism``, the Rust runtime underneath) shows that they follow the ABI as
Extism implements it, and records what Extism gives for each call.

:data:`REFERENCE_CASES` is the table of those results; a test of Orchestra
imports it (``from tests.integration.test_extism_sdk_reference import
REFERENCE_CASES, build_reference_plugins, reference_http_server``) and checks
that Orchestra gives the same. Every case is a dict with all of these keys:

``id`` (str)
    unique name, for test ids.
``plugin`` (str)
    a key of :func:`build_reference_plugins`: ``count_vowels``, ``kitchen``,
    ``kitchen_host`` or ``kitchen_http``.
``export`` (str), ``input`` (bytes)
    the call under test. ``input`` may contain :data:`BASE_URL` (the bytes
    ``{base_url}``), to be replaced by the URL of :func:`reference_http_server`.
``config`` (dict[str, str])
    the manifest's ``config``.
``manifest`` (dict)
    other manifest keys (``memory``, ``timeout_ms``, ``allowed_hosts``).
``wasm_entry`` (dict)
    extra keys of the manifest's wasm entry (e.g. ``hash``).
``host_functions`` (list[str])
    ``extism:host/user`` imports to provide, from :data:`HOST_FUNCTIONS`.
``before`` (list[tuple[str, bytes]])
    calls (export, input) made first on the same instance; their results,
    errors included, are not checked.
``repeat`` (int)
    how many times the call is made; every time must give the same result.
``expected`` (bytes | None)
    the output, for a call that succeeds.
``error`` (str | None)
    for a call that fails: a substring of the SDK's error message.
``cause`` (str | None)
    where the SDK's message hides the reason (a trap, or a failing host
    function such as http_request or var_set: the Python SDK shows only
    "error while executing at wasm backtrace: ..."), the reason itself,
    as the Extism runtime logs it ("Caused by: ..."). Also checked here.
``after`` (list[tuple[str, bytes, bytes]])
    calls (export, input, expected output) made next on the same instance:
    it must stay usable.
``load_error`` (str | None)
    the instance cannot be created: a substring of the SDK's message.
    (The Python SDK creates it in ``extism.Plugin(...)``; the first call
    instantiates the module, so "oom" for too small a ``max_pages`` shows up
    as a call error.)

The SDK's exact messages for the two ways a call fails by itself:
:data:`SDK_FAIL_MESSAGE` (the error the plug-in set) and
:data:`SDK_NONZERO_MESSAGE` (a non-zero return without an error: the Rust
runtime reports no message, and the Python SDK makes up ``Error code: N``).
"""

from __future__ import annotations

import copy
import http.server
import importlib.util
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import extism
import pytest

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "examples" / "build.py"

#: Placeholder in a case's ``input`` for the base URL of the HTTP server.
BASE_URL = b"{base_url}"

#: Exact SDK messages (``str(extism.Error)``) for kitchen's fail and nonzero.
SDK_FAIL_MESSAGE = "boom: x"  # fail("x"): the error text the plug-in set
SDK_NONZERO_MESSAGE = "Error code: 7"  # nonzero(): returns 7, sets no error

#: Prefix of the SDK's message when a call traps (``unreachable``, or a host
#: function such as http_request failing): the reason is only logged.
SDK_TRAP_PREFIX = "error while executing at wasm backtrace:"

#: What the ``extism:host/user`` host functions do (bytes in, bytes out).
HOST_FUNCTIONS: dict[str, Callable[[bytes], bytes]] = {
    "reverse": lambda data: data[::-1],
}

#: Served by :func:`reference_http_server`: path -> (status, body). Any other
#: path gives 404 with the body ``not found: PATH``.
HTTP_ROUTES: dict[str, tuple[int, bytes]] = {
    "/hello": (200, b"hello from http.server"),
    "/empty": (204, b""),
}

MiB = 1024 * 1024
BINARY = bytes(range(256))
LARGE = bytes(range(251)) * (MiB // 251 + 1)  # ~1 MiB, length not a multiple of 8


def _case(
    id: str,
    plugin: str,
    export: str,
    input: bytes = b"",
    *,
    config: dict[str, str] | None = None,
    manifest: dict[str, Any] | None = None,
    wasm_entry: dict[str, Any] | None = None,
    host_functions: list[str] | None = None,
    before: list[tuple[str, bytes]] | None = None,
    repeat: int = 1,
    expected: bytes | None = None,
    error: str | None = None,
    cause: str | None = None,
    after: list[tuple[str, bytes, bytes]] | None = None,
    load_error: str | None = None,
) -> dict[str, Any]:
    outcomes = (expected is not None) + (error is not None) + (load_error is not None)
    assert outcomes == 1, f"{id}: give exactly one of expected, error, load_error"
    return {
        "id": id,
        "plugin": plugin,
        "export": export,
        "input": input,
        "config": config or {},
        "manifest": manifest or {},
        "wasm_entry": wasm_entry or {},
        "host_functions": host_functions or [],
        "before": before or [],
        "repeat": repeat,
        "expected": expected,
        "error": error,
        "cause": cause,
        "after": after or [],
        "load_error": load_error,
    }


def _vowels_json(count: int, total: int, vowels: str = "aeiouAEIOU") -> bytes:
    return json.dumps(
        {"count": count, "total": total, "vowels": vowels}, separators=(",", ":")
    ).encode()


HELLO = b"Hello, World!"
ALLOW_LOCAL = {"allowed_hosts": ["127.0.0.1"]}

REFERENCE_CASES: list[dict[str, Any]] = [
    # --- count_vowels: config, a var across calls, JSON out ------------------
    _case("count_vowels", "count_vowels", "count_vowels", HELLO, expected=_vowels_json(3, 3)),
    _case(
        "count_vowels_running_total",
        "count_vowels",
        "count_vowels",
        HELLO,
        before=[("count_vowels", HELLO)] * 2,
        expected=_vowels_json(3, 9),
    ),
    _case(
        "count_vowels_total_adds_different_inputs",
        "count_vowels",
        "count_vowels",
        b"aaaa",
        before=[("count_vowels", HELLO), ("count_vowels", b"")],
        expected=_vowels_json(4, 7),
    ),
    _case("count_vowels_empty", "count_vowels", "count_vowels", b"", expected=_vowels_json(0, 0)),
    _case(
        "count_vowels_bytes_not_chars",
        "count_vowels",
        "count_vowels",
        "h\u00e9llo w\u00f6rld".encode(),
        expected=_vowels_json(1, 1),
    ),
    _case(
        "count_vowels_config",
        "count_vowels",
        "count_vowels",
        b"Yellow sky",
        config={"vowels": "aeiouyAEIOUY"},
        expected=_vowels_json(4, 4, "aeiouyAEIOUY"),
    ),
    _case(
        "count_vowels_config_json_escaped",
        "count_vowels",
        "count_vowels",
        b'say "hi" \\o/',
        config={"vowels": '"\\'},
        expected=b'{"count":3,"total":3,"vowels":"\\"\\\\"}',
    ),
    # An empty config value reads as absent (config_get returns handle 0 for
    # it), so the default set is used.
    _case(
        "count_vowels_empty_config_is_absent",
        "count_vowels",
        "count_vowels",
        HELLO,
        config={"vowels": ""},
        expected=_vowels_json(3, 3),
    ),
    # --- kitchen: input and output --------------------------------------------
    _case("echo", "kitchen", "echo", b"hello", expected=b"hello"),
    _case("echo_empty", "kitchen", "echo", b"", expected=b""),
    _case("echo_binary", "kitchen", "echo", BINARY, expected=BINARY),
    _case("echo_large", "kitchen", "echo", LARGE, expected=LARGE),
    _case("reverse", "kitchen", "reverse", b"abcdefghij", expected=b"jihgfedcba"),
    _case("reverse_empty", "kitchen", "reverse", b"", expected=b""),
    _case("big", "kitchen", "big", b"abc", expected=b"abc" * 1000),
    _case("big_1mb", "kitchen", "big", b"x" * 1000, expected=b"x" * 1_000_000),
    _case("big_empty", "kitchen", "big", b"", expected=b""),
    # --- kitchen: failures ------------------------------------------------------
    _case("fail", "kitchen", "fail", b"x", error=SDK_FAIL_MESSAGE),
    _case("fail_empty", "kitchen", "fail", b"", error="boom: "),
    _case("fail_utf8", "kitchen", "fail", "h\u00e9llo".encode(), error="boom: h\u00e9llo"),
    _case(
        "fail_then_usable",
        "kitchen",
        "fail",
        b"x",
        error="boom: x",
        after=[("echo", b"still here", b"still here")],
    ),
    _case("nonzero", "kitchen", "nonzero", b"", error=SDK_NONZERO_MESSAGE),
    _case(
        "trap",
        "kitchen",
        "trap",
        b"",
        error=SDK_TRAP_PREFIX,
        cause="wasm trap: wasm `unreachable` instruction executed",
        after=[("echo", b"still here", b"still here")],
    ),
    _case("no_such_export", "kitchen", "nosuch", b"", error="Function not found: nosuch"),
    # --- kitchen: config --------------------------------------------------------
    _case(
        "config",
        "kitchen",
        "config",
        b"greeting",
        config={"greeting": "hello", "other": "x"},
        expected=b"hello",
    ),
    _case(
        "config_utf8",
        "kitchen",
        "config",
        "cl\u00e9".encode(),
        config={"cl\u00e9": "v\u00e4rde"},
        expected="v\u00e4rde".encode(),
    ),
    _case("config_missing", "kitchen", "config", b"nope", config={"a": "1"}, error="missing"),
    _case("config_none", "kitchen", "config", b"a", error="missing"),
    _case(
        "config_empty_value", "kitchen", "config", b"blank", config={"blank": ""}, error="missing"
    ),
    # --- kitchen: vars ------------------------------------------------------------
    _case("var_set", "kitchen", "vars", b"k=v", expected=b"ok"),
    _case("var_unset", "kitchen", "vars", b"k", expected=b"<none>"),
    _case("var_get", "kitchen", "vars", b"k", before=[("vars", b"k=v")], expected=b"v"),
    _case(
        "var_overwrite",
        "kitchen",
        "vars",
        b"k",
        before=[("vars", b"k=1"), ("vars", b"k=22")],
        expected=b"22",
    ),
    _case(
        "var_remove",
        "kitchen",
        "vars",
        b"k",
        before=[("vars", b"k=v"), ("vars", b"k=")],
        expected=b"<none>",
    ),
    _case(
        "var_value_with_equals",
        "kitchen",
        "vars",
        b"k",
        before=[("vars", b"k=a=b")],
        expected=b"a=b",
    ),
    _case(
        "var_survives_failures",
        "kitchen",
        "vars",
        b"k",
        manifest={"timeout_ms": 200},
        before=[("vars", b"k=v"), ("fail", b"x"), ("nonzero", b""), ("trap", b""), ("spin", b"")],
        expected=b"v",
    ),
    # max_var_bytes 0 disables var_set (var_get still works: nothing is set).
    _case(
        "var_store_disabled",
        "kitchen",
        "vars",
        b"k=v",
        manifest={"memory": {"max_var_bytes": 0}},
        error=SDK_TRAP_PREFIX,
        cause="Vars are disabled by this host",
        after=[("vars", b"k", b"<none>")],
    ),
    # Extism counts 48 bytes per var (two Rust String/Vec headers) plus the
    # key and value lengths, old values included, and refuses a store over
    # max_var_bytes: 48 + 1 + 15 = 64 fits, 48 + 1 + 16 = 65 does not.
    _case(
        "var_store_fits_limit",
        "kitchen",
        "vars",
        b"k=" + b"x" * 15,
        manifest={"memory": {"max_var_bytes": 64}},
        expected=b"ok",
    ),
    _case(
        "var_store_over_limit",
        "kitchen",
        "vars",
        b"k=" + b"x" * 16,
        manifest={"memory": {"max_var_bytes": 64}},
        error=SDK_TRAP_PREFIX,
        cause="Variable store is full",
    ),
    _case(
        "var_store_counts_old_value",
        "kitchen",
        "vars",
        b"k=1",
        manifest={"memory": {"max_var_bytes": 64}},
        before=[("vars", b"k=123")],
        error=SDK_TRAP_PREFIX,
        cause="Variable store is full",
        after=[("vars", b"k", b"123")],
    ),
    # --- kitchen: plug-in memory persists, logging ---------------------------
    _case(
        "counter_persists",
        "kitchen",
        "counter",
        b"",
        manifest={"timeout_ms": 200},
        before=[("counter", b""), ("trap", b""), ("counter", b""), ("spin", b"")],
        expected=b"3",
    ),
    # get_log_level is INT32_MAX (logging off) unless the SDK's logging is set
    # up (extism.set_log_file / set_log_custom, process-wide).
    _case("log", "kitchen", "log", b"hello from the plug-in", expected=b"2147483647"),
    # --- kitchen: timeouts ----------------------------------------------------------
    _case(
        "spin_timeout",
        "kitchen",
        "spin",
        b"",
        manifest={"timeout_ms": 200},
        error="timeout",
        after=[("echo", b"alive", b"alive"), ("counter", b"", b"1")],
    ),
    _case(
        "timeout_every_call",
        "kitchen",
        "spin",
        b"",
        manifest={"timeout_ms": 100},
        repeat=2,
        error="timeout",
    ),
    _case(
        "timeout_not_hit",
        "kitchen",
        "echo",
        b"quick",
        manifest={"timeout_ms": 5000},
        expected=b"quick",
    ),
    # --- kitchen: memory limits and leaks -------------------------------------------
    _case("alloc_many", "kitchen", "alloc_many", b"", repeat=100, expected=b"ok"),
    # With max_pages 4 (256 KiB for the plug-in's memory, 2 pages, and the
    # kernel's together) a leak of 160 kB a call would run out at once.
    _case(
        "alloc_many_small_memory",
        "kitchen",
        "alloc_many",
        b"",
        manifest={"memory": {"max_pages": 4}},
        repeat=100,
        expected=b"ok",
    ),
    _case(
        "max_pages_input_too_big",
        "kitchen",
        "echo",
        b"x" * MiB,
        manifest={"memory": {"max_pages": 4}},
        error="failed to allocate extism memory",
        after=[("echo", b"small", b"small")],
    ),
    # The kernel's alloc traps with "oom" when its memory cannot grow (it does
    # not return 0 to the plug-in).
    _case(
        "max_pages_output_too_big",
        "kitchen",
        "big",
        b"x" * 1000,
        manifest={"memory": {"max_pages": 4}},
        error="oom",
        after=[("big", b"ab", b"ab" * 1000)],
    ),
    _case(
        "max_pages_below_module_minimum",
        "kitchen",
        "echo",
        b"x",
        manifest={"memory": {"max_pages": 1}},
        error="oom",
    ),
    # --- loading ----------------------------------------------------------------------
    _case(
        "hash_mismatch",
        "kitchen",
        "echo",
        wasm_entry={"hash": "0" * 64},
        load_error="Hash mismatch, found ",
    ),
    _case(
        "missing_host_function",
        "kitchen_host",
        "host_reverse",
        load_error="unknown import: `extism:host/user::reverse` has not been defined",
    ),
    # The SDK rejects a manifest with an unknown key: it is then read as wasm.
    _case(
        "unknown_manifest_key",
        "kitchen",
        "echo",
        manifest={"bogus": 1},
        load_error="Unknown manifest format",
    ),
    # --- kitchen_host: a host function from extism:host/user ------------------
    _case(
        "host_reverse",
        "kitchen_host",
        "host_reverse",
        b"hello",
        host_functions=["reverse"],
        expected=b"olleh",
    ),
    _case(
        "host_reverse_empty",
        "kitchen_host",
        "host_reverse",
        b"",
        host_functions=["reverse"],
        expected=b"",
    ),
    _case(
        "host_reverse_large",
        "kitchen_host",
        "host_reverse",
        LARGE,
        host_functions=["reverse"],
        expected=LARGE[::-1],
    ),
    # --- kitchen_http: http_request against reference_http_server() -----------------
    _case(
        "http_get",
        "kitchen_http",
        "http_get",
        BASE_URL + b"/hello",
        manifest=ALLOW_LOCAL,
        expected=b"200\nhello from http.server",
    ),
    _case(
        "http_get_404",
        "kitchen_http",
        "http_get",
        BASE_URL + b"/missing",
        manifest=ALLOW_LOCAL,
        expected=b"404\nnot found: /missing",
    ),
    _case(
        "http_get_no_body",
        "kitchen_http",
        "http_get",
        BASE_URL + b"/empty",
        manifest=ALLOW_LOCAL,
        expected=b"204\n",
    ),
    _case(
        "http_allowed_hosts_glob",
        "kitchen_http",
        "http_get",
        BASE_URL + b"/hello",
        manifest={"allowed_hosts": ["127.0.0.*"]},
        expected=b"200\nhello from http.server",
    ),
    _case(
        "http_denied_by_default",
        "kitchen_http",
        "http_get",
        BASE_URL + b"/hello",
        error=SDK_TRAP_PREFIX,
        cause="HTTP request to {base_url}/hello is not allowed",
    ),
    # allowed_hosts matches the URL's host as written, not its address.
    _case(
        "http_denied_other_name",
        "kitchen_http",
        "http_get",
        b"http://localhost:9/hello",
        manifest=ALLOW_LOCAL,
        error=SDK_TRAP_PREFIX,
        cause="HTTP request to http://localhost:9/hello is not allowed",
    ),
    _case(
        "http_response_too_big",
        "kitchen_http",
        "http_get",
        BASE_URL + b"/hello",
        manifest={**ALLOW_LOCAL, "memory": {"max_http_response_bytes": 5}},
        error=SDK_TRAP_PREFIX,
        cause="HTTP response exceeds the configured maximum number of bytes: 5",
    ),
]

_ids = [case["id"] for case in REFERENCE_CASES]
assert len(_ids) == len(set(_ids)), "duplicate case ids"


# --- helpers, for this test and for Orchestra's ---------------------------------------


def load_build_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("examples_build", BUILD_SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_reference_plugins(out_dir: Path) -> dict[str, Path]:
    """Build examples/plugins/extism/*.c into *out_dir*/extism; {name: path}."""
    build = load_build_script()
    plugins: dict[str, Path] = build.build_extism_examples(Path(out_dir), log=None)
    return plugins


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = HTTP_ROUTES.get(self.path, (404, f"not found: {self.path}".encode()))
        self.send_response(status)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def reference_http_server() -> Iterator[str]:
    """Serve :data:`HTTP_ROUTES` on 127.0.0.1; yields ``http://127.0.0.1:PORT``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def resolve(case: dict[str, Any], base_url: str) -> dict[str, Any]:
    """A copy of *case* with :data:`BASE_URL` replaced by *base_url*."""
    resolved = copy.deepcopy(case)
    resolved["input"] = case["input"].replace(BASE_URL, base_url.encode())
    if case["cause"] is not None:
        resolved["cause"] = case["cause"].replace(BASE_URL.decode(), base_url)
    return resolved


# --- running a case with the Extism SDK ---------------------------------------------

_sdk_host_functions: dict[str, extism.Function] = {}


def sdk_host_function(name: str) -> extism.Function:
    """The Extism SDK host function for HOST_FUNCTIONS[name], made once.

    (``extism.host_fn`` appends to a process-wide registry, which
    ``extism.Plugin`` uses by default: we always pass ``functions``.)
    """
    if name not in _sdk_host_functions:
        impl = HOST_FUNCTIONS[name]

        def call(data: bytes) -> bytes:
            return impl(data)

        _sdk_host_functions[name] = extism.host_fn(name=name, namespace="extism:host/user")(call)
    return _sdk_host_functions[name]


def sdk_manifest(case: dict[str, Any], plugins: dict[str, Path]) -> dict[str, Any]:
    manifest: dict[str, Any] = {
        "wasm": [{"path": str(plugins[case["plugin"]]), **case["wasm_entry"]}],
        **case["manifest"],
    }
    if case["config"]:
        manifest["config"] = case["config"]
    return manifest


def sdk_plugin(case: dict[str, Any], plugins: dict[str, Path]) -> extism.Plugin:
    functions = [sdk_host_function(name) for name in case["host_functions"]]
    return extism.Plugin(sdk_manifest(case, plugins), wasi=True, functions=functions)


def sdk_call(plugin: extism.Plugin, export: str, data: bytes) -> tuple[str, bytes | str]:
    """("ok", output) or ("error", message)."""
    try:
        return "ok", plugin.call(export, data)
    except extism.Error as exc:
        return "error", str(exc)


# --- the tests ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def plugins(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return build_reference_plugins(tmp_path_factory.mktemp("extism-plugins"))


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with reference_http_server() as url:
        yield url


def test_plugins_built(plugins: dict[str, Path]) -> None:
    assert set(plugins) == {"count_vowels", "kitchen", "kitchen_host", "kitchen_http"}
    assert {case["plugin"] for case in REFERENCE_CASES} == set(plugins)
    for path in plugins.values():
        assert path.parent.name == "extism"
        assert path.read_bytes()[:4] == b"\0asm"


@pytest.mark.parametrize("case", REFERENCE_CASES, ids=_ids)
def test_reference_case(case: dict[str, Any], plugins: dict[str, Path], base_url: str) -> None:
    case = resolve(case, base_url)
    if case["load_error"] is not None:
        with pytest.raises(extism.Error) as info:
            sdk_plugin(case, plugins)
        assert case["load_error"] in str(info.value)
        return

    with sdk_plugin(case, plugins) as plugin:
        for export, data in case["before"]:
            sdk_call(plugin, export, data)
        for _ in range(case["repeat"]):
            kind, result = sdk_call(plugin, case["export"], case["input"])
            if case["error"] is None:
                assert (kind, result) == ("ok", case["expected"])
            else:
                assert kind == "error", result
                assert isinstance(result, str)
                assert case["error"] in result
        for export, data, expected in case["after"]:
            assert sdk_call(plugin, export, data) == ("ok", expected)


def test_exact_sdk_messages(plugins: dict[str, Path]) -> None:
    plugin = extism.Plugin({"wasm": [{"path": str(plugins["kitchen"])}]}, wasi=True, functions=[])
    assert sdk_call(plugin, "fail", b"x") == ("error", SDK_FAIL_MESSAGE)
    assert sdk_call(plugin, "nonzero", b"") == ("error", SDK_NONZERO_MESSAGE)
    kind, message = sdk_call(plugin, "trap", b"")
    assert kind == "error"
    assert isinstance(message, str) and message.startswith(SDK_TRAP_PREFIX)


def test_timeout_is_prompt(plugins: dict[str, Path]) -> None:
    manifest = {"wasm": [{"path": str(plugins["kitchen"])}], "timeout_ms": 300}
    plugin = extism.Plugin(manifest, wasi=True, functions=[])
    start = time.monotonic()
    assert sdk_call(plugin, "spin", b"") == ("error", "timeout")
    assert 0.25 < time.monotonic() - start < 5
    assert sdk_call(plugin, "echo", b"after") == ("ok", b"after")


def test_plugins_need_no_wasi(plugins: dict[str, Path]) -> None:
    """Our plug-ins import nothing from WASI: they also run with wasi=False."""
    manifest = {"wasm": [{"path": str(plugins["count_vowels"])}]}
    plugin = extism.Plugin(manifest, wasi=False, functions=[])
    assert plugin.call("count_vowels", HELLO) == _vowels_json(3, 3)


# The cause of a trap is not in the SDK's message, only in its log: run each
# such case in a child process with the SDK's log on stderr.
_CAUSE_CASES = [case for case in REFERENCE_CASES if case["cause"] is not None]

_CHILD = """
import json, sys
sys.path.insert(0, sys.argv[1])
import extism
from pathlib import Path
from tests.integration import test_extism_sdk_reference as ref
extism.set_log_file("stderr", "error")
case = next(c for c in ref.REFERENCE_CASES if c["id"] == sys.argv[2])
plugins = {k: Path(v) for k, v in json.loads(sys.argv[3]).items()}
with ref.reference_http_server() as base_url:
    case = ref.resolve(case, base_url)
    plugin = ref.sdk_plugin(case, plugins)
    for export, data in case["before"]:
        ref.sdk_call(plugin, export, data)
    print(json.dumps([base_url, ref.sdk_call(plugin, case["export"], case["input"])]))
"""


@pytest.mark.parametrize("case", _CAUSE_CASES, ids=[case["id"] for case in _CAUSE_CASES])
def test_reference_cause_is_logged(case: dict[str, Any], plugins: dict[str, Path]) -> None:
    paths = json.dumps({name: str(path) for name, path in plugins.items()})
    proc = subprocess.run(
        [sys.executable, "-c", _CHILD, str(REPO), case["id"], paths],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    base_url, (kind, message) = json.loads(proc.stdout.strip().splitlines()[-1])
    assert kind == "error"
    assert case["error"] in message
    cause = resolve(case, base_url)["cause"]
    assert f"Caused by:\n    {cause}" in proc.stderr, proc.stderr[-4000:]
