"""What only the Ray backend has, on a real local Ray cluster (2 CPUs, started once
per session): actor options from YAML, module shipping, a cluster that cannot place
an actor, several nodes. The behaviour both backends share (calls, the Extism ABI,
the fault model, routes, pipelines) is tested by the shared suites, each test once
per backend (``new_orchestra`` in conftest.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from orchestra import Config, Orchestra, PluginCrashed, PluginLoadError
from orchestra.config import (
    Duration,
    Limits,
    PluginSpec,
    RayActorOptions,
    RayBackendSpec,
    Size,
    load_config_text,
)
from orchestra.testing import ADD, FORWARD

from ..conftest import REPO

pytestmark = [pytest.mark.anyio, pytest.mark.ray]


@pytest.fixture(scope="module", params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Module-scoped here, so one Orchestra per event loop serves the module."""
    return str(request.param)


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("plugins")
    for name, text in {"add": ADD, "fwd": FORWARD}.items():
        (d / f"{name}.wat").write_text(text)
    return d


def channel_of(orch: Orchestra, plugin: str, index: int = 0) -> Any:
    worker = orch.supervisor.pools[plugin].workers[index]
    assert worker is not None
    return worker._channel


async def wait_ready(orch: Orchestra, plugin: str, instances: int = 1) -> None:
    with anyio.fail_after(30):
        while orch.stats()[plugin]["ready"] < instances:
            await anyio.sleep(0.02)


# -- Ray only -----------------------------------------------------------------------------


@pytest.mark.usefixtures("ray_cluster")
async def test_module_is_shipped_once_through_the_object_store(plugin_dir: Path) -> None:
    """One object per plug-in however many instances (and restarts); each actor loads
    a copy on its node named after the original file; a changed file is put again."""
    from orchestra.backends.ray import RayBackend

    src = plugin_dir / "shipped.wat"
    src.write_text(ADD)
    cfg = Config(
        backend=RayBackendSpec(), plugins={"add": PluginSpec(source=str(src), instances=2)}
    )
    async with Orchestra(cfg) as orch:
        backend = orch.supervisor.backend
        assert isinstance(backend, RayBackend)
        module = backend._modules["add"]
        assert module.path.endswith("/shipped.wat") and Path(module.path).read_text() == ADD
        assert {channel_of(orch, "add", i).pid for i in range(2)} == set(
            orch.stats()["add"]["pids"]
        )
        src.write_text(ADD + "\n;; changed\n")
        os.kill(orch.stats()["add"]["pids"][0], signal.SIGKILL)
        with anyio.fail_after(30):
            while orch.stats()["add"]["restarts"] < 1 or orch.stats()["add"]["ready"] < 2:
                await anyio.sleep(0.02)
        assert backend._modules["add"].path != module.path
        assert await orch.call("add", "add", [1, 1]) == [2]


@pytest.mark.usefixtures("ray_cluster")
async def test_actor_options_from_yaml(plugin_dir: Path) -> None:
    """num_cpus / resources / placement from YAML reach Ray: two actors PACKed into a
    placement group of 0.5-CPU bundles, a per-plug-in override, and process_memory is
    dropped (with a warning) rather than capping the Ray worker."""
    import ray

    text = textwrap.dedent(f"""
        backend:
          kind: ray
          num_cpus: 0.25
          placement: {{strategy: SPREAD}}
          plugins:
            packed: {{num_cpus: 0.5, placement: {{strategy: PACK}}}}
        plugins:
          add: {{source: {plugin_dir / "add.wat"}, limits: {{process_memory: 1GiB}}}}
          packed: {{source: {plugin_dir / "add.wat"}, instances: 2}}
    """)
    cfg = load_config_text(text, filename="ray.yaml", base_dir=plugin_dir)
    before = ray.available_resources().get("CPU", 0)
    async with Orchestra(cfg) as orch:
        assert await orch.call("add", "add", [1, 2]) == [3]
        assert await orch.call("packed", "add", [2, 2]) == [4]
        backend = orch.supervisor.backend
        opts = backend._actor_options("packed", 1, "0" * 32)  # type: ignore[attr-defined]
        assert opts["num_cpus"] == 0.5 and opts["max_restarts"] == 0
        assert opts["scheduling_strategy"].placement_group_bundle_index == 1
        assert backend._actor_options("add", 0, "0" * 32)["scheduling_strategy"] == "SPREAD"  # type: ignore[attr-defined]
        with anyio.fail_after(10):
            while ray.available_resources().get("CPU", 0) > before - 1.0 + 1e-6:
                await anyio.sleep(0.05)  # the group (2 x 0.5) and the 0.25 actor
    with anyio.fail_after(10):
        while ray.available_resources().get("CPU", 0) < before - 1e-6:
            await anyio.sleep(0.05)  # all given back on close


