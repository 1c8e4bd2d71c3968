"""Routes: an import of one plug-in served by another plug-in's export, through the
supervisor, bytes (Extism) or numbers (core); cycles are served or refused, never hung."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from orchestra import CallError, Config, HostFunctionError, Orchestra
from orchestra.config import PluginSpec
from orchestra.testing import FORWARD, SLOW

pytestmark = pytest.mark.anyio
WatFile = Callable[[str, str], Path]
NewOrchestra = Callable[..., Orchestra]  # the new_orchestra fixture: local, then ray

# core: quad(x) = twice(twice(x)) with twice imported
QUAD = """(module
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (func (export "quad") (param i32) (result i32) (call $twice (call $twice (local.get 0)))))"""
TWICE = '(module (func (export "twice") (param i32) (result i32) (i32.mul (local.get 0) (i32.const 2))))'


def spec(path: Path, **kw: object) -> PluginSpec:
    return PluginSpec(source=str(path), **kw)  # type: ignore[arg-type]


async def test_extism_route_bytes_in_and_out(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """A's import is served by B's export: the call leaves A's worker as a message,
    runs on B, and the bytes come back into A's kernel memory."""
    fwd = wat_file("fwd", FORWARD)
    cfg = Config(
        plugins={
            "a": spec(fwd, imports={"extism:host/user.next": "b.shout"}),
            "b": spec(fwd, instances=2, imports={"extism:host/user.next": "b.echo"}),
        }
    )
    async with new_orchestra(cfg) as orch:
        assert await orch.call("a", "run", b"hello") == b"hello!"
        results: dict[int, bytes] = {}

        async def one(i: int) -> None:
            results[i] = await orch.call("a", "run", f"r{i}".encode())

        async with anyio.create_task_group() as tg:
            for i in range(200):
                tg.start_soon(one, i)
        assert results == {i: f"r{i}!".encode() for i in range(200)}
        assert orch.stats()["b"]["calls"] == 201


async def test_core_route_numbers(wat_file: WatFile, new_orchestra: NewOrchestra) -> None:
    cfg = Config(
        plugins={
            "quad": spec(wat_file("quad", QUAD), imports={"env.twice": "math.twice"}),
            "math": spec(wat_file("twice", TWICE)),
        }
    )
    async with new_orchestra(cfg) as orch:
        assert await orch.call("quad", "quad", [5]) == [20]


async def test_route_error_surfaces_as_host_function_error(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """A failure on the far side comes back to A as HostFunctionError with the cause."""
    fwd = wat_file("fwd", FORWARD)
    cfg = Config(
        plugins={
            "a": spec(fwd, imports={"extism:host/user.next": "b.nosuch"}),
            "b": spec(fwd, imports={"extism:host/user.next": "b.echo"}),
        }
    )
    async with new_orchestra(cfg) as orch:
        with pytest.raises(
            HostFunctionError,
            match=r"route to b\.nosuch failed: CallError: .*Function not found: nosuch",
        ):
            await orch.call("a", "run", b"x")
        assert await orch.call("a", "echo", b"still ok") == b"still ok"


async def test_cycle_without_a_free_instance_is_refused_at_once(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """a.run -> b.run -> a.echo with one instance of a: a#0 waits on the chain, so the
    call back into a is refused with a clear error instead of deadlocking."""
    fwd = wat_file("fwd", FORWARD)
    cfg = Config(
        plugins={
            "a": spec(fwd, imports={"extism:host/user.next": "b.run"}),
            "b": spec(fwd, imports={"extism:host/user.next": "a.echo"}),
        }
    )
    async with new_orchestra(cfg) as orch:
        with anyio.fail_after(10), pytest.raises(CallError) as info:
            await orch.call("a", "run", b"loop")
        assert (
            "route cycle refused: every instance of 'a' is waiting on this chain (a#0 -> b#0 -> a)"
            in str(info.value)
        )


async def test_cycle_with_a_free_instance_is_served(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """The same cycle with two instances of a: the call back runs on the free one."""
    fwd = wat_file("fwd", FORWARD)
    cfg = Config(
        plugins={
            "a": spec(fwd, instances=2, imports={"extism:host/user.next": "b.run"}),
            "b": spec(fwd, imports={"extism:host/user.next": "a.echo"}),
        }
    )
    async with new_orchestra(cfg) as orch:
        with anyio.fail_after(10):
            assert await orch.call("a", "run", b"round trip") == b"round trip"


# core: run(n) = work(n), work imported (served by SLOW's export)
RUN_WORK = """(module
  (import "env" "work" (func $work (param i32) (result i32)))
  (func (export "run") (param i32) (result i32) (call $work (local.get 0))))"""


async def test_target_killed_mid_route_fails_that_call_only(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """The instance serving a routed call is SIGKILLed while it runs: the caller's call
    fails with HostFunctionError naming PluginCrashed, the target restarts, and the
    next routed call is served (the answer comes from the target's wake-up, with no
    task of its own, so its death must still answer it)."""
    cfg = Config(
        plugins={
            "a": spec(wat_file("run", RUN_WORK), imports={"env.work": "slow.work"}),
            "slow": spec(wat_file("slow", SLOW)),
        }
    )
    async with new_orchestra(cfg) as orch:
        assert await orch.call("a", "run", [3]) == [3]
        async with anyio.create_task_group() as tg:

            async def kill_when_busy() -> None:
                while orch.stats()["slow"]["in_flight"] == 0:
                    await anyio.sleep(0.005)
                os.kill(orch.stats()["slow"]["pids"][0], signal.SIGKILL)

            tg.start_soon(kill_when_busy)
            with (
                anyio.fail_after(30),
                pytest.raises(
                    HostFunctionError, match=r"route to slow\.work failed: PluginCrashed"
                ),
            ):
                await orch.call("a", "run", [2_000_000])
        with anyio.fail_after(30):
            assert await orch.call("a", "run", [5]) == [5]
        assert orch.stats()["slow"]["restarts"] == 1
        assert orch.stats()["slow"]["calls"] == 3
