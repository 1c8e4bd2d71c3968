"""The fault model of DESIGN.md, one test (or more) per row, with real workers."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import psutil
import pytest

from orchestra import (
    Config,
    Orchestra,
    PluginCrashed,
    PluginFuelExhausted,
    PluginMemoryLimit,
    PluginTimeout,
    PluginTrap,
    PluginUnavailable,
)
from orchestra.backends.local import LocalBackend
from orchestra.config import (
    Backoff,
    Duration,
    HostPluginsSpec,
    Limits,
    PluginSpec,
    Restart,
    Retry,
    Size,
)
from orchestra.testing import ADD, SLOW

from ..conftest import REPO

pytestmark = pytest.mark.anyio
WatFile = Callable[[str, str], Path]
NewOrchestra = Callable[..., Orchestra]  # the new_orchestra fixture: local, then ray

OOB = '(module (memory 1) (func (export "poke") (result i32) (i32.load (i32.const 70000))))'
RECURSE = '(module (func $f (export "deep") (param i32) (result i32) (i32.add (call $f (local.get 0)) (i32.const 1))))'
BOMB = """(module (memory (export "memory") 1)
  (func (export "bomb") (result i32)
    (loop $more
      (br_if $more (i32.ne (memory.grow (i32.const 1)) (i32.const -1))))
    unreachable))"""
FAST_FAIL = Restart(
    max_restarts=1,
    within=Duration(60),
    backoff=Backoff(initial=Duration(0.01), max=Duration(0.01), jitter=0),
)

HOST_FAULTS = """
import ctypes, os, time
from orchestra.hostplugins import HostModule, i32
faults = HostModule("faults")

@faults.function
def segfault() -> i32:
    ctypes.memmove(8, b"x", 1)  # a real invalid write in native code
    return 0

@faults.function
def abort() -> i32:
    os.abort()

@faults.function
def hang() -> i32:
    time.sleep(3600)
    return 0

@faults.function
def leak() -> i32:
    hoard = []
    while True:
        hoard.append(bytearray(64 * 1024 * 1024))
"""
HOST_CALLER = """(module
  (import "faults" "segfault" (func $segfault (result i32)))
  (import "faults" "abort" (func $abort (result i32)))
  (import "faults" "hang" (func $hang (result i32)))
  (import "faults" "leak" (func $leak (result i32)))
  (func (export "segfault") (result i32) (call $segfault))
  (func (export "abort") (result i32) (call $abort))
  (func (export "hang") (result i32) (call $hang))
  (func (export "leak") (result i32) (call $leak))
  (func (export "ok") (result i32) (i32.const 1)))"""


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def wait_ready(orch: Orchestra, plugin: str, instances: int = 1) -> None:
    with anyio.fail_after(15):
        while orch.stats()[plugin]["ready"] < instances:
            await anyio.sleep(0.02)


async def test_traps_are_typed_and_the_instance_keeps_serving(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """Out-of-bounds access and stack overflow trap with their own codes and messages."""
    cfg = Config(
        plugins={
            "oob": PluginSpec(source=str(wat_file("oob", OOB))),
            "deep": PluginSpec(source=str(wat_file("deep", RECURSE))),
        }
    )
    async with new_orchestra(cfg) as orch:
        with pytest.raises(PluginTrap) as info:
            await orch.call("oob", "poke", [])
        assert info.value.trap_code == "memory_out_of_bounds"
        assert "out-of-bounds memory access" in str(info.value)
        with pytest.raises(PluginTrap) as info:
            await orch.call("deep", "deep", [1])
        assert info.value.trap_code == "stack_overflow"
        assert "stack overflow: the wasm call stack was exhausted" in str(info.value)
        assert orch.stats()["deep"]["resets"] == 1 and orch.stats()["deep"]["restarts"] == 0
        with pytest.raises(PluginTrap):
            await orch.call("oob", "poke", [])


async def test_allocation_bomb_is_a_memory_limit(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """Growing memory until the limit refuses, then trapping, is PluginMemoryLimit;
    the worker's memory stays bounded and the instance is reset."""
    cfg = Config(
        plugins={
            "bomb": PluginSpec(
                source=str(wat_file("bomb", BOMB)), limits=Limits(memory=Size(32 << 20))
            )
        }
    )
    async with new_orchestra(cfg) as orch:
        for _ in range(3):
            with pytest.raises(PluginMemoryLimit, match=r"memory limit of 32MiB reached"):
                await orch.call("bomb", "bomb", [])
        pid = orch.stats()["bomb"]["pids"][0]
        assert psutil.Process(pid).memory_info().rss < 300 << 20
        assert orch.stats()["bomb"]["resets"] == 3


