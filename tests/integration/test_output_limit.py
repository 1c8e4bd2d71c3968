"""``limits.output``: an output over it fails that call with PluginOutputTooLarge,
checked in the worker before anything is sent, so the worker keeps serving (no
restart, no frame limit reached) and the supervisor logs it once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import structlog

from orchestra import HostFunctionError, Orchestra, PluginOutputTooLarge
from orchestra.config import Config, Limits, PluginSpec, Size
from orchestra.testing import FORWARD

pytestmark = pytest.mark.anyio
WatFile = Callable[[str, str], Path]
NewOrchestra = Callable[..., Orchestra]
MIB = 1 << 20


def forward(wat_file: WatFile, next_: str, output: int | None = None) -> PluginSpec:
    limits = Limits(output=Size(output)) if output else Limits()
    return PluginSpec(
        source=str(wat_file("forward", FORWARD)),
        imports={"extism:host/user.next": next_},
        limits=limits,
    )


async def test_output_over_the_limit_fails_that_call_only(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """2 MiB out of a plug-in limited to 1 MiB: PluginOutputTooLarge for that call,
    logged once; the same worker then serves normal calls (and one exactly at the
    limit); nothing restarted."""
    cfg = Config(plugins={"fwd": forward(wat_file, "fwd.echo", MIB)})
    structlog.reset_defaults()  # an earlier Orchestra may have installed a level filter
    with structlog.testing.capture_logs() as logs:
        async with new_orchestra(cfg) as orch:
            pids = orch.stats()["fwd"]["pids"]
            with pytest.raises(PluginOutputTooLarge) as info:
                await orch.call("fwd", "echo", b"x" * (2 * MIB))
            assert str(info.value) == (
                "fwd.echo instance 0: output of 2097152 bytes exceeds limits.output (1048576 bytes)"
            )
            assert await orch.call("fwd", "echo", b"small") == b"small"
            assert await orch.call("fwd", "echo", b"y" * MIB) == b"y" * MIB
            stats = orch.stats()["fwd"]
            assert stats["restarts"] == 0
            assert stats["pids"] == pids
    too_large = [e for e in logs if e["event"] == "call_output_too_large"]
    assert len(too_large) == 1
    assert too_large[0]["plugin"] == "fwd" and too_large[0]["export"] == "echo"
    assert [e for e in logs if e["event"] in {"worker_protocol_error", "worker_killed"}] == []


async def test_routed_call_output_over_the_limit(
    wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """A routed call whose target's output is over the target's limit: the target is
    untouched and the caller's import fails with HostFunctionError naming it; an
    input routed out of a plug-in is bounded by that plug-in's own limit."""
    cfg = Config(
        plugins={
            "a": forward(wat_file, "b.echo"),
            "b": forward(wat_file, "b.echo", MIB),
            "c": forward(wat_file, "a.echo", MIB),
        }
    )
    async with new_orchestra(cfg) as orch:
        with pytest.raises(HostFunctionError, match=r"PluginOutputTooLarge: b\.echo instance 0"):
            await orch.call("a", "run", b"x" * (2 * MIB))
        assert await orch.call("a", "run", b"fine") == b"fine"
        with pytest.raises(
            PluginOutputTooLarge,
            match=r"routed input to a\.echo of 2097152 bytes exceeds limits\.output",
        ):
            await orch.call("c", "run", b"x" * (2 * MIB))
        assert await orch.call("c", "run", b"fine") == b"fine"
        assert {name: s["restarts"] for name, s in orch.stats().items()} == {
            "a": 0,
            "b": 0,
            "c": 0,
        }
