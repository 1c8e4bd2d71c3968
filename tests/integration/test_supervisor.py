"""Real worker processes, real wasm: calls, crashes, restarts, shutdown."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import anyio
import psutil
import pytest

from orchestra import (
    Config,
    Orchestra,
    PluginCrashed,
    PluginLoadError,
    PluginTimeout,
    PluginTrap,
)
from orchestra.config import Limits, PluginSpec
from orchestra.testing import ADD, COUNTER, ECHO_WASI, EXIT_CODE, LOOP, SLOW, TRAP

pytestmark = pytest.mark.anyio

WatFile = Callable[[str, str], Path]
NewOrchestra = Callable[..., Orchestra]  # the new_orchestra fixture: local, then ray


def plugins(**specs: PluginSpec) -> Config:
    return Config(plugins=specs)


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_two_plugins_two_instances_many_tasks(
    wat_file: WatFile, new_orchestra: NewOrchestra, backend_kind: str
) -> None:
    """Every concurrent call on two plug-ins x 2 instances gets its own correct answer."""
    cfg = plugins(
        add=PluginSpec(source=str(wat_file("add", ADD)), instances=2),
        echo=PluginSpec(source=str(wat_file("echo", ECHO_WASI)), instances=2),
    )
    results: dict[tuple[str, int], object] = {}
    async with new_orchestra(cfg) as orch:

        async def add_task(i: int) -> None:
            results[("add", i)] = await orch.call("add", "add", [i, 1000])

        async def echo_task(i: int) -> None:
            results[("echo", i)] = await orch.call("echo", "_start", f"record {i}".encode())

        async with anyio.create_task_group() as tg:
            for i in range(300):
                tg.start_soon(add_task, i)
                tg.start_soon(echo_task, i)
        stats = orch.stats()
        backend = orch.supervisor.backend.name
    for i in range(300):
        assert results[("add", i)] == [i + 1000]
        assert results[("echo", i)] == f"record {i}".encode()
    assert stats["add"]["calls"] == 300 and stats["echo"]["calls"] == 300
    assert stats["add"]["ready"] == 2 and len(set(stats["add"]["pids"])) == 2
    assert stats["add"]["abi"] == "core" and stats["echo"]["abi"] == "wasi-command"
    assert backend == backend_kind  # on ray, each instance is an actor in its own process


async def test_sigkill_mid_call_fails_exactly_the_held_calls(
    wat_file: WatFile, new_orchestra: NewOrchestra, backend_kind: str
) -> None:
    """A worker killed with SIGKILL answers exactly the calls it held with PluginCrashed;
    calls on the other instance finish, and the dead one is restarted."""
    cfg = plugins(
        slow=PluginSpec(source=str(wat_file("slow", SLOW)), instances=2, max_in_flight=8),
    )
    async with new_orchestra(cfg) as orch:
        pool = orch.supervisor.pools["slow"]
        victim = pool.workers[0]
        assert victim is not None and victim.pid is not None
        outcomes: list[object] = []

        async def one(i: int) -> None:
            try:
                outcomes.append(await orch.call("slow", "work", [400_000]))
            except PluginCrashed as exc:
                outcomes.append(exc)

        async with anyio.create_task_group() as tg:
            for i in range(16):
                tg.start_soon(one, i)
            # Kill mid-call: once the victim holds its 8 calls, well before the first
            # (about 110 ms of wasm) can finish, so no answer is on its way back.
            with anyio.fail_after(10):
                while victim.in_flight < 8:
                    await anyio.sleep(0.001)
            await anyio.sleep(0.01)
            held = victim.in_flight
            assert held == 8
            os.kill(victim.pid, signal.SIGKILL)
        crashed = [o for o in outcomes if isinstance(o, PluginCrashed)]
        assert len(outcomes) == 16
        assert len(crashed) == held
        assert all(o == [400_000] for o in outcomes if not isinstance(o, PluginCrashed))
        assert all(e.plugin == "slow" and e.instance == 0 and e.export == "work" for e in crashed)
        death = "died as a Ray actor" if backend_kind == "ray" else "killed by signal SIGKILL"
        assert death in str(crashed[0])
        # Restarted: a new process serves instance 0 again.
        with anyio.fail_after(10):
            while pool.workers[0] is None or pool.workers[0].pid == victim.pid:
                await anyio.sleep(0.02)
        assert await orch.call("slow", "work", [1]) == [1]
        assert orch.stats()["slow"]["restarts"] == 1
        assert not alive(victim.pid)


async def test_shutdown_leaves_no_child_process(wat_file: WatFile) -> None:
    """After the context exits, none of the worker processes is alive."""
    # Local only: a Ray actor's process is not our child; ray.kill ends it
    # asynchronously (test_ray.py checks that its resources are given back).
    cfg = plugins(
        add=PluginSpec(source=str(wat_file("add", ADD)), instances=3),
        echo=PluginSpec(source=str(wat_file("echo", ECHO_WASI)), instances=2),
    )
    async with Orchestra(cfg) as orch:
        pids = [p for s in orch.stats().values() for p in s["pids"]]
        assert len(pids) == 5 and all(alive(p) for p in pids)
    assert not any(alive(p) for p in pids)
    assert [c.pid for c in psutil.Process().children(recursive=True) if c.pid in pids] == []


@pytest.mark.parametrize("start_method", ["zygote", "spawn"])
async def test_workers_never_import_from_the_current_directory(
    wat_file: WatFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, start_method: str
) -> None:
    """A directory holding another ``orchestra`` package (an old checkout, or
    something planted) must not shadow the supervisor's own: workers run with
    ``python -P``, so their code is the supervisor's, whatever the working directory."""
    # Local only: this is about how a local worker process is started.
    fake = tmp_path / "orchestra"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise SystemExit(99)  # the wrong orchestra\n")
    src = wat_file("add", ADD)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("ORCHESTRA_START_METHOD", start_method)
    async with Orchestra(plugins(add=PluginSpec(source=str(src)))) as orch:
        assert await orch.call("add", "add", [2, 3]) == [5]