@pytest.mark.usefixtures("ray_cluster")
async def test_unplaceable_actor_is_a_clear_load_error(plugin_dir: Path) -> None:
    """Asking for a resource no node has: PluginLoadError at start_timeout naming what
    was asked for, nothing left pending."""
    cfg = Config(
        backend=RayBackendSpec(plugins={"add": RayActorOptions(resources={"no_such_node": 1})}),
        plugins={"add": PluginSpec(source=str(plugin_dir / "add.wat"), start_timeout=Duration(2))},
    )
    started = time.monotonic()
    with pytest.raises(
        PluginLoadError, match=r"did not start and connect back within 2s.*no_such_node"
    ):
        async with Orchestra(cfg):
            pass
    assert time.monotonic() - started < 10


@pytest.mark.usefixtures("ray_cluster")
async def test_bad_wasm_is_a_load_error_naming_the_file(tmp_path: Path) -> None:
    bad = tmp_path / "broken.wasm"
    bad.write_bytes(b"\0asm garbage")
    cfg = Config(backend=RayBackendSpec(), plugins={"x": PluginSpec(source=str(bad))})
    with pytest.raises(PluginLoadError, match=r"broken\.wasm: (invalid wasm module|not a wasm)"):
        async with Orchestra(cfg):
            pass
    missing = Config(
        backend=RayBackendSpec(), plugins={"x": PluginSpec(source=str(tmp_path / "nope.wasm"))}
    )
    with pytest.raises(PluginLoadError, match=r"cannot read .*nope\.wasm"):
        async with Orchestra(missing):
            pass


MULTI_NODE = """
import sys, anyio, ray
from ray.cluster_utils import Cluster
from orchestra import Orchestra, load_config

cluster = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "resources": {"node_a": 8}})
cluster.add_node(num_cpus=1, resources={"node_b": 8})
ray.init(address=cluster.address)
cluster.wait_for_nodes()
config = sys.argv[1]

async def main():
    async with Orchestra(load_config(config)) as orch:
        nodes = {}
        for name, pool in orch.supervisor.pools.items():
            nodes[name] = sorted({w._channel.node_id for w in pool.workers})
        assert nodes["a"] != nodes["b"], nodes
        assert await orch.call("a", "run", b"hi") == b"hi!"
        out = [r async for r in orch.run_pipeline("p", [f"x{i}".encode() for i in range(200)])]
        assert [r.output for r in out] == [f"x{i}!".encode() for i in range(200)], out[:3]
        big = bytes(range(256)) * 8192  # 2 MiB, by reference: node_a's store <-> node_b's
        store = orch.supervisor.backend.payloads
        assert await orch.call("b", "echo", big) == big and store.gets == 1, store.gets
        print("NODES", len({n for v in nodes.values() for n in v}))

try:
    anyio.run(main)
finally:
    ray.shutdown()
    cluster.shutdown()
"""


@pytest.mark.slow
def test_routes_and_pipelines_across_nodes(plugin_dir: Path, tmp_path: Path) -> None:
    """A two-node Ray cluster (ray.cluster_utils, in its own process): plug-in a's actor
    on one node, b's on the other; a route and a pipeline cross between them, and a
    2 MiB payload goes by reference between the driver's node and b's."""
    cfg = tmp_path / "multi.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        backend:
          kind: ray
          by_reference: 1MiB
          plugins:
            a: {{num_cpus: 0, resources: {{node_a: 1}}}}
            b: {{num_cpus: 0, resources: {{node_b: 1}}}}
        plugins:
          a: {{source: {plugin_dir / "fwd.wat"}, imports: {{"extism:host/user.next": b.shout}}}}
          b: {{source: {plugin_dir / "fwd.wat"}, instances: 2,
              imports: {{"extism:host/user.next": b.echo}}}}
        pipelines:
          p: {{stages: [{{plugin: b, export: echo}}, {{plugin: a, export: run}}]}}
    """)
    )
    script = tmp_path / "multi.py"
    script.write_text(MULTI_NODE)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env.pop("RAY_ADDRESS", None)
    proc = subprocess.run(
        [sys.executable, str(script), str(cfg)],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-5000:]
    assert "NODES 2" in proc.stdout


def test_ray_missing_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without ray importable, the backend is 'known but not installed' with the pip hint."""
    from orchestra.backends import get_backend
    from orchestra.errors import ConfigError

    for name in [m for m in sys.modules if m == "ray" or m.startswith("ray.")] + [
        "orchestra.backends.ray",
        "orchestra.backends.ray._backend",
        "orchestra.backends.ray._actor",
    ]:
        monkeypatch.delitem(sys.modules, name, raising=False)
    monkeypatch.setitem(sys.modules, "ray", None)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"pip install 'orchestra-wasm\[ray\]'"):
        get_backend("ray")


