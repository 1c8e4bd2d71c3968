"""What an Extism plug-in may reach and load, through real workers: HTTP only to
http(s) URLs of allowed hosts (redirects included), a manifest that narrows the
config's grants and never widens them, and sources read with a size cap."""

from __future__ import annotations

import http.server
import json
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from orchestra import Config, HostFunctionError, Orchestra, PluginLoadError
from orchestra.config import Limits, PluginSpec, Size, WasiSpec

pytestmark = pytest.mark.anyio
WatFile = Callable[[str, str], Path]
NewOrchestra = Callable[..., Orchestra]

#: extism: ``get`` sends ``{"url": INPUT}`` to ``http_request`` and outputs the
#: response body.
FETCH = r"""(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "length" (func $length (param i64) (result i64)))
  (import "extism:host/env" "store_u8" (func $store_u8 (param i64 i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "extism:host/env" "http_request" (func $http_request (param i64 i64) (result i64)))
  (memory 1)
  (data (i32.const 0) "{\"url\":\"")
  (data (i32.const 8) "\"}")
  (func $put (param $at i64) (param $from i32) (param $n i32)
    (local $i i32)
    (block $d (loop $l
      (br_if $d (i32.ge_u (local.get $i) (local.get $n)))
      (call $store_u8 (i64.add (local.get $at) (i64.extend_i32_u (local.get $i)))
                      (i32.load8_u (i32.add (local.get $from) (local.get $i))))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $l))))
  (func (export "get") (result i32)
    (local $n i64) (local $req i64) (local $i i64) (local $resp i64)
    (local.set $n (call $input_length))
    (local.set $req (call $alloc (i64.add (local.get $n) (i64.const 10))))
    (call $put (local.get $req) (i32.const 0) (i32.const 8))
    (block $d (loop $l
      (br_if $d (i64.ge_u (local.get $i) (local.get $n)))
      (call $store_u8 (i64.add (local.get $req) (i64.add (local.get $i) (i64.const 8)))
                      (call $input_load_u8 (local.get $i)))
      (local.set $i (i64.add (local.get $i) (i64.const 1)))
      (br $l)))
    (call $put (i64.add (local.get $req) (i64.add (local.get $n) (i64.const 8)))
               (i32.const 8) (i32.const 2))
    (local.set $resp (call $http_request (local.get $req) (i64.const 0)))
    (call $output_set (local.get $resp) (call $length (local.get $resp)))
    (i32.const 0)))
"""


