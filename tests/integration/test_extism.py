"""The extism ABI through real workers: calls, errors, logs, host functions,
mocks, manifests, timeouts. (Parity with the Extism SDK on C plug-ins built by
our own PDK header lives in test_extism_parity.py.)"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest
import structlog

from orchestra import (
    Config,
    MissingHostPlugin,
    Orchestra,
    PluginError,
    PluginLoadError,
    PluginTimeout,
)
from orchestra.config import HostPluginsSpec, Limits, PluginSpec
from orchestra.testing import EXTISM_KITCHEN, RING_PROBE
from orchestra.wire._shm import DEFAULT_RING

from ..conftest import REPO

pytestmark = pytest.mark.anyio
WatFile = Callable[[str, str], Path]
NewOrchestra = Callable[..., Orchestra]  # the new_orchestra fixture: local, then ray

HOST_PLUGIN = '''
"""Test host plug-in: extism:host/user with bytes functions."""
from orchestra.hostplugins import HostModule

PLUGIN_NAME = "test_user"
user = HostModule("extism:host/user")

@user.function
def reverse(data: bytes) -> bytes:
    if data == b"explode":
        raise ValueError("refusing to reverse that")
    return data[::-1]
'''


@pytest.fixture
def host_plugin_dir(tmp_path: Path) -> Path:
    d = tmp_path / "hostplugins"
    d.mkdir()
    (d / "test_user.py").write_text(HOST_PLUGIN)
    return d


def kitchen(wat_file: WatFile, **kw: object) -> PluginSpec:
    return PluginSpec(source=str(wat_file("kitchen", EXTISM_KITCHEN)), **kw)  # type: ignore[arg-type]


async def test_calls_errors_and_return_codes(
    wat_file: WatFile, host_plugin_dir: Path, new_orchestra: NewOrchestra
) -> None:
    """Output is the output_set block; error_set text and non-zero returns are
    PluginError with Extism's messages; the instance keeps serving."""
    cfg = Config(
        plugins={"k": kitchen(wat_file, host_modules=["extism:host/user"])},
        host_plugins=HostPluginsSpec(paths=[str(host_plugin_dir)]),
    )
    async with new_orchestra(cfg) as orch:
        assert await orch.call("k", "upper", b"hello, world") == b"HELLO, WORLD"
        assert await orch.call("k", "upper", b"") == b""
        with pytest.raises(PluginError) as info:
            await orch.call("k", "fail", b"")
        assert info.value.message == "boom" and info.value.export == "fail"
        with pytest.raises(PluginError, match=r"^k\.rc instance 0: returned non-zero exit code 7$"):
            await orch.call("k", "rc", b"")
        big = os.urandom(3 * 1024 * 1024).replace(b"a", b"b")
        assert await orch.call("k", "upper", big) == big.upper()
        assert orch.stats()["k"]["abi"] == "extism"


async def test_python_host_function_serves_extism_user_import(
    wat_file: WatFile, host_plugin_dir: Path, new_orchestra: NewOrchestra
) -> None:
    """An extism:host/user import is served by a granted Python host plug-in, bytes in
    and out through kernel blocks; its exception becomes HostFunctionError."""
    from orchestra import HostFunctionError

    cfg = Config(
        plugins={"k": kitchen(wat_file, host_modules=["extism:host/user"])},
        host_plugins=HostPluginsSpec(paths=[str(host_plugin_dir)]),
    )
    async with new_orchestra(cfg) as orch:
        assert await orch.call("k", "reverse_via_host", b"stressed") == b"desserts"
        with pytest.raises(HostFunctionError, match="raised ValueError: refusing to reverse that"):
            await orch.call("k", "reverse_via_host", b"explode")
        assert await orch.call("k", "reverse_via_host", b"ok") == b"ko"


