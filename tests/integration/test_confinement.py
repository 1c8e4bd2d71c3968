"""Local workers at the OS level: they die with their supervisor in every start mode,
and a plug-in's ``sandbox:`` confines them (no_new_privs, capabilities, rlimits,
seccomp) beyond what the wasm sandbox stops.

Local only, all of it: these are properties of a process the local backend starts
(a Ray actor is a Ray worker process, and ``sandbox:`` is not applied there).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from orchestra.testing import LOOP

from ..conftest import REPO

WatFile = Callable[[str, str], Path]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# The supervisor under test, in its own process so that the test can SIGKILL it:
# two instances, both busy in a call that never ends (an infinite loop with an hour's
# timeout, or the faulty worker's spin), then it prints their pids.
SUPERVISOR = """
import anyio, os, sys
from orchestra import Orchestra, Config
from orchestra.backends.local import LocalBackend
from orchestra.config import Duration, Limits, PluginSpec

async def main():
    spec = PluginSpec(source={src!r}, instances=2, limits=Limits(timeout=Duration(3600)))
    custom = {custom!r}
    backend = LocalBackend(worker_module="orchestra.testing.faulty_worker") if custom else None
    export, args = ("add", [1, 2]) if custom else ("spin", [])
    async with Orchestra(Config(plugins={{"busy": spec}}), backend=backend) as orch:
        async def call():
            try:
                await orch.call("busy", export, args)
            except Exception as exc:
                print("call failed:", exc, file=sys.stderr, flush=True)
        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(call)
            pids = orch.stats()["busy"]["pids"]
            # Both calls are running once both workers burn CPU.
            while not all(_cpu(pid) > 0.05 for pid in pids):
                await anyio.sleep(0.05)
            print(" ".join(map(str, pids)), flush=True)
            await anyio.sleep(3600)

def _cpu(pid):
    with open(f"/proc/{{pid}}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

anyio.run(main, backend={backend!r})
"""


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
@pytest.mark.parametrize("start_method", ["zygote", "spawn", "custom"])
def test_busy_workers_die_with_a_sigkilled_supervisor(
    tmp_path: Path, wat_file: WatFile, start_method: str, anyio_backend: str
) -> None:
    """No orphans in any start mode (zygote fork, fresh interpreter, a custom worker
    module) under either event loop: SIGKILL the supervisor while its workers are busy
    in wasm (or spinning in Python) and every worker goes too, within a bounded wait."""
    src = wat_file("spin", LOOP)
    script = tmp_path / "sup.py"
    script.write_text(
        textwrap.dedent(
            SUPERVISOR.format(src=str(src), custom=start_method == "custom", backend=anyio_backend)
        )
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "ORCHESTRA_FAULT": "busy"}
    if start_method != "custom":
        env["ORCHESTRA_START_METHOD"] = start_method
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(p) for p in pids)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [p for p in pids if alive(p)]
    for pid in survivors:  # leave nothing spinning on a shared machine
        psutil.Process(pid).kill()
    assert survivors == []
