"""The same config on both backends: core calls, an Extism call, the fault model,
routes and pipelines, parametrized over ``local`` and ``ray`` (a real local Ray
cluster with 2 CPUs, started once per session), then what only Ray has: actor
options from YAML, module shipping, a cluster that cannot place an actor, and
several nodes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from orchestra import (
    Config,
    Orchestra,
    PluginCrashed,
    PluginLoadError,
    PluginMemoryLimit,
    PluginTimeout,
    PluginTrap,
    PluginUnavailable,
)
from orchestra.config import (
    Backoff,
    Duration,
    HostPluginsSpec,
    Limits,
    PipelineSpec,
    PluginSpec,
    RayActorOptions,
    RayBackendSpec,
    Restart,
    Size,
    Stage,
    load_config_text,
)
from orchestra.testing import ADD, EXTISM_KITCHEN, LOOP, SLOW, TRAP

from ..conftest import REPO
from .test_extism import HOST_PLUGIN
from .test_faults import BOMB
from .test_routes import FORWARD

pytestmark = [pytest.mark.anyio, pytest.mark.ray]

FAST_FAIL = Restart(
    max_restarts=1,
    within=Duration(60),
    backoff=Backoff(initial=Duration(0.01), max=Duration(0.01), jitter=0),
)


@pytest.fixture(scope="module", params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Module-scoped here, so one Orchestra per (event loop, backend) serves the module."""
    return str(request.param)


@pytest.fixture(scope="module", params=["local", "ray"])
def kind(request: pytest.FixtureRequest) -> str:
    if request.param == "ray":
        request.getfixturevalue("ray_cluster")
    return str(request.param)


@pytest.fixture(scope="module")
def plugin_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("plugins")
    for name, text in {
        "add": ADD,
        "trap": TRAP,
        "loop": LOOP,
        "bomb": BOMB,
        "slow": SLOW,
        "kitchen": EXTISM_KITCHEN,
        "fwd": FORWARD,
    }.items():
        (d / f"{name}.wat").write_text(text)
    (d / "hp").mkdir()
    (d / "hp" / "test_user.py").write_text(HOST_PLUGIN)
    return d


def backend_for(kind: str, **options: Any) -> Any:
    return RayBackendSpec(**options) if kind == "ray" else "local"


def shared_config(kind: str, d: Path) -> Config:
    def src(name: str) -> str:
        return str(d / f"{name}.wat")

    return Config(
        backend=backend_for(kind),
        host_plugins=HostPluginsSpec(paths=[str(d / "hp")]),
        plugins={
            "add": PluginSpec(source=src("add"), instances=2),
            "trap": PluginSpec(source=src("trap")),
            "loop": PluginSpec(source=src("loop"), limits=Limits(timeout=Duration(0.3))),
            "bomb": PluginSpec(source=src("bomb"), limits=Limits(memory=Size(32 << 20))),
            "k": PluginSpec(source=src("kitchen"), host_modules=["extism:host/user"]),
            "a": PluginSpec(source=src("fwd"), imports={"extism:host/user.next": "b.shout"}),
            "b": PluginSpec(
                source=src("fwd"), instances=2, imports={"extism:host/user.next": "b.echo"}
            ),
        },
        pipelines={
            "text": PipelineSpec(
                stages=[Stage(plugin="a", export="run"), Stage(plugin="k", export="upper")]
            ),
            "numbers": PipelineSpec(stages=[Stage(plugin="add", export="add")]),
        },
    )


@pytest.fixture(scope="module")
async def orch(kind: str, plugin_dir: Path) -> AsyncIterator[Orchestra]:
    async with Orchestra(shared_config(kind, plugin_dir)) as o:
        yield o


def channel_of(orch: Orchestra, plugin: str, index: int = 0) -> Any:
    worker = orch.supervisor.pools[plugin].workers[index]
    assert worker is not None
    return worker._channel