def test_backend_plugin_options_must_name_a_plugin(tmp_path: Path) -> None:
    """backend.plugins keys are checked against plugins, at the key's line."""
    from orchestra.errors import ConfigError

    text = "backend:\n  kind: ray\n  plugins:\n    nope: {num_cpus: 1}\nplugins:\n  a: {source: a.wat}\n"
    with pytest.raises(ConfigError) as info:
        load_config_text(text, filename="c.yaml", base_dir=tmp_path)
    assert str(info.value) == (
        "c.yaml:4:5: backend.plugins.nope: unknown plug-in 'nope' (known plug-ins: a)"
    )


def test_actor_death_is_described() -> None:
    """What a PluginCrashed says when Ray reports an actor's death."""
    from orchestra.backends.ray._backend import _describe_death

    text = (
        "The actor died unexpectedly before finishing this task.\n\tclass_name: WorkerActor\n"
        "The actor is dead because its worker process has died. Worker exit type: "
        "SYSTEM_ERROR Worker exit detail: Worker unexpectedly exits with a connection "
        "error code 2. End of file. Some common causes include: ..."
    )
    assert _describe_death(RuntimeError(text), killed=False) == (
        "died as a Ray actor (SYSTEM_ERROR: Worker unexpectedly exits with a connection "
        "error code 2.)"
    )
    assert _describe_death(RuntimeError(text), killed=True) == "was killed (ray.kill)"
    assert _describe_death(ValueError("boom\nmore"), killed=False) == (
        "died as a Ray actor (ValueError: boom)"
    )


@pytest.mark.usefixtures("ray_cluster")
async def test_driver_address_fixes_where_actors_connect(plugin_dir: Path) -> None:
    """driver_address: the listener binds there (here loopback: one node)."""
    cfg = Config(
        backend=RayBackendSpec(driver_address="127.0.0.1"),
        plugins={"add": PluginSpec(source=str(plugin_dir / "add.wat"))},
    )
    async with Orchestra(cfg) as orch:
        assert orch.supervisor.backend.address[0] == "127.0.0.1"  # type: ignore[attr-defined]
        assert await orch.call("add", "add", [20, 22]) == [42]


@pytest.mark.parametrize(
    ("value", "parsed"),
    [
        (None, (None, 0)),
        ("10.0.0.5", ("10.0.0.5", 0)),
        ("10.0.0.5:4700", ("10.0.0.5", 4700)),
        ("::1", ("::1", 0)),
        ("[::1]:4700", ("::1", 4700)),
    ],
)
def test_driver_address_forms(value: str | None, parsed: tuple[str | None, int]) -> None:
    from orchestra.backends.ray import RayBackend

    assert RayBackend._parse_driver_address(value) == parsed


def test_bad_driver_address_is_a_config_error() -> None:
    from orchestra.backends.ray import RayBackend
    from orchestra.errors import ConfigError

    with pytest.raises(ConfigError, match=r"backend\.driver_address: expected HOST"):
        RayBackend(driver_address="host:port")


# -- large payloads by reference (Ray's object store) ------------------------------------

ECHO = """(module
  (import "extism:host/env" "input_offset" (func $in (result i64)))
  (import "extism:host/env" "input_length" (func $inlen (result i64)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  (func (export "echo") (result i32) (call $out (call $in) (call $inlen)) (i32.const 0))
  (func (export "spin") (result i32) (loop $l (br $l)) (i32.const 0)))"""
MIB = 1 << 20


