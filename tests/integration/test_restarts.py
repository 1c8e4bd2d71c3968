"""Failed restarts: a worker that dies, hangs or cannot load while it *restarts* is one
more failure against that plug-in's restart budget, never the supervisor's end.

The plug-in under test grants a Python host plug-in (``startctl``) whose ``init``
reads flag files in a folder the test owns: ``slow`` makes every start write its pid
to ``starting.pid`` and hang, ``fail`` makes every start fail to load, ``die`` makes
the ``maybe_die`` host function SIGKILL its own worker. So the test, not the timing,
decides when a start goes wrong, on either backend.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from orchestra import Config, Orchestra, PluginCrashed, PluginUnavailable
from orchestra.config import (
    Backoff,
    Duration,
    HostPluginsSpec,
    PluginSpec,
    Restart,
)
from orchestra.testing import ADD

from ..conftest import REPO

pytestmark = pytest.mark.anyio
WatFile = Callable[[str, str], Path]
NewOrchestra = Callable[..., Orchestra]  # the new_orchestra fixture: local, then ray

STARTCTL = """
import os, signal, time
from pathlib import Path
from orchestra.hostplugins import HostModule, i32

PLUGIN_NAME = "startctl"
ctl = HostModule("startctl")
FLAGS = Path(".")

def init(options):
    global FLAGS
    FLAGS = Path(options["dir"])
    if (FLAGS / "fail").exists():
        raise RuntimeError("told to fail")
    if (FLAGS / "slow").exists():
        (FLAGS / "starting.pid.part").write_text(str(os.getpid()))
        (FLAGS / "starting.pid.part").rename(FLAGS / "starting.pid")
        time.sleep(120)

@ctl.function
def ok() -> i32:
    return 1

@ctl.function
def maybe_die() -> i32:
    if (FLAGS / "die").exists():
        os.kill(os.getpid(), signal.SIGKILL)
    return 1