async def wait_ready(orch: Orchestra, plugin: str, instances: int = 1) -> None:
    with anyio.fail_after(30):
        while orch.stats()[plugin]["ready"] < instances:
            await anyio.sleep(0.02)


# -- shared: the same tests on both backends ---------------------------------------------


async def test_core_calls_and_concurrency(orch: Orchestra, kind: str) -> None:
    """Numbers in, numbers out; 500 concurrent calls all answered, spread over both
    instances; on Ray each instance is an actor in its own process."""
    assert await orch.call("add", "add", [2, 40]) == [42]
    before = orch.stats()["add"]["calls"]
    results: dict[int, Any] = {}

    async def one(i: int) -> None:
        results[i] = await orch.call("add", "add", [i, 1])

    async with anyio.create_task_group() as tg:
        for i in range(500):
            tg.start_soon(one, i)
    assert results == {i: [i + 1] for i in range(500)}
    stats = orch.stats()["add"]
    assert stats["calls"] == before + 500 and stats["errors"] == 0
    assert len(set(stats["pids"])) == 2 and os.getpid() not in stats["pids"]
    if kind == "ray":
        from orchestra.backends.ray import RayChannel

        assert isinstance(channel_of(orch, "add"), RayChannel)


async def test_extism_call_with_host_function(orch: Orchestra) -> None:
    """Extism ABI through the kernel, a granted Python host plug-in, Extism errors."""
    from orchestra import PluginError

    assert await orch.call("k", "upper", b"hello, world") == b"HELLO, WORLD"
    assert await orch.call("k", "reverse_via_host", b"abc") == b"cba"
    with pytest.raises(PluginError) as info:
        await orch.call("k", "fail", b"")
    assert info.value.message == "boom"
    big = os.urandom(2 * 1024 * 1024).replace(b"a", b"b")
    assert await orch.call("k", "upper", big) == big.upper()


async def test_timeout_is_typed_and_the_instance_serves_on(orch: Orchestra) -> None:
    started = time.monotonic()
    with pytest.raises(PluginTimeout, match=r"call exceeded the timeout of 0\.3s"):
        await orch.call("loop", "spin", [])
    assert time.monotonic() - started < 5
    assert orch.stats()["loop"]["restarts"] == 0
    with pytest.raises(PluginTimeout):
        await orch.call("loop", "spin", [])


async def test_trap_is_typed_and_the_instance_serves_on(orch: Orchestra) -> None:
    with pytest.raises(PluginTrap) as info:
        await orch.call("trap", "boom", [])
    assert info.value.trap_code == "unreachable" and info.value.plugin == "trap"
    assert await orch.call("trap", "ok", []) == [7]


async def test_memory_limit_is_typed(orch: Orchestra) -> None:
    for _ in range(2):
        with pytest.raises(PluginMemoryLimit, match=r"memory limit of 32MiB reached"):
            await orch.call("bomb", "bomb", [])
    assert orch.stats()["bomb"]["restarts"] == 0


async def test_route_between_plugins(orch: Orchestra) -> None:
    """a's import is served by b's export (two instances, each its own actor on Ray)."""
    assert await orch.call("a", "run", b"hello") == b"hello!"
    results: dict[int, bytes] = {}

    async def one(i: int) -> None:
        results[i] = await orch.call("a", "run", f"r{i}".encode())

    async with anyio.create_task_group() as tg:
        for i in range(100):
            tg.start_soon(one, i)
    assert results == {i: f"r{i}!".encode() for i in range(100)}


async def test_pipelines(orch: Orchestra) -> None:
    """Records flow a.run (routed to b) -> k.upper, in order; a core-ABI stage too."""
    records = [f"rec{i}".encode() for i in range(300)]
    out = [r async for r in orch.run_pipeline("text", records)]
    assert [r.index for r in out] == list(range(300))
    assert all(r.ok for r in out)
    assert [r.output for r in out] == [f"REC{i}!".encode() for i in range(300)]
    nums = [r async for r in orch.run_pipeline("numbers", [b"[1, 2]", b"[40, 2]"])]
    assert [r.output for r in nums] == [b"[3]", b"[42]"]