def driver_refs() -> set[bytes]:
    """The ObjectRefs this process (the driver) holds, as Ray's reference table has them."""
    import ray

    core = ray._private.worker.global_worker.core_worker
    return set(core.get_all_reference_counts())


@contextlib.contextmanager
def tracking(store: Any, read: list[bytes] | None = None) -> Iterator[list[bytes]]:
    """Record the object ids (as Ray's reference table writes them) of every payload
    the driver's object store puts or reads while the block runs (and the refs it
    reads in ``read``)."""
    import msgspec

    ids: list[bytes] = []
    read = [] if read is None else read
    put, get = store.put, store.get

    async def put_spy(data: bytes) -> Any:
        held = await put(data)
        if held is not None:
            ids.append(held.keep.hex().encode())
        return held

    async def get_spy(ref: bytes) -> bytes:
        read.append(ref)
        ids.append(msgspec.msgpack.decode(ref)[0].hex().encode())
        return await get(ref)

    store.put, store.get = put_spy, get_spy
    try:
        yield ids
    finally:
        del store.put, store.get


async def still_held(ids: list[bytes]) -> set[bytes]:
    """Which of ``ids`` the driver still holds, once dropped refs are gone."""
    with anyio.move_on_after(5):
        while driver_refs() & set(ids):
            await anyio.sleep(0.05)
    return driver_refs() & set(ids)


def by_ref_config(tmp_path: Path) -> Config:
    (tmp_path / "echo.wat").write_text(ECHO)
    (tmp_path / "fwd.wat").write_text(FORWARD)
    big = Limits(memory=Size(256 << 20))
    return Config(
        backend=RayBackendSpec(by_reference=Size(MIB)),  # the default is 8 MiB
        plugins={
            "echo": PluginSpec(source=str(tmp_path / "echo.wat"), limits=big),
            "a": PluginSpec(
                source=str(tmp_path / "fwd.wat"),
                limits=big,
                imports={"extism:host/user.next": "b.echo"},
            ),
            "b": PluginSpec(
                source=str(tmp_path / "fwd.wat"),
                limits=big,
                imports={"extism:host/user.next": "echo.echo"},  # unused, but must be served
            ),
        },
    )