async def test_fuel_exhaustion(wat_file: WatFile, new_orchestra: NewOrchestra) -> None:
    cfg = Config(
        plugins={
            "slow": PluginSpec(source=str(wat_file("slow", SLOW)), limits=Limits(fuel=100_000))
        }
    )
    async with new_orchestra(cfg) as orch:
        assert await orch.call("slow", "work", [1]) == [1]
        with pytest.raises(PluginFuelExhausted, match=r"used up its fuel \(100000 units\)"):
            await orch.call("slow", "work", [10_000])
        assert await orch.call("slow", "work", [2]) == [2]  # refilled at every call


@pytest.mark.parametrize("fault", ["segfault", "abort"])
async def test_native_crash_in_host_function(
    wat_file: WatFile, tmp_path: Path, fault: str, new_orchestra: NewOrchestra, backend_kind: str
) -> None:
    """A host function that kills its worker: the call gets PluginCrashed, the worker
    is restarted, another plug-in never notices."""
    (tmp_path / "hp").mkdir()
    (tmp_path / "hp" / "faults.py").write_text(HOST_FAULTS)
    cfg = Config(
        plugins={
            "host": PluginSpec(source=str(wat_file("host", HOST_CALLER)), host_modules=["faults"]),
            "add": PluginSpec(source=str(wat_file("add", ADD))),
        },
        host_plugins=HostPluginsSpec(paths=[str(tmp_path / "hp")]),
    )
    async with new_orchestra(cfg) as orch:
        add_pid = orch.stats()["add"]["pids"][0]
        death = (
            r"died as a Ray actor" if backend_kind == "ray" else r"killed by signal SIG(SEGV|ABRT)"
        )
        with pytest.raises(PluginCrashed, match=death):
            await orch.call("host", fault, [])
        await wait_ready(orch, "host")
        assert await orch.call("host", "ok", []) == [1]
        assert orch.stats()["host"]["restarts"] == 1
        assert orch.stats()["add"]["pids"] == [add_pid] and orch.stats()["add"]["restarts"] == 0
        assert await orch.call("add", "add", [1, 2]) == [3]


async def test_hanging_host_function_is_killed_by_the_watchdog(
    wat_file: WatFile, tmp_path: Path, new_orchestra: NewOrchestra
) -> None:
    """Native code that never returns to wasm: epoch interruption cannot stop it, the
    supervisor's watchdog kills the worker after timeout + grace: PluginTimeout for the
    running call, PluginCrashed for the ones queued behind it."""
    (tmp_path / "hp").mkdir()
    (tmp_path / "hp" / "faults.py").write_text(HOST_FAULTS)
    cfg = Config(
        plugins={
            "host": PluginSpec(
                source=str(wat_file("host", HOST_CALLER)),
                host_modules=["faults"],
                limits=Limits(timeout=Duration(0.3)),
            )
        },
        host_plugins=HostPluginsSpec(paths=[str(tmp_path / "hp")]),
    )
    async with new_orchestra(cfg) as orch:
        results: dict[str, BaseException] = {}

        async def one(export: str) -> None:
            try:
                await orch.call("host", export, [])
            except (PluginTimeout, PluginCrashed) as exc:
                results[export] = exc

        started = time.monotonic()
        with anyio.fail_after(10):
            async with anyio.create_task_group() as tg:
                tg.start_soon(one, "hang")
                await anyio.sleep(0.05)
                tg.start_soon(one, "ok")
        assert time.monotonic() - started < 5
        assert isinstance(results["hang"], PluginTimeout)
        assert isinstance(results["ok"], PluginCrashed)
        assert "watchdog" in str(results["hang"])
        await wait_ready(orch, "host")
        assert await orch.call("host", "ok", []) == [1]


async def test_process_memory_limit_contains_a_host_leak(wat_file: WatFile, tmp_path: Path) -> None:
    """limits.process_memory caps the worker's address space: a leaking host function
    gets MemoryError (a HostFunctionError) instead of taking the machine."""
    # Local only: an address-space rlimit would cap a Ray worker itself (Ray drops it).
    from orchestra import HostFunctionError

    (tmp_path / "hp").mkdir()
    (tmp_path / "hp" / "faults.py").write_text(HOST_FAULTS)
    cfg = Config(
        plugins={
            "host": PluginSpec(
                source=str(wat_file("host", HOST_CALLER)),
                host_modules=["faults"],
                limits=Limits(process_memory=Size(1 << 30), memory=Size(16 << 20)),
            )
        },
        host_plugins=HostPluginsSpec(paths=[str(tmp_path / "hp")]),
    )
    async with Orchestra(cfg) as orch:
        with pytest.raises((HostFunctionError, PluginCrashed)):
            await orch.call("host", "leak", [])
        await wait_ready(orch, "host")
        assert await orch.call("host", "ok", []) == [1]