async def test_lone_calls_spin_only_while_answers_are_quick(
    wat_file: WatFile, anyio_backend: str
) -> None:
    """One call at a time, the supervisor waits busily for a quick answer instead of
    sleeping (the wake-up costs about as much CPU and doubles the latency), but only
    for plug-ins that answer within SPIN_LONG: a slow one must never keep it spinning."""
    # Local only: the spin is the asyncio fast path's, the same on every backend.
    from orchestra.supervision._worker import CPUS, SPIN_LONG, SPIN_MAX, spin_window

    assert spin_window(0.0) == 0.0  # nothing measured yet
    assert spin_window(50e-6) == (100e-6 if CPUS > 1 else 0.0)
    assert spin_window(1e-3) == (1.5e-3 if CPUS > 1 else 0.0)  # large payloads, a free core
    assert spin_window(SPIN_MAX, busy=CPUS) == spin_window(1e-3, busy=CPUS) == 0.0  # no core
    assert spin_window(SPIN_LONG) == 0.0
    cfg = plugins(
        add=PluginSpec(source=str(wat_file("add", ADD))),
        slow=PluginSpec(source=str(wat_file("slow", SLOW))),
    )
    async with Orchestra(cfg) as orch:
        for _ in range(20):
            assert await orch.call("add", "add", [1, 2]) == [3]
        for _ in range(3):
            assert await orch.call("slow", "work", [150_000]) == [150_000]
        quick = orch.supervisor.pools["add"].workers[0]
        slow = orch.supervisor.pools["slow"].workers[0]
        assert quick is not None and slow is not None
        if anyio_backend == "asyncio":
            # (Whether the quick one spins depends on the machine's load: its round
            # trip is ~50-100 us, SPIN_MAX 200 us. The slow one must never spin.)
            assert 0 < quick._rtt < slow._rtt / 10
            assert slow._rtt > 0.01 and spin_window(slow._rtt) == 0.0
        else:  # trio has no fast path: it never spins
            assert quick._rtt == slow._rtt == 0.0