async def test_granted_module_without_plugin_is_mocked(
    wat_file: WatFile, tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    """A granted module no host plug-in provides instantiates with mocks; calling one
    fails with MissingHostPlugin naming the function and the paths searched."""
    cfg = Config(
        plugins={"k": kitchen(wat_file, host_modules=["extism:host/user"])},
        host_plugins=HostPluginsSpec(paths=[str(tmp_path / "nothing-here")]),
    )
    async with new_orchestra(cfg) as orch:
        assert await orch.call("k", "upper", b"still works") == b"STILL WORKS"
        with pytest.raises(MissingHostPlugin) as info:
            await orch.call("k", "reverse_via_host", b"x")
        assert "extism:host/user.reverse is mocked" in info.value.message
        assert str(tmp_path / "nothing-here") in info.value.message


async def test_ungranted_import_is_a_load_error(
    wat_file: WatFile, host_plugin_dir: Path, new_orchestra: NewOrchestra
) -> None:
    cfg = Config(
        plugins={"k": kitchen(wat_file)},
        host_plugins=HostPluginsSpec(paths=[str(host_plugin_dir)]),
    )
    with pytest.raises(
        PluginLoadError,
        match=r"import 'extism:host/user.reverse' is not provided; grant a host module \(host_modules: \[extism:host/user\]\)",
    ):
        async with new_orchestra(cfg):
            pass


async def test_unknown_kernel_import_is_a_load_error(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    src = wat_file(
        "odd",
        '(module (import "extism:host/env" "teleport" (func (param i64))) (func (export "run") (result i32) i32.const 0))',
    )
    with pytest.raises(
        PluginLoadError, match=r"invalid function import extism:host/env.teleport.*try updating"
    ):
        async with new_orchestra(Config(plugins={"odd": PluginSpec(source=str(src))})):
            pass


async def test_timeout_stops_an_infinite_loop_and_instance_recovers(
    wat_file: WatFile, tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    cfg = Config(
        plugins={
            "k": kitchen(wat_file, host_modules=["extism:host/user"], limits=Limits(timeout=0.2))
        }
    )  # type: ignore[arg-type]
    async with new_orchestra(cfg) as orch:
        with anyio.fail_after(5), pytest.raises(PluginTimeout):
            await orch.call("k", "spin", b"")
        assert await orch.call("k", "upper", b"after") == b"AFTER"


async def test_plugin_logs_become_structlog_events(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """log_info lines arrive as 'plugin_log' events with plugin, instance and level;
    below the level they are filtered in the worker."""
    cfg = Config(plugins={"k": kitchen(wat_file, host_modules=["extism:host/user"])})
    structlog.reset_defaults()  # an earlier Orchestra may have installed a level filter
    with structlog.testing.capture_logs() as logs:
        async with new_orchestra(cfg, log_level="info") as orch:
            await orch.call("k", "upper", b"shout me")
    events = [e for e in logs if e["event"] == "plugin_log"]
    assert events == [
        {
            "event": "plugin_log",
            "log_level": "info",
            "plugin": "k",
            "instance": 0,
            "pid": events[0]["pid"],
            "message": "SHOUT ME",
        }
    ]
    with structlog.testing.capture_logs() as logs:
        async with new_orchestra(cfg, log_level="warning") as orch:
            await orch.call("k", "upper", b"quiet")
    assert [e for e in logs if e["event"] == "plugin_log"] == []


def _manifest(tmp_path: Path, wasm_entries: list[dict[str, object]], **extra: object) -> Path:
    path = tmp_path / "manifest.json"
    path.write_text(json.dumps({"wasm": wasm_entries, **extra}))
    return path


async def test_manifest_path_data_and_hash(
    wat_file: WatFile, tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    """A manifest is a source: path or base64 data; a matching sha256 loads."""
    import wasmtime

    wasm = wasmtime.wat2wasm(EXTISM_KITCHEN)
    (tmp_path / "k.wasm").write_bytes(wasm)
    digest = hashlib.sha256(wasm).hexdigest()
    by_path = _manifest(tmp_path, [{"path": "k.wasm", "hash": digest}], config={"a": "b"})
    async with new_orchestra(
        Config(plugins={"k": PluginSpec(source=str(by_path), host_modules=["extism:host/user"])})
    ) as orch:
        assert await orch.call("k", "upper", b"m") == b"M"
    data = tmp_path / "d"
    data.mkdir()
    by_data = _manifest(data, [{"data": base64.b64encode(wasm).decode()}])
    async with new_orchestra(
        Config(plugins={"k": PluginSpec(source=str(by_data), host_modules=["extism:host/user"])})
    ) as orch:
        assert await orch.call("k", "upper", b"d") == b"D"


async def test_manifest_hash_mismatch_refuses_to_load(
    tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    import wasmtime

    (tmp_path / "k.wasm").write_bytes(wasmtime.wat2wasm(EXTISM_KITCHEN))
    bad = _manifest(tmp_path, [{"path": "k.wasm", "hash": "0" * 64}])
    with pytest.raises(
        PluginLoadError, match=f"hash mismatch, found [0-9a-f]{{64}} expected {'0' * 64}"
    ):
        async with new_orchestra(Config(plugins={"k": PluginSpec(source=str(bad))})):
            pass


async def test_manifest_unknown_key_is_a_config_error(
    tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    bad = _manifest(tmp_path, [{"path": "k.wasm"}], memroy={"max_pages": 1})
    with pytest.raises(PluginLoadError, match="unknown field 'memroy'"):
        async with new_orchestra(Config(plugins={"k": PluginSpec(source=str(bad))})):
            pass


async def test_manifest_timeout_ms_applies(
    wat_file: WatFile, tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    import wasmtime

    (tmp_path / "k.wasm").write_bytes(wasmtime.wat2wasm(EXTISM_KITCHEN))
    m = _manifest(tmp_path, [{"path": "k.wasm"}], timeout_ms=150)
    async with new_orchestra(
        Config(plugins={"k": PluginSpec(source=str(m), host_modules=["extism:host/user"])})
    ) as orch:
        with anyio.fail_after(5), pytest.raises(PluginTimeout, match=r"timeout of 0\.15s"):
            await orch.call("k", "spin", b"")


def test_cli_call_with_manifest_and_host_plugin(tmp_path: Path, host_plugin_dir: Path) -> None:
    """`orchestra call manifest.json EXPORT --host-plugin DIR` like `extism call`."""
    # Local only: the CLI in a subprocess, on its default backend.
    import wasmtime

    (tmp_path / "k.wasm").write_bytes(wasmtime.wat2wasm(EXTISM_KITCHEN))
    m = _manifest(tmp_path, [{"path": "k.wasm"}])
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestra",
            "call",
            str(m),
            "reverse_via_host",
            "--input",
            "abc",
            "--host-plugin",
            str(host_plugin_dir),
        ],
        capture_output=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        timeout=60,
    )
    assert (proc.returncode, proc.stdout) == (0, b"cba"), proc.stderr.decode()


LIB = '(module (func (export "triple") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 3))))'
MAIN = """(module
  (import "mathlib" "triple" (func $triple (param i32) (result i32)))
  (import "extism:host/env" "input_length" (func $len (result i64)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store (param i64 i32)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  ;; outputs one byte: '0' + triple(input length)
  (func (export "run") (result i32) (local $h i64)
    (local.set $h (call $alloc (i64.const 1)))
    (call $store (local.get $h)
      (i32.add (i32.const 48) (call $triple (i32.wrap_i64 (call $len)))))
    (call $out (local.get $h) (i64.const 1))
    (i32.const 0)))"""


async def test_manifest_links_several_modules_by_name(
    tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    """A manifest's non-main modules are linked under their names for main's imports."""
    import wasmtime

    (tmp_path / "lib.wasm").write_bytes(wasmtime.wat2wasm(LIB))
    (tmp_path / "main.wasm").write_bytes(wasmtime.wat2wasm(MAIN))
    m = _manifest(
        tmp_path, [{"path": "lib.wasm", "name": "mathlib"}, {"path": "main.wasm", "name": "main"}]
    )
    async with new_orchestra(Config(plugins={"m": PluginSpec(source=str(m))})) as orch:
        assert await orch.call("m", "run", b"abc") == b"9"
    dup = _manifest(
        tmp_path, [{"path": "lib.wasm", "name": "x"}, {"path": "main.wasm", "name": "x"}]
    )
    with pytest.raises(PluginLoadError, match="duplicate module name 'x'"):
        async with new_orchestra(Config(plugins={"m": PluginSpec(source=str(dup))})):
            pass


async def test_manifest_url_needs_an_allowed_host(
    tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    """A wasm url is fetched only from an allowed host (here: refused before any I/O)."""
    m = _manifest(tmp_path, [{"url": "http://example.invalid/plugin.wasm"}])
    with pytest.raises(PluginLoadError, match=r"host 'example\.invalid' is not in allowed_hosts"):
        async with new_orchestra(Config(plugins={"m": PluginSpec(source=str(m))})):
            pass


async def test_large_payloads_many_in_flight(wat_file: WatFile) -> None:
    """Large inputs and outputs go through the shared rings; more than the rings hold
    wait for space instead of going through the socket; every caller still gets
    exactly its own answer."""
    # Local only: the shared-memory rings are the local backend's (test_ray.py has Ray's).
    cfg = Config(plugins={"k": kitchen(wat_file, host_modules=["extism:host/user"], instances=2)})
    async with Orchestra(cfg) as orch:
        channels = [w._channel for w in orch.supervisor.pools["k"].workers if w is not None]
        sent = sum(c.bytes_sent for c in channels)
        results: dict[int, bytes] = {}

        async def one(i: int) -> None:
            data = bytes([97 + i % 26]) * (512 * 1024 + i)
            results[i] = await orch.call("k", "upper", data)

        async with anyio.create_task_group() as tg:
            for i in range(96):
                tg.start_soon(one, i)
        # 48 MiB in, 48 MiB out, more than the rings (32 MiB each way) hold at once:
        # yet the sockets carried frames only.
        assert sum(c.bytes_sent for c in channels) - sent < 96 * 1024
    for i in range(96):
        assert results[i] == bytes([65 + i % 26]) * (512 * 1024 + i)


async def test_growing_payloads_keep_using_the_rings(wat_file: WatFile) -> None:
    """Payloads larger than the ones before still go through the rings (a small one
    used to leave the ring refusing every larger payload for ever after), and calls
    that wait for ring space are finished before a shutdown."""
    # Local only: the shared-memory rings are the local backend's.
    cfg = Config(plugins={"k": kitchen(wat_file, host_modules=["extism:host/user"])})
    async with Orchestra(cfg) as orch:
        worker = orch.supervisor.pools["k"].workers[0]
        assert worker is not None
        channel = worker._channel
        for size in (64 * 1024, 1 << 20, 3 << 20, 9 << 20, 20 << 20):
            sent = channel.bytes_sent
            data = b"q" * size
            assert await orch.call("k", "upper", data) == b"Q" * size
            assert channel.bytes_sent - sent < 1024, f"{size} bytes went through the socket"
        # 4 x 20 MiB: the input ring (32 MiB) holds one at a time; stop the worker
        # while the others wait for space: it finishes all of them, then exits.
        results: list[bytes] = []

        async def one() -> None:
            results.append(await orch.call("k", "upper", b"z" * (20 << 20)))

        async with anyio.create_task_group() as tg:
            for _ in range(4):
                tg.start_soon(one)
            while worker.in_flight < 4:
                await anyio.sleep(0.001)
            assert len(worker._held) >= 2
            worker.request_stop()
        assert results == [b"Z" * (20 << 20)] * 4


async def test_large_inputs_are_read_in_place_from_the_ring(wat_file: WatFile) -> None:
    """A large input reaches the plug-in where the supervisor wrote it (the worker
    maps its input ring into the kernel's memory): no copy into the store. With
    limits.process_memory the worker cannot map it and copies, with the same answers."""
    # Local only: the shared-memory rings are the local backend's.
    probe = str(wat_file("probe", RING_PROBE))
    cfg = Config(
        plugins={
            "mapped": PluginSpec(source=probe),
            "copied": PluginSpec(source=probe, limits=Limits(process_memory="2GiB")),
        }
    )
    async with Orchestra(cfg) as orch:
        for size in (64 * 1024, 1 << 20, 5 << 20):
            data = os.urandom(size)
            for name in ("mapped", "copied"):
                offset, length, _ = struct.unpack("<QQQ", await orch.call(name, "where", data))
                assert length == size
                in_ring = (1 << 32) - DEFAULT_RING <= offset < 1 << 32
                assert in_ring == (name == "mapped"), (name, size, offset)
                for export in ("copy_loads", "copy_input_loads", "echo"):
                    assert await orch.call(name, export, data) == data
        # Many in flight: each call reads its own span of the ring.
        datas = [os.urandom((1 << 20) + i) for i in range(24)]
        got: dict[int, bytes] = {}

        async def one(i: int) -> None:
            got[i] = await orch.call("mapped", "copy_input_loads", datas[i])

        async with anyio.create_task_group() as tg:
            for i in range(len(datas)):
                tg.start_soon(one, i)
        assert [got[i] for i in range(len(datas))] == datas


async def test_ring_inputs_behind_a_full_socket_still_arrive(
    wat_file: WatFile, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Large inputs mixed with many inline ones, through small socket buffers (the
    stock 212,992 bytes): every call is answered. A ring input copied only after its
    frame was written deadlocked the writer task (trio): the worker waited for the
    copy and stopped reading, the write waited for the worker to read."""
    # Local only: the rings and the socket buffers are the local backend's.
    import orchestra.backends._socket as sockets

    monkeypatch.setattr(sockets, "SOCK_BUF", 212_992)
    probe = str(wat_file("probe", RING_PROBE))
    cfg = Config(plugins={"p": PluginSpec(source=probe, limits=Limits(timeout="5s"))})
    async with Orchestra(cfg) as orch:
        results: dict[int, bool] = {}

        async def one(i: int) -> None:
            data = bytes([i % 251]) * (100_000 if i % 10 == 0 else 60_000)
            results[i] = await orch.call("p", "echo", data) == data

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for i in range(200):
                    tg.start_soon(one, i)
    assert results == dict.fromkeys(range(200), True)


FAULTS_PER_CALL = """
import os, resource, sys, anyio
from orchestra import Orchestra, Config
from orchestra.config import PluginSpec

async def main(src):
    async with Orchestra(Config(plugins={"p": PluginSpec(source=src)})) as orch:
        data = os.urandom(1 << 20)

        async def batch():
            async with anyio.create_task_group() as tg:
                for _ in range(8):
                    tg.start_soon(orch.call, "p", "echo", data)

        for _ in range(5):
            await batch()
        before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        for _ in range(20):
            await batch()
        print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 160)

anyio.run(main, sys.argv[1])
"""


@pytest.mark.skipif(sys.platform != "linux", reason="glibc's mallopt")
def test_large_outputs_do_not_fault_in_fresh_pages(wat_file: WatFile) -> None:
    """1 MiB outputs, 8 in flight: each becomes a new bytes in the supervisor. With
    glibc's default thresholds its 256 pages are faulted in afresh on every call
    (0.7 ms per MiB); the supervisor tunes the allocator so they are reused
    (wire/_malloc.py). ORCHESTRA_MALLOC_TUNING=0 shows the default."""
    # Local only: the supervisor process is this subprocess.
    src = str(wat_file("probe", RING_PROBE))

    def faults(**env: str) -> float:
        out = subprocess.run(
            [sys.executable, "-c", FAULTS_PER_CALL, src],
            env={**os.environ, "PYTHONPATH": str(REPO), **env},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
        return float(out.strip())

    tuned, default = faults(), faults(ORCHESTRA_MALLOC_TUNING="0")
    assert tuned < 16, f"{tuned:.1f} page faults per 1 MiB output"
    assert default > 4 * tuned + 16  # the measurement sees the difference at all


async def test_http_redirect_to_a_disallowed_host_is_refused(
    tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    """allowed_hosts holds through redirects: 127.0.0.1 is allowed, the redirect
    target 'localhost' is not, so the request fails instead of leaking out."""
    import http.server
    import threading

    from orchestra import HostFunctionError

    from .test_extism_sdk_reference import build_reference_plugins

    plugins = build_reference_plugins(tmp_path / "build")

    class Redirect(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/ok":
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")
                return
            port = self.server.server_address[1]
            self.send_response(302)
            self.send_header("Location", f"http://localhost:{port}/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Redirect)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        cfg = Config(
            plugins={
                "h": PluginSpec(source=str(plugins["kitchen_http"]), allowed_hosts=["127.0.0.1"])
            }
        )
        async with new_orchestra(cfg) as orch:
            assert await orch.call("h", "http_get", f"{base}/ok".encode()) == b"200\nok"
            with pytest.raises(
                HostFunctionError, match=r"HTTP request to http://localhost:\d+/ok is not allowed"
            ):
                await orch.call("h", "http_get", f"{base}/redirect".encode())
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