async def test_restart_budget_spent_marks_plugin_failed(
    wat_file: WatFile, new_orchestra: NewOrchestra, backend_kind: str
) -> None:
    """Past max_restarts within the window the plug-in fails fast with
    PluginUnavailable carrying the recent failures; other plug-ins are untouched."""
    cfg = Config(
        plugins={
            "victim": PluginSpec(source=str(wat_file("slow", SLOW)), restart=FAST_FAIL),
            "add": PluginSpec(source=str(wat_file("add", ADD))),
        }
    )
    async with new_orchestra(cfg) as orch:
        for n in (1, 2):
            await wait_ready(orch, "victim")
            os.kill(orch.stats()["victim"]["pids"][0], signal.SIGKILL)
            with anyio.fail_after(10):
                while (
                    orch.stats()["victim"]["restarts"] < n and not orch.stats()["victim"]["failed"]
                ):
                    await anyio.sleep(0.005)
        with anyio.fail_after(10):
            while not orch.stats()["victim"]["failed"]:
                await anyio.sleep(0.01)
        started = time.monotonic()
        with pytest.raises(PluginUnavailable) as info:
            await orch.call("victim", "work", [1])
        assert time.monotonic() - started < 0.5
        assert "more than 1 restarts within 60s" in str(info.value)
        death = "died as a Ray actor" if backend_kind == "ray" else "killed by signal SIGKILL"
        assert any(death in f for f in info.value.failures)
        stats = orch.stats()
        assert stats["victim"]["failed"] and death in stats["victim"]["last_failure"]
        assert await orch.call("add", "add", [2, 2]) == [4]