async def test_long_lone_calls_doze_then_spin(wat_file: WatFile, anyio_backend: str) -> None:
    """One ~0.6 ms call at a time (a 1 MiB payload's range), the supervisor sleeps
    through most of each call on a precise alarm and spins only near its expected
    end: the alarm fires, and every answer is right, whether it came before the
    alarm (a stale alarm must not spin for a later call) or after."""
    import asyncio

    from orchestra.backends._alarm import _ALARMS
    from orchestra.supervision._worker import CPUS, SPIN_LONG, SPIN_MAX, doze

    assert doze(50e-6) == 0.0  # short calls spin from the start
    assert doze(1e-3) == pytest.approx(1e-3 * 0.85 - 50e-6)
    if CPUS < 2 or anyio_backend != "asyncio":
        pytest.skip("spins only on the asyncio fast path, with a core free for it")
    cfg = plugins(slow=PluginSpec(source=str(wat_file("slow", SLOW))))
    async with Orchestra(cfg) as orch:
        t0 = anyio.current_time()
        assert await orch.call("slow", "work", [150_000]) == [150_000]
        n = max(1, int(150_000 * 0.6e-3 / (anyio.current_time() - t0)))  # ~0.6 ms
        for _ in range(40):
            assert await orch.call("slow", "work", [n]) == [n]
        worker = orch.supervisor.pools["slow"].workers[0]
        assert worker is not None and SPIN_MAX < worker._rtt < SPIN_LONG, worker._rtt
        alarm = _ALARMS.get(asyncio.get_running_loop())
        assert alarm is not None and alarm.fired > 0


