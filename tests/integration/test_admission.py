"""Callers waiting for a free instance: first come first served, cheap to cancel,
bounded by ``max_waiting`` (then ``Overloaded`` at once), routed calls that must
avoid some instances included.

The plug-ins grant a Python host plug-in (``gate``) whose ``wait`` blocks while a
file exists: the test, not the timing, decides how long an instance stays busy.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import anyio.abc
import pytest

from orchestra import Config, Orchestra, Overloaded
from orchestra.config import HostPluginsSpec, PluginSpec
from orchestra.testing import FORWARD, GATE_HOSTPLUGIN, GATED

pytestmark = pytest.mark.anyio
WatFile = Callable[[str, str], Path]
NewOrchestra = Callable[..., Orchestra]  # the new_orchestra fixture: local, then ray

# extism: FORWARD with ``hold`` too.
GATED_FORWARD = FORWARD.replace(
    '(func (export "run")',
    '(import "gate" "wait" (func $wait (result i32)))\n'
    '  (func (export "hold") (result i32) (drop (call $wait)) (i32.const 0))\n'
    '  (func (export "run")',
)


def gated(tmp_path: Path, plugins: dict[str, PluginSpec]) -> tuple[Config, Path]:
    (tmp_path / "hp").mkdir()
    (tmp_path / "hp" / "gate.py").write_text(GATE_HOSTPLUGIN)
    gate = tmp_path / "closed"
    gate.touch()
    cfg = Config(
        plugins=plugins,
        host_plugins=HostPluginsSpec(
            paths=[str(tmp_path / "hp")], options={"gate": {"file": str(gate)}}
        ),
    )
    return cfg, gate


def one_slot(wat_file: WatFile, **kw: object) -> PluginSpec:
    return PluginSpec(
        source=str(wat_file("gated", GATED)),
        host_modules=["gate"],
        max_in_flight=1,
        **kw,  # type: ignore[arg-type]
    )


async def until(predicate: Callable[[], bool]) -> None:
    with anyio.fail_after(30):
        while not predicate():
            await anyio.sleep(0)


async def queue_in_order(
    tg: anyio.abc.TaskGroup,
    orch: Orchestra,
    n: int,
    results: dict[int, object],
    plugin: str = "p",
) -> None:
    """Start ``n`` callers of ``plugin.next``, each only once the one before waits (so
    their arrival order is known); caller i's answer goes to ``results[i]``."""

    async def one(i: int) -> None:
        results[i] = await orch.call(plugin, "next", [])

    base = orch.stats()[plugin]["waiting"]
    for i in range(n):
        tg.start_soon(one, i)
        await until(lambda want=base + i + 1: orch.stats()[plugin]["waiting"] == want)


async def test_waiters_are_served_first_come_first_served(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """300 callers queued one after another behind a busy instance run in that order."""
    cfg, gate = gated(tmp_path, {"p": one_slot(wat_file)})
    async with new_orchestra(cfg) as orch:
        results: dict[int, object] = {}
        async with anyio.create_task_group() as tg:
            tg.start_soon(orch.call, "p", "hold", [])
            await until(lambda: orch.stats()["p"]["in_flight"] == 1)
            await queue_in_order(tg, orch, 300, results)
            gate.unlink()
        assert results == {i: [i + 1] for i in range(300)}
        assert orch.stats()["p"]["waiting"] == 0


async def test_cancelled_waiters_leave_nothing_behind(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """5,000 waiting callers cancelled at once: none of their calls ever runs, and the
    callers who come after them are served first, in order."""
    cfg, gate = gated(tmp_path, {"p": one_slot(wat_file)})
    async with new_orchestra(cfg) as orch:
        async with anyio.create_task_group() as tg:
            tg.start_soon(orch.call, "p", "hold", [])
            await until(lambda: orch.stats()["p"]["in_flight"] == 1)
            with anyio.CancelScope() as scope:
                async with anyio.create_task_group() as waiters:
                    for _ in range(5000):
                        waiters.start_soon(orch.call, "p", "next", [])
                    await until(lambda: orch.stats()["p"]["waiting"] == 5000)
                    scope.cancel()
            assert orch.stats()["p"]["waiting"] == 0
            results: dict[int, object] = {}
            await queue_in_order(tg, orch, 3, results)
            gate.unlink()
        assert results == {0: [1], 1: [2], 2: [3]}


async def test_max_waiting_sheds_load_with_overloaded(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """Past max_waiting a call fails at once with Overloaded; those waiting are
    served as usual."""
    cfg, gate = gated(tmp_path, {"p": one_slot(wat_file, max_waiting=3)})
    async with new_orchestra(cfg) as orch:
        results: dict[int, object] = {}
        async with anyio.create_task_group() as tg:
            tg.start_soon(orch.call, "p", "hold", [])
            await until(lambda: orch.stats()["p"]["in_flight"] == 1)
            await queue_in_order(tg, orch, 3, results)
            with pytest.raises(Overloaded) as info:
                await orch.call("p", "next", [])
            assert str(info.value) == (
                "p.next: every instance is busy and 3 callers already wait (max_waiting: 3); "
                "retry later, or raise plugins.p.max_waiting or instances"
            )
            assert orch.stats()["p"]["overloaded"] == 1
            gate.unlink()
        assert results == {0: [1], 1: [2], 2: [3]}


async def test_routed_call_avoiding_a_busy_instance_waits_with_the_others(
    tmp_path: Path, new_orchestra: NewOrchestra, wat_file: WatFile
) -> None:
    """a.run on a#1 routes to b.run, which routes back to a.echo and must avoid a#1
    (it waits up the chain); a#0 is busy, so that call waits, next to a plain call
    queued after it. Once a#0 frees, both are served."""
    fwd = wat_file("gated_forward", GATED_FORWARD)
    cfg, gate = gated(
        tmp_path,
        {
            "a": PluginSpec(
                source=str(fwd),
                instances=2,
                max_in_flight=1,
                host_modules=["gate"],
                imports={"extism:host/user.next": "b.run"},
            ),
            "b": PluginSpec(
                source=str(fwd),
                host_modules=["gate"],
                imports={"extism:host/user.next": "a.echo"},
            ),
        },
    )
    async with new_orchestra(cfg) as orch:
        results: dict[str, bytes] = {}

        async def one(export: str, data: bytes) -> None:
            results[export] = await orch.call("a", export, data)

        async with anyio.create_task_group() as tg:
            tg.start_soon(orch.call, "a", "hold", b"")
            await until(lambda: orch.stats()["a"]["in_flight"] == 1)
            tg.start_soon(one, "run", b"round trip")
            await until(lambda: orch.stats()["a"]["waiting"] == 1)  # the routed a.echo
            tg.start_soon(one, "echo", b"plain")
            await until(lambda: orch.stats()["a"]["waiting"] == 2)
            gate.unlink()
        assert results == {"run": b"round trip", "echo": b"plain"}
        assert orch.stats()["a"]["waiting"] == 0