async def test_killed_worker_is_crashed_and_restarted_per_policy(
    kind: str, plugin_dir: Path
) -> None:
    """SIGKILL the worker process mid-call (on Ray: the actor's process): the call gets
    PluginCrashed, Orchestra's restart policy restarts it (Ray does not: actors have
    max_restarts=0), and past the budget the plug-in is PluginUnavailable."""
    cfg = Config(
        backend=backend_for(kind),
        plugins={"victim": PluginSpec(source=str(plugin_dir / "slow.wat"), restart=FAST_FAIL)},
    )
    async with Orchestra(cfg) as orch:
        pid = orch.stats()["victim"]["pids"][0]
        crashed: list[BaseException] = []

        async def doomed() -> None:
            try:
                await orch.call("victim", "work", [1_000_000])
            except PluginCrashed as exc:
                crashed.append(exc)

        with anyio.fail_after(20):
            async with anyio.create_task_group() as tg:
                tg.start_soon(doomed)
                await anyio.sleep(0.2)
                os.kill(pid, signal.SIGKILL)
        assert len(crashed) == 1
        message = str(crashed[0])
        assert f"worker (pid {pid})" in message
        if kind == "ray":
            assert "died as a Ray actor" in message
        else:
            assert "killed by signal SIGKILL" in message
        await wait_ready(orch, "victim")
        stats = orch.stats()["victim"]
        assert stats["restarts"] == 1 and stats["pids"][0] != pid
        assert await orch.call("victim", "work", [3]) == [3]
        os.kill(stats["pids"][0], signal.SIGKILL)
        with anyio.fail_after(20):
            while not orch.stats()["victim"]["failed"]:
                await anyio.sleep(0.02)
        with pytest.raises(PluginUnavailable, match="more than 1 restarts within 60s"):
            await orch.call("victim", "work", [1])


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


@pytest.mark.usefixtures("ray_cluster")
async def test_watchdog_kill_reaches_the_actor(plugin_dir: Path, tmp_path: Path) -> None:
    """A host function that never returns: the supervisor's watchdog kills the actor
    (ray.kill) after timeout + grace; PluginTimeout, then a fresh actor."""
    (tmp_path / "hp").mkdir()
    (tmp_path / "hp" / "hang.py").write_text(
        "import time\nfrom orchestra.hostplugins import HostModule, i32\n"
        'm = HostModule("faults")\n@m.function\ndef hang() -> i32:\n    time.sleep(3600)\n    return 0\n'
    )
    (tmp_path / "h.wat").write_text(
        '(module (import "faults" "hang" (func $h (result i32)))'
        ' (func (export "hang") (result i32) (call $h)) (func (export "ok") (result i32) (i32.const 1)))'
    )
    cfg = Config(
        backend=RayBackendSpec(),
        host_plugins=HostPluginsSpec(paths=[str(tmp_path / "hp")]),
        plugins={
            "h": PluginSpec(
                source=str(tmp_path / "h.wat"),
                host_modules=["faults"],
                limits=Limits(timeout=Duration(0.3)),
            )
        },
    )
    async with Orchestra(cfg) as orch:
        pid = orch.stats()["h"]["pids"][0]
        with anyio.fail_after(15), pytest.raises(PluginTimeout, match="watchdog"):
            await orch.call("h", "hang", [])
        await wait_ready(orch, "h")
        assert orch.stats()["h"]["pids"][0] != pid
        assert await orch.call("h", "ok", []) == [1]


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
    on one node, b's on the other; a route and a pipeline cross between them."""
    cfg = tmp_path / "multi.yaml"
    cfg.write_text(
        textwrap.dedent(f"""
        backend:
          kind: ray
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
    with pytest.raises(ConfigError, match=r"pip install 'orchestra\[ray\]'"):
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