"""
CONTROLLED = """(module
  (import "startctl" "ok" (func $ok (result i32)))
  (import "startctl" "maybe_die" (func $maybe_die (result i32)))
  (func (export "ok") (result i32) (call $ok))
  (func (export "work") (param i32) (result i32)
    (drop (call $maybe_die)) (local.get 0)))"""


def budget(max_restarts: int, backoff: float = 0.01) -> Restart:
    return Restart(
        max_restarts=max_restarts,
        within=Duration(60),
        backoff=Backoff(initial=Duration(backoff), max=Duration(backoff), jitter=0),
    )


def controlled(
    tmp_path: Path, wat_file: WatFile, restart: Restart, **kw: object
) -> tuple[Config, Path]:
    """A config with ``victim`` (the controlled plug-in) and a healthy ``add``; the
    flag folder."""
    flags = tmp_path / "flags"
    flags.mkdir()
    (tmp_path / "hp").mkdir()
    (tmp_path / "hp" / "startctl.py").write_text(STARTCTL)
    cfg = Config(
        plugins={
            "victim": PluginSpec(
                source=str(wat_file("victim", CONTROLLED)),
                host_modules=["startctl"],
                restart=restart,
                **kw,  # type: ignore[arg-type]
            ),
            "add": PluginSpec(source=str(wat_file("add", ADD))),
        },
        host_plugins=HostPluginsSpec(
            paths=[str(tmp_path / "hp")], options={"startctl": {"dir": str(flags)}}
        ),
    )
    return cfg, flags


async def wait_for(predicate: Callable[[], bool], seconds: float = 30) -> None:
    with anyio.fail_after(seconds):
        while not predicate():
            await anyio.sleep(0.01)


async def starting_pid(flags: Path) -> int:
    """The pid of the worker now hanging in its start (``slow``), once it is there."""
    pid_file = flags / "starting.pid"
    await wait_for(pid_file.exists)
    pid = int(pid_file.read_text())
    pid_file.unlink()
    return pid


def kill_victim(orch: Orchestra) -> None:
    os.kill(orch.stats()["victim"]["pids"][0], signal.SIGKILL)


async def test_worker_killed_while_restarting_is_retried(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """SIGKILL a worker while it restarts: that restart failed, it counts against the
    budget (logged and in the failures), the next one succeeds; the other plug-in
    never notices and every call is answered exactly once."""
    cfg, flags = controlled(tmp_path, wat_file, budget(5))
    async with new_orchestra(cfg) as orch:
        add_pid = orch.stats()["add"]["pids"][0]
        answers: list[object] = []

        async def call() -> None:
            try:
                answers.append(await orch.call("victim", "work", [7]))
            except PluginCrashed as exc:
                answers.append(exc)

        (flags / "slow").touch()
        kill_victim(orch)
        await wait_for(lambda: orch.stats()["victim"]["ready"] == 0)
        async with anyio.create_task_group() as tg:
            for _ in range(20):  # made while no instance is ready: they wait
                tg.start_soon(call)
            hung = await starting_pid(flags)
            (flags / "slow").unlink()  # the next start is quick
            os.kill(hung, signal.SIGKILL)  # this one dies while starting
        assert answers == [[7]] * 20
        stats = orch.stats()["victim"]
        assert stats["ready"] == 1 and stats["failed"] is None and stats["restarts"] == 2
        assert any(
            "restart failed: worker" in f and "before it was ready" in f for f in stats["failures"]
        )
        assert orch.stats()["add"]["pids"] == [add_pid]
        assert await orch.call("add", "add", [1, 2]) == [3]


async def test_restart_that_cannot_load_spends_the_budget_of_that_plugin_only(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """The wasm file removed, then the worker killed: every restart fails to load,
    the budget is spent, and the plug-in alone becomes PluginUnavailable (calls
    waiting for it too); the other plug-in keeps serving."""
    cfg, _ = controlled(tmp_path, wat_file, budget(2))
    source = Path(cfg.plugins["victim"].source)
    async with new_orchestra(cfg) as orch:
        add_pid = orch.stats()["add"]["pids"][0]
        source.unlink()
        kill_victim(orch)
        with anyio.fail_after(30), pytest.raises(PluginUnavailable) as info:
            while True:  # waits while restarts are tried, then fails
                try:
                    await orch.call("victim", "work", [1])
                except PluginCrashed:
                    continue
        assert "more than 2 restarts within 60s" in str(info.value)
        assert sum("restart failed" in f for f in info.value.failures) == 2
        assert "victim.wat" in info.value.failures[-1]
        assert orch.stats()["victim"]["failed"]
        assert orch.stats()["add"]["pids"] == [add_pid]
        assert await orch.call("add", "add", [2, 2]) == [4]


async def test_restored_file_recovers_before_the_budget_is_spent(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """A restart that fails (file gone) backs off and tries again; once the file is
    back, the next restart serves."""
    cfg, _ = controlled(tmp_path, wat_file, budget(20, backoff=0.2))
    source = Path(cfg.plugins["victim"].source)
    text = source.read_text()
    async with new_orchestra(cfg) as orch:
        source.unlink()
        kill_victim(orch)
        await wait_for(lambda: "restart failed" in str(orch.stats()["victim"]["failures"]))
        source.write_text(text)
        await wait_for(lambda: orch.stats()["victim"]["ready"] == 1)
        assert await orch.call("victim", "work", [5]) == [5]
        assert orch.stats()["victim"]["failed"] is None


async def test_restart_that_times_out_is_retried(
    tmp_path: Path, wat_file: WatFile, new_orchestra: NewOrchestra
) -> None:
    """A restart that does not get ready within start_timeout is killed and counts as
    a failed restart; the next one (no longer slow) serves."""
    # 4 s: a Ray actor must still start and connect back within it.
    cfg, flags = controlled(tmp_path, wat_file, budget(5), start_timeout=Duration(4))
    async with new_orchestra(cfg) as orch:
        (flags / "slow").touch()
        kill_victim(orch)
        hung = await starting_pid(flags)
        (flags / "slow").unlink()  # the next start is quick
        await wait_for(lambda: "did not get ready within 4s" in str(orch.stats()["victim"]))
        await wait_for(lambda: orch.stats()["victim"]["ready"] == 1)
        assert orch.stats()["victim"]["pids"] != [hung]
        assert await orch.call("victim", "work", [3]) == [3]
        assert await orch.call("add", "add", [1, 1]) == [2]


def test_run_loses_no_record_when_restarts_fail(tmp_path: Path, wat_file: WatFile) -> None:
    """`orchestra run` while the plug-in's worker dies and its restarts fail: every
    record is in the output or the dead letters, exactly once; exit 1, no traceback."""
    # Local only: the CLI in a subprocess, on its default backend.
    cfg, flags = controlled(tmp_path, wat_file, budget(2))
    victim = cfg.plugins["victim"]
    config = tmp_path / "run.yaml"
    config.write_text(
        json.dumps(
            {
                "host_plugins": {
                    "paths": [str(tmp_path / "hp")],
                    "options": {"startctl": {"dir": str(flags)}},
                },
                "plugins": {
                    "victim": {
                        "source": victim.source,
                        "instances": 2,
                        "host_modules": ["startctl"],
                        "restart": {"max_restarts": 2, "within": "60s", "backoff": "10ms"},
                    }
                },
                "pipelines": {
                    "p": {
                        "stages": [{"plugin": "victim", "export": "work"}],
                        "on_error": {"dead_letter": str(tmp_path / "dead.jsonl")},
                    }
                },
            }
        )
    )
    records = [f"[{i}]" for i in range(50_000)]
    (tmp_path / "in.txt").write_text("\n".join(records) + "\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "orchestra",
            "run",
            str(config),
            "--input",
            str(tmp_path / "in.txt"),
            "--output",
            str(tmp_path / "out.txt"),
        ],
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    out = tmp_path / "out.txt"
    try:
        deadline = time.monotonic() + 60
        while not (out.exists() and out.stat().st_size > 0) and time.monotonic() < deadline:
            time.sleep(0.02)
        (flags / "fail").touch()  # restarts cannot load from now on
        (flags / "die").touch()  # and the next call kills its worker
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1, err.decode()
    assert b"Traceback" not in err
    ok = [json.loads(line)[0] for line in out.read_text().splitlines()]
    dead = [json.loads(line) for line in (tmp_path / "dead.jsonl").read_text().splitlines()]
    assert ok and dead
    failed = [d["index"] for d in dead]
    assert sorted(ok + failed) == list(range(len(records)))  # each record once
    assert {d["error"] for d in dead} <= {"PluginCrashed", "PluginUnavailable"}
    assert "PluginUnavailable" in {d["error"] for d in dead}