async def test_after_a_lone_call_the_worker_polls_for_the_next_then_sleeps(
    wat_file: WatFile, anyio_backend: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A lone call with a core to spare asks the worker to stay awake for the next
    call (``Call.linger``: a caller one call at a time sends it at once; the worker's
    wake-up is saved). It polls for that long at most, then sleeps in recv again. The
    window is stretched to 0.4 s here so that the worker's CPU time shows it."""
    from orchestra.supervision import _worker
    from orchestra.supervision._worker import CPUS

    if CPUS < 2 or anyio_backend != "asyncio":
        pytest.skip("only on the asyncio fast path, with a core free for it")
    monkeypatch.setattr(_worker, "LINGER", 0.4)
    async with Orchestra(plugins(add=PluginSpec(source=str(wat_file("add", ADD))))) as orch:
        for _ in range(3):  # a round trip measured: the next lone call lingers
            assert await orch.call("add", "add", [1, 2]) == [3]
        pid = orch.stats()["add"]["pids"][0]
        worker = psutil.Process(pid)

        def cpu() -> float:
            times = worker.cpu_times()
            return float(times.user + times.system)

        before = cpu()
        await anyio.sleep(0.3)
        polling = cpu() - before
        await anyio.sleep(0.3)  # the window has passed
        before = cpu()
        await anyio.sleep(0.3)
        asleep = cpu() - before
        assert polling > 0.1 and asleep < 0.05, (polling, asleep)
        assert await orch.call("add", "add", [2, 2]) == [4]
        monkeypatch.setattr(_worker, "LINGER", 0.0)  # and without it: asleep at once
        assert await orch.call("add", "add", [2, 3]) == [5]
        before = cpu()
        await anyio.sleep(0.3)
        assert cpu() - before < 0.05


async def test_a_worker_counts_as_busy_exactly_while_it_holds_calls(
    wat_file: WatFile, anyio_backend: str
) -> None:
    """The supervisor spins and lets workers linger only while fewer workers hold
    calls than there are cores: the count must drop when calls are answered and
    when a worker dies holding calls, or it would stop both for good."""
    from orchestra.supervision._worker import _BUSY

    cfg = plugins(
        add=PluginSpec(source=str(wat_file("add", ADD))),
        loop=PluginSpec(source=str(wat_file("loop", LOOP))),
    )
    async with Orchestra(cfg) as orch:
        add = orch.supervisor.pools["add"].workers[0]
        loop = orch.supervisor.pools["loop"].workers[0]
        assert add is not None and loop is not None
        assert await orch.call("add", "add", [1, 2]) == [3]
        assert add not in _BUSY
        crashed: list[BaseException] = []

        async def spin() -> None:
            try:
                await orch.call("loop", "spin", [])
            except PluginCrashed as exc:
                crashed.append(exc)

        async with anyio.create_task_group() as tg:
            tg.start_soon(spin)
            await anyio.sleep(0.2)
            assert loop in _BUSY and add not in _BUSY
            os.kill(loop.pid, signal.SIGKILL)
        assert crashed and loop not in _BUSY


async def test_trap_is_typed_and_instance_keeps_serving(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """A trap gives PluginTrap with its code and frames; the next call works."""
    cfg = plugins(trap=PluginSpec(source=str(wat_file("trap", TRAP))))
    async with new_orchestra(cfg) as orch:
        with pytest.raises(PluginTrap) as info:
            await orch.call("trap", "boom", [])
        assert info.value.trap_code == "unreachable"
        assert info.value.plugin == "trap" and info.value.export == "boom"
        assert info.value.frames and "unreachable" in str(info.value)
        assert await orch.call("trap", "ok", []) == [7]


async def test_timeout_interrupts_an_infinite_loop(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """An infinite loop ends with PluginTimeout at limits.timeout; the instance recovers."""
    cfg = plugins(
        loop=PluginSpec(source=str(wat_file("loop", LOOP)), limits=Limits(timeout=0.2)),  # type: ignore[arg-type]
    )
    async with new_orchestra(cfg) as orch:
        with anyio.fail_after(5):
            with pytest.raises(PluginTimeout, match=r"timeout of 0\.2s"):
                await orch.call("loop", "spin", [])
        pid = orch.stats()["loop"]["pids"][0]
        with pytest.raises(PluginTimeout):
            await orch.call("loop", "spin", [])
        assert orch.stats()["loop"]["pids"][0] == pid  # reset in place, no restart


async def test_state_persists_across_calls_of_an_instance(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """An instance is one long-lived store: globals persist between calls."""
    cfg = plugins(counter=PluginSpec(source=str(wat_file("counter", COUNTER))))
    async with new_orchestra(cfg) as orch:
        assert [await orch.call("counter", "incr", []) for _ in range(3)] == [[1], [2], [3]]


async def test_wasi_command_exit_code_is_an_error(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """A command exiting non-zero is a CallError carrying its exit code and output."""
    from orchestra import CallError

    cfg = plugins(bad=PluginSpec(source=str(wat_file("bad", EXIT_CODE))))
    async with new_orchestra(cfg) as orch:
        with pytest.raises(CallError, match="exited with code 3: bad"):
            await orch.call("bad", "_start", b"x")


async def test_load_failure_is_reported_on_enter(
    tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    """Bad wasm fails before any work starts, with a PluginLoadError naming the file."""
    bad = tmp_path / "bad.wasm"
    bad.write_bytes(b"\0asm\x01\0\0\0garbage")
    with pytest.raises(PluginLoadError, match=r"bad\.wasm: invalid wasm module"):
        async with new_orchestra(plugins(bad=PluginSpec(source=str(bad)))):
            pass


async def test_missing_import_names_the_fix(wat_file: WatFile, new_orchestra: NewOrchestra) -> None:
    """An import nobody provides is a load error naming the config line to add."""
    src = wat_file("needs", '(module (import "env" "lookup" (func (param i32) (result i32))))')
    with pytest.raises(
        PluginLoadError, match=r"import 'env.lookup' is not provided.*host_modules: \[env\]"
    ):
        async with new_orchestra(plugins(needs=PluginSpec(source=str(src)))):
            pass


async def test_compiled_module_cache_is_reused(
    wat_file: WatFile, tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    """The second start of the same module deserializes the cached compilation."""
    cache = tmp_path / "cache"
    cfg = plugins(add=PluginSpec(source=str(wat_file("add", ADD))))
    async with new_orchestra(cfg, cache_dir=str(cache)) as orch:
        first = orch.supervisor.pools["add"].workers[0]
        assert first is not None and first.cached is False
    assert len(list(cache.glob("*.cwasm"))) == 1
    async with new_orchestra(cfg, cache_dir=str(cache)) as orch:
        second = orch.supervisor.pools["add"].workers[0]
        assert second is not None and second.cached is True
        assert await orch.call("add", "add", [1, 2]) == [3]


async def test_waiting_callers_are_admitted_first_come_first_served(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """When callers outnumber free slots, none starves: every caller's first call is
    answered before any caller gets a third one (no barging past the queue)."""
    cfg = plugins(add=PluginSpec(source=str(wat_file("add", ADD)), max_in_flight=4))
    events: list[tuple[int, int]] = []
    async with new_orchestra(cfg) as orch:

        async def caller(i: int) -> None:
            for n in range(5):
                assert await orch.call("add", "add", [i, n]) == [i + n]
                events.append((i, n))

        async with anyio.create_task_group() as tg:
            for i in range(40):
                tg.start_soon(caller, i)
    first_done = max(k for k, (_, n) in enumerate(events) if n == 0)
    third_started = min(k for k, (_, n) in enumerate(events) if n == 2)
    assert first_done < third_started
    assert len(events) == 200
