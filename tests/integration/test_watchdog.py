"""The watchdog measures the running call's own progress: a worker stuck in a call
that keeps sending frames which are not answers (heartbeats, logs) is still killed
after ``limits.timeout`` plus the grace."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from orchestra import Config, Orchestra, PluginTimeout
from orchestra.config import Duration, HostPluginsSpec, Limits, PluginSpec

pytestmark = pytest.mark.anyio
WatFile = Callable[[str, str], Path]
NewOrchestra = Callable[..., Orchestra]  # the new_orchestra fixture: local, then ray

# A host function that never returns but keeps the worker's protocol socket busy,
# as a wedged worker with a live heartbeat would: it finds the socket in the frame
# of the serve loop that called it.
CHATTY = """
import sys, time
from orchestra.hostplugins import HostModule, i32
from orchestra.wire import Heartbeat, Log, encode

chatty = HostModule("chatty")

@chatty.function
def stuck() -> i32:
    frame = sys._getframe()
    while frame is not None and not (
        frame.f_code.co_name == "serve" and "sock" in frame.f_locals
    ):
        frame = frame.f_back
    sock = frame.f_locals["sock"]
    seq = 0
    while True:
        seq += 1
        sock.sendall(encode(Heartbeat(seq=seq)) + encode(Log(level="debug", event="busy")))
        time.sleep(0.05)

@chatty.function
def ok() -> i32:
    return 1
"""
CALLER = """(module
  (import "chatty" "stuck" (func $stuck (result i32)))
  (import "chatty" "ok" (func $ok (result i32)))
  (func (export "stuck") (result i32) (call $stuck))
  (func (export "ok") (result i32) (call $ok)))"""


async def test_a_stuck_worker_that_keeps_talking_is_killed_on_time(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    (tmp_path / "hp").mkdir()
    (tmp_path / "hp" / "chatty.py").write_text(CHATTY)
    cfg = Config(
        plugins={
            "chatty": PluginSpec(
                source=str(wat_file("chatty", CALLER)),
                host_modules=["chatty"],
                limits=Limits(timeout=Duration(0.3)),
            )
        },
        host_plugins=HostPluginsSpec(paths=[str(tmp_path / "hp")]),
    )
    async with new_orchestra(cfg) as orch:
        # Killed at 0.3 s + the 2 s grace; without the fix never (frames keep coming).
        with anyio.fail_after(20), pytest.raises(PluginTimeout, match="watchdog"):
            await orch.call("chatty", "stuck", [])
        with anyio.fail_after(20):
            while orch.stats()["chatty"]["ready"] < 1:
                await anyio.sleep(0.02)
        assert await orch.call("chatty", "ok", []) == [1]