class _Routes(http.server.BaseHTTPRequestHandler):
    """``/hello`` answers; ``/to?URL`` redirects (302) to URL."""

    def do_GET(self) -> None:
        if self.path.startswith("/to?"):
            self.send_response(302)
            self.send_header("Location", self.path[len("/to?") :])
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        body = b"hello" if self.path == "/hello" else b"nothing here"
        self.send_response(200 if self.path == "/hello" else 404)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def port() -> Iterator[int]:
    """A loopback HTTP server (http.server in a thread); yields its port."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Routes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield int(server.server_address[1])
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def fetch_spec(wat_file: WatFile, **kw: object) -> PluginSpec:
    return PluginSpec(source=str(wat_file("fetch", FETCH)), **kw)  # type: ignore[arg-type]


def manifest(tmp_path: Path, wasm: Path, **keys: object) -> Path:
    path = tmp_path / "fetch.json"
    path.write_text(json.dumps({"wasm": [{"path": str(wasm)}], **keys}))
    return path


async def load_error(new_orchestra: NewOrchestra, spec: PluginSpec) -> str:
    """The message of the PluginLoadError that starting ``spec`` raises."""
    with pytest.raises(PluginLoadError) as info:
        async with new_orchestra(Config(plugins={"p": spec})):
            pass
    return info.value.message


async def denied(orch: Orchestra, url: str) -> str:
    """The message of the HostFunctionError that fetching ``url`` raises."""
    with pytest.raises(HostFunctionError) as info:
        await orch.call("f", "get", url.encode())
    return info.value.message


# --- http(s) only, redirects checked ----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "only http and https URLs may be fetched, not 'file'"),
        ("FILE:///etc/passwd", "only http and https URLs may be fetched, not 'file'"),
        ("data:text/plain,hi", "only http and https URLs may be fetched, not 'data'"),
        ("http:///etc/passwd", "the URL has no host"),
        (
            "http://x@127.0.0.1/",
            "the host part 'x@127.0.0.1' is not a plain host[:port] (no user info)",
        ),
    ],
)
async def test_only_http_urls_with_a_host_are_fetched(
    url: str, why: str, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """allowed_hosts ["*"] grants hosts, not files: a file:, data: or host-less URL
    is a HostFunctionError naming the scheme (the check once looked at the host
    name only, empty for file:, so "*" read any host file)."""
    cfg = Config(plugins={"f": fetch_spec(wat_file, allowed_hosts=["*"])})
    async with new_orchestra(cfg) as orch:
        assert await denied(orch, url) == f"HTTP request to {url} is not allowed: {why}"


async def test_redirects_are_checked_like_the_request(
    port: int, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """A redirect to file: (or to a host not allowed) is refused as the request
    itself would be, not followed and not returned as a 302 response."""
    base = f"http://127.0.0.1:{port}"
    cfg = Config(plugins={"f": fetch_spec(wat_file, allowed_hosts=["127.0.0.1"])})
    async with new_orchestra(cfg) as orch:
        assert await orch.call("f", "get", f"{base}/hello".encode()) == b"hello"
        assert await orch.call("f", "get", f"{base}/to?/hello".encode()) == b"hello"
        assert await denied(orch, f"{base}/to?file:///etc/passwd") == (
            "HTTP request to file:///etc/passwd is not allowed: "
            "only http and https URLs may be fetched, not 'file'"
        )
        other = f"http://localhost:{port}/hello"
        assert await denied(orch, f"{base}/to?{other}") == f"HTTP request to {other} is not allowed"


# --- a manifest narrows, never widens ---------------------------------------------------


async def test_manifest_cannot_grant_hosts_the_config_does_not(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """A plug-in's own manifest asking for allowed_hosts ["*"] when the config grants
    none is refused at load, naming the entry and where to grant it."""
    m = manifest(tmp_path, wat_file("fetch", FETCH), allowed_hosts=["*"])
    message = await load_error(new_orchestra, PluginSpec(source=str(m)))
    assert message == (
        f"{m}: allowed_hosts: '*' is not granted by the config (its allowed_hosts: none); "
        "a manifest may only narrow them: grant it in the YAML's allowed_hosts "
        "(or --allow-host *), or remove it from the manifest"
    )


async def test_manifest_narrows_the_config_hosts(
    port: int, tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """Config ["*"], manifest ["127.0.0.1"]: the plug-in gets 127.0.0.1 only (the
    grants were once the union, so "*" stayed)."""
    m = manifest(tmp_path, wat_file("fetch", FETCH), allowed_hosts=["127.0.0.1"])
    cfg = Config(plugins={"f": PluginSpec(source=str(m), allowed_hosts=["*"])})
    async with new_orchestra(cfg) as orch:
        assert await orch.call("f", "get", f"http://127.0.0.1:{port}/hello".encode()) == b"hello"
        other = f"http://localhost:{port}/hello"
        assert await denied(orch, other) == f"HTTP request to {other} is not allowed"


async def test_manifest_cannot_map_host_paths_the_config_does_not(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """A manifest's allowed_paths outside the config's wasi.allowed_paths (here:
    /etc, with /data granted) is refused at load."""
    data = tmp_path / "data"
    data.mkdir()
    m = manifest(tmp_path, wat_file("fetch", FETCH), allowed_paths={"/etc": "/etc"})
    spec = PluginSpec(source=str(m), wasi=WasiSpec(allowed_paths={str(data): "/data"}))
    message = await load_error(new_orchestra, spec)
    assert message.startswith(
        f"{m}: allowed_paths: '/etc' is not within a directory the config grants"
    )


# --- sources are read with a cap --------------------------------------------------------


async def test_dev_zero_and_fifo_sources_fail_fast(
    tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    """A manifest whose module is /dev/zero (it once drove a worker to 23.5 GB), or a
    FIFO as the source, is refused unread: PluginLoadError naming the file and the
    limit."""
    m = tmp_path / "zero.json"
    m.write_text(json.dumps({"wasm": [{"path": "/dev/zero"}]}))
    message = await load_error(new_orchestra, PluginSpec(source=str(m)))
    assert message == (
        "manifest wasm /dev/zero: not a regular file "
        "(a source must be a file within limits.source_size)"
    )

    fifo = tmp_path / "fifo.wasm"  # opening it would block until a writer comes
    os.mkfifo(fifo)
    message = await load_error(new_orchestra, PluginSpec(source=str(fifo)))
    assert message == (
        f"{fifo}: not a regular file (a source must be a file within limits.source_size)"
    )


async def test_sparse_source_over_the_cap_fails_fast(
    tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    """A 1 TiB sparse .wasm over limits.source_size (here 1 MiB) is refused unread,
    and so is a manifest larger than the cap."""
    sparse = tmp_path / "huge.wasm"
    with sparse.open("wb") as f:
        f.truncate(1 << 40)
    small = Limits(source_size=Size(1 << 20))
    spec = PluginSpec(source=str(sparse), limits=small)
    message = await load_error(new_orchestra, spec)
    assert message == f"{sparse}: 1024GiB, larger than limits.source_size (1MiB)"

    big = tmp_path / "big.json"
    text = json.dumps({"wasm": [{"data": "AAAA"}]})
    big.write_text(text + " " * ((2 << 20) - len(text)))  # 2 MiB exactly
    spec = PluginSpec(source=str(big), limits=small)
    message = await load_error(new_orchestra, spec)
    assert message == (
        f"{big}: cannot read the manifest: 2MiB, larger than limits.source_size (1MiB)"
    )


async def test_manifest_modules_share_one_cap(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """The manifest and its modules count together: the same module named many times
    over stops loading at the cap."""
    wasm = wat_file("fetch", FETCH)
    size = os.path.getsize(wasm)
    entries = [{"path": str(wasm), "name": f"m{i}"} for i in range(8)]
    m = tmp_path / "many.json"
    m.write_text(json.dumps({"wasm": entries}))
    cap = os.path.getsize(m) + 3 * size + size // 2
    cap += cap % 1024 == 0  # shown in bytes
    spec = PluginSpec(source=str(m), limits=Limits(source_size=Size(cap)))
    message = await load_error(new_orchestra, spec)
    assert message == (
        f"manifest wasm {wasm}: {size} bytes, larger than limits.source_size "
        f"({cap} bytes), with the manifest and the modules before it"
    )


# --- nothing of one call is left for the next ---------------------------------------------

#: extism, probing kernel memory across calls: ``echo`` (the input), ``fresh`` (a new
#: 64-byte block, unwritten), ``raw`` (64 bytes loaded with load_u64 from 144, where a
#: previous 128-byte input's second half was), ``stray`` (stores the input's first 8
#: bytes at 8192, far above the heap top) and ``at8192`` (the 8 bytes at 8192),
#: ``control`` (output_set over the control block), ``header`` (over the first header).
PROBE = r"""(module
  (import "extism:host/env" "input_offset" (func $input_offset (result i64)))
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_load_u64" (func $input_load_u64 (param i64) (result i64)))
  (import "extism:host/env" "alloc" (func $alloc (param i64) (result i64)))
  (import "extism:host/env" "load_u64" (func $load_u64 (param i64) (result i64)))
  (import "extism:host/env" "store_u64" (func $store_u64 (param i64 i64)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (func (export "echo") (result i32)
    (call $output_set (call $input_offset) (call $input_length))
    (i32.const 0))
  (func (export "fresh") (result i32)
    (call $output_set (call $alloc (i64.const 64)) (i64.const 64))
    (i32.const 0))
  (func (export "raw") (result i32)
    (local $h i64) (local $i i64)
    (local.set $h (call $alloc (i64.const 64)))
    (block $d (loop $l
      (br_if $d (i64.ge_u (local.get $i) (i64.const 64)))
      (call $store_u64 (i64.add (local.get $h) (local.get $i))
                       (call $load_u64 (i64.add (i64.const 144) (local.get $i))))
      (local.set $i (i64.add (local.get $i) (i64.const 8)))
      (br $l)))
    (call $output_set (local.get $h) (i64.const 64))
    (i32.const 0))
  (func (export "stray") (result i32)
    (call $store_u64 (i64.const 8192) (call $input_load_u64 (i64.const 0)))
    (i32.const 0))
  (func (export "at8192") (result i32)
    (local $h i64)
    (local.set $h (call $alloc (i64.const 8)))
    (call $store_u64 (local.get $h) (call $load_u64 (i64.const 8192)))
    (call $output_set (local.get $h) (i64.const 8))
    (i32.const 0))
  (func (export "control") (result i32)
    (call $output_set (i64.const 0) (i64.const 64))
    (i32.const 0))
  (func (export "header") (result i32)
    (call $output_set (i64.const 64) (i64.const 16))
    (i32.const 0)))
"""


async def test_a_call_never_sees_the_previous_callers_bytes(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """After a call with a secret input, the next call on the same instance finds
    zeros where the input was: in a fresh block, by raw loads at its known offset,
    and where the plug-in stored it above the heap top."""
    secret = bytes(range(1, 129))
    cfg = Config(plugins={"p": PluginSpec(source=str(wat_file("probe", PROBE)))})
    async with new_orchestra(cfg) as orch:
        assert await orch.call("p", "echo", secret) == secret
        assert await orch.call("p", "fresh", b"") == bytes(64)
        assert await orch.call("p", "echo", secret) == secret
        assert await orch.call("p", "raw", b"") == bytes(64)
        assert await orch.call("p", "stray", secret) == b""
        assert await orch.call("p", "at8192", b"") == bytes(8)
        # within one call, its own bytes are there (the probes do read memory)
        assert await orch.call("p", "raw", secret) == secret[64:]


async def test_output_cannot_be_the_kernels_control_block(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """output_set over the kernel's control block (input/output offsets, heap top,
    epoch) or the first block header is a HostFunctionError, not returned bytes."""
    cfg = Config(plugins={"p": PluginSpec(source=str(wat_file("probe", PROBE)))})
    async with new_orchestra(cfg) as orch:
        for export, span in (("control", "[0, +64)"), ("header", "[64, +16)")):
            with pytest.raises(HostFunctionError) as info:
                await orch.call("p", export, b"x")
            assert info.value.message == (
                f"output_set {span} points into the kernel's control block (blocks start at 80)"
            )
        assert await orch.call("p", "echo", b"still serving") == b"still serving"