@pytest.fixture(scope="module")
async def big_orch(
    ray_cluster: str, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[Orchestra]:
    async with Orchestra(by_ref_config(tmp_path_factory.mktemp("byref"))) as o:
        yield o


@pytest.mark.parametrize("size", [MIB, 8 * MIB], ids=["1MiB", "8MiB"])
async def test_large_payloads_go_by_reference(big_orch: Orchestra, size: int) -> None:
    """A 1 MiB and an 8 MiB input and output round-trip intact, yet the driver's TCP
    stream to the actor carries only frames: the payloads went through Ray's object
    store (put by the driver, read by the actor; put by the actor, read by the driver)."""
    store = big_orch.supervisor.backend.payloads
    assert store is not None and store.threshold == MIB
    channel = channel_of(big_orch, "echo")
    await big_orch.call("echo", "echo", b"warm")
    sent, received = channel.bytes_sent, channel.bytes_received
    data = os.urandom(size)
    with tracking(store) as ids:
        for _ in range(3):
            assert await big_orch.call("echo", "echo", data) == data
    assert channel.bytes_sent - sent < 4096  # three Calls (and Releases), ~200 bytes each
    assert channel.bytes_received - received < 4096
    assert len(ids) == 6  # three inputs put, three outputs read
    # Nothing stays behind in the driver: inputs were dropped with their calls, and
    # outputs once read.
    assert await still_held(ids) == set()
    # Below the threshold a payload still travels inline.
    small = os.urandom(MIB - 1)
    assert await big_orch.call("echo", "echo", small) == small
    assert channel.bytes_sent - sent > MIB - 1


async def test_many_large_calls_leave_no_refs(big_orch: Orchestra) -> None:
    """Concurrent by-reference calls: every answer right, no ObjectRef left in the
    driver afterwards, and the actor releases what it put (a released output can no
    longer be read)."""
    import ray

    from orchestra.backends.ray._objects import load_ref

    store = big_orch.supervisor.backend.payloads
    assert store is not None
    seen: list[bytes] = []
    inputs = [os.urandom(MIB + i) for i in range(24)]
    results: dict[int, bytes] = {}

    async def one(i: int) -> None:
        results[i] = await big_orch.call("echo", "echo", inputs[i])

    with tracking(store, seen) as ids:
        async with anyio.create_task_group() as tg:
            for i in range(len(inputs)):
                tg.start_soon(one, i)
    assert results == dict(enumerate(inputs))
    assert len(seen) == len(inputs) and len(ids) == 2 * len(inputs)
    assert await still_held(ids) == set()
    # The actor dropped its hold on each output after the driver's Release: Ray frees
    # an object whose owner holds no reference, so reading it again fails.
    with anyio.fail_after(10):
        while True:
            try:
                await anyio.to_thread.run_sync(lambda: ray.get(load_ref(seen[-1]), timeout=5))
            except ray.exceptions.RayError:
                break
            await anyio.sleep(0.05)


async def test_routed_large_payload_goes_by_reference(big_orch: Orchestra) -> None:
    """a.run routes its 2 MiB input to b.echo (two actors): the input goes a -> b by
    reference without the driver reading it; b's answer is read once by the driver and
    handed to a by reference. Neither actor's TCP stream carries the payload."""
    store = big_orch.supervisor.backend.payloads
    assert store is not None
    assert await big_orch.call("a", "run", b"warm") == b"warm"
    a, b = channel_of(big_orch, "a"), channel_of(big_orch, "b")
    before = [a.bytes_sent, a.bytes_received, b.bytes_sent, b.bytes_received]
    data = os.urandom(2 * MIB)
    with tracking(store) as ids:
        assert await big_orch.call("a", "run", data) == data
    after = [a.bytes_sent, a.bytes_received, b.bytes_sent, b.bytes_received]
    assert all(x - y < 4096 for x, y in zip(after, before, strict=True)), (before, after)
    # Driver: put a's input, read b's output, put it for a, read a's output. a's routed
    # input went to b as is: the driver never read it.
    assert len(ids) == 4
    assert await still_held(ids) == set()


async def test_actor_killed_holding_a_large_call_is_crashed(big_orch: Orchestra) -> None:
    """SIGKILL the actor while it runs a call whose 8 MiB input it read by reference:
    PluginCrashed as for an inline call, the input is freed, a new actor serves."""
    store = big_orch.supervisor.backend.payloads
    pid = big_orch.stats()["echo"]["pids"][0]
    crashed: list[str] = []  # not the exception: its traceback holds the caller's input

    async def doomed() -> None:
        try:
            await big_orch.call("echo", "spin", os.urandom(8 * MIB))
        except PluginCrashed as exc:
            crashed.append(str(exc))

    with tracking(store) as ids, anyio.fail_after(30):
        async with anyio.create_task_group() as tg:
            tg.start_soon(doomed)
            await anyio.sleep(1.0)
            os.kill(pid, signal.SIGKILL)
    assert len(crashed) == 1 and f"worker (pid {pid})" in crashed[0]
    held = await still_held(ids)
    assert len(ids) == 1 and held == set()
    await wait_ready(big_orch, "echo")
    data = os.urandom(MIB)
    assert await big_orch.call("echo", "echo", data) == data


async def test_output_lost_with_its_actor_is_crashed(big_orch: Orchestra) -> None:
    """The actor answers by reference, then dies before the driver has read the output
    (it owned the object): the call fails with PluginCrashed, it does not hang."""
    import ray

    from orchestra.backends.ray._objects import load_ref

    await wait_ready(big_orch, "echo")
    store = big_orch.supervisor.backend.payloads
    assert store is not None
    pid = big_orch.stats()["echo"]["pids"][0]
    original = store.get

    async def die_first(ref: bytes) -> bytes:
        os.kill(pid, signal.SIGKILL)
        # Until Ray has noticed the owner's death a local copy may still be readable
        # (then the call would just succeed): wait for the loss, then read.
        for _ in range(100):
            try:
                await anyio.to_thread.run_sync(lambda: ray.get(load_ref(ref), timeout=5))
            except ray.exceptions.RayError:
                break
            await anyio.sleep(0.1)
        return await original(ref)

    store.get = die_first  # type: ignore[method-assign]
    try:
        with anyio.fail_after(30), pytest.raises(PluginCrashed, match=f"worker \\(pid {pid}\\)"):
            await big_orch.call("echo", "echo", os.urandom(MIB))
    finally:
        del store.get
    await wait_ready(big_orch, "echo")
    data = os.urandom(MIB)
    assert await big_orch.call("echo", "echo", data) == data