async def test_retry_serves_crashed_calls_on_another_instance(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """With retry.attempts the export is idempotent: calls lost with a killed worker
    are retried elsewhere, and every caller gets its result."""
    cfg = Config(
        plugins={
            "slow": PluginSpec(
                source=str(wat_file("slow", SLOW)), instances=2, retry=Retry(attempts=3)
            )
        }
    )
    async with new_orchestra(cfg) as orch:
        results: list[object] = []

        async def one() -> None:
            results.append(await orch.call("slow", "work", [100_000]))

        async with anyio.create_task_group() as tg:
            for _ in range(12):
                tg.start_soon(one)
            await anyio.sleep(0.05)
            os.kill(orch.stats()["slow"]["pids"][0], signal.SIGKILL)
        assert results == [[100_000]] * 12


@pytest.mark.parametrize("fault", ["garbage", "oversize"])
async def test_bad_frames_kill_and_restart_the_worker(
    wat_file: WatFile, fault: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker that sends garbage or an oversize frame is killed; its call gets
    PluginCrashed naming the protocol error; the supervisor carries on."""
    # Local only: the faulty worker is injected through LocalBackend(worker_module=...).
    monkeypatch.setenv("ORCHESTRA_FAULT", fault)
    cfg = Config(plugins={"bad": PluginSpec(source=str(wat_file("add", ADD)), restart=FAST_FAIL)})
    async with Orchestra(
        cfg, backend=LocalBackend(worker_module="orchestra.testing.faulty_worker")
    ) as orch:
        with anyio.fail_after(10), pytest.raises(PluginCrashed, match="protocol error"):
            await orch.call("bad", "add", [1, 2])
        with anyio.fail_after(10):
            while orch.stats()["bad"]["restarts"] < 1:
                await anyio.sleep(0.01)


async def test_worker_hardening(wat_file: WatFile, monkeypatch: pytest.MonkeyPatch) -> None:
    """Workers get a scrubbed environment, no core dumps, their own session."""
    # Local only: how the local backend spawns a process (a Ray worker is Ray's).
    monkeypatch.setenv("SUPER_SECRET_TOKEN", "hunter2")
    async with Orchestra(
        Config(plugins={"add": PluginSpec(source=str(wat_file("add", ADD)))})
    ) as orch:
        pid = orch.stats()["add"]["pids"][0]
        env = Path(f"/proc/{pid}/environ").read_bytes()
        assert b"SUPER_SECRET_TOKEN" not in env
        limits = Path(f"/proc/{pid}/limits").read_text()
        core = next(line for line in limits.splitlines() if line.startswith("Max core file size"))
        assert core.split()[4:6] == ["0", "0"]
        assert os.getsid(pid) != os.getsid(0)


def test_workers_die_with_a_sigkilled_supervisor(tmp_path: Path, wat_file: WatFile) -> None:
    """No orphans: SIGKILL the supervisor process and every worker goes too."""
    # Local only: pdeathsig ties a local worker to its parent (Ray actors are the raylet's).
    src = wat_file("add", ADD)
    script = tmp_path / "sup.py"
    script.write_text(
        textwrap.dedent(f"""
        import anyio, sys
        from orchestra import Orchestra, Config
        from orchestra.config import PluginSpec
        async def main():
            async with Orchestra(Config(plugins={{"a": PluginSpec(source={str(src)!r}, instances=3)}})) as o:
                print(" ".join(map(str, o.stats()["a"]["pids"])), flush=True)
                await anyio.sleep(3600)
        anyio.run(main)
    """)
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    assert proc.stdout is not None
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 3 and all(alive(p) for p in pids)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    deadline = time.monotonic() + 5
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not any(alive(p) for p in pids)


def test_sigint_to_run_finishes_in_flight_and_keeps_order(
    tmp_path: Path, wat_file: WatFile
) -> None:
    """SIGINT mid-run: input stops, records in flight finish, the output is a prefix of
    the full output in order with nothing lost or duplicated, exit 130."""
    # Local only: the CLI in a subprocess, on its default backend.
    slow = wat_file(
        "echo",
        """(module
      (import "wasi_snapshot_preview1" "fd_read" (func $r (param i32 i32 i32 i32) (result i32)))
      (import "wasi_snapshot_preview1" "fd_write" (func $w (param i32 i32 i32 i32) (result i32)))
      (memory (export "memory") 1)
      (func (export "_start") (local $i i32)
        (i32.store (i32.const 0) (i32.const 64)) (i32.store (i32.const 4) (i32.const 1024))
        (drop (call $r (i32.const 0) (i32.const 0) (i32.const 1) (i32.const 8)))
        (i32.store (i32.const 4) (i32.load (i32.const 8)))
        (loop $spin (local.set $i (i32.add (local.get $i) (i32.const 1)))
          (br_if $spin (i32.lt_u (local.get $i) (i32.const 3000000))))
        (drop (call $w (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))""",
    )
    cfg = tmp_path / "p.yaml"
    cfg.write_text(
        f"plugins:\n  e: {{source: {slow}, instances: 2}}\npipelines:\n  p:\n    stages: [{{plugin: e, export: _start}}]\n"
    )
    records = [f"record {i:05d}" for i in range(20000)]
    (tmp_path / "in.txt").write_text("\n".join(records) + "\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestra",
            "run",
            str(cfg),
            "--input",
            str(tmp_path / "in.txt"),
            "--output",
            str(tmp_path / "out.txt"),
            "--stats-json",
            str(tmp_path / "s.json"),
        ],
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        out = tmp_path / "out.txt"
        if out.exists() and out.stat().st_size > 2000:
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err.decode()
    lines = (tmp_path / "out.txt").read_text().splitlines()
    assert 0 < len(lines) < len(records)
    assert lines == records[: len(lines)]
    assert b"stopped by SIGINT" in err
    import json

    stats = json.loads((tmp_path / "s.json").read_text())
    assert stats["records_ok"] == len(lines) and stats["interrupted_by"] == "SIGINT"


async def test_calls_made_during_a_restart_are_served(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """With the only instance SIGKILLed, calls made while it restarts wait for the new
    worker and are served (they used to wait forever: nothing woke them)."""
    cfg = Config(plugins={"add": PluginSpec(source=str(wat_file("add", ADD)))})
    async with new_orchestra(cfg) as orch:
        os.kill(orch.stats()["add"]["pids"][0], signal.SIGKILL)
        started = time.monotonic()
        with anyio.fail_after(5):
            while True:
                try:
                    assert await orch.call("add", "add", [1, 2]) == [3]
                    break
                except PluginCrashed:
                    continue
        assert time.monotonic() - started < 2


@pytest.mark.slow
async def test_workers_outlive_the_spawning_thread(wat_file: WatFile, anyio_backend: str) -> None:
    """Under trio, processes are forked from a worker thread that exits after ~10 s
    idle; PR_SET_PDEATHSIG (which follows the forking *thread*) must not kill the
    workers then."""
    # Local only: pdeathsig and the forking thread are the local backend's.
    cfg = Config(plugins={"add": PluginSpec(source=str(wat_file("add", ADD)))})
    async with Orchestra(cfg) as orch:
        pid = orch.stats()["add"]["pids"][0]
        await anyio.sleep(12)
        assert orch.stats()["add"]["pids"] == [pid] and orch.stats()["add"]["restarts"] == 0
        assert await orch.call("add", "add", [2, 2]) == [4]
