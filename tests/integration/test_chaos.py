"""Chaos: everything that can go wrong with workers, at once, for a bounded while.

Three plug-ins run side by side under one supervisor while callers keep every
instance busy:

* ``steady`` is never touched: it must see no error, no restart, no new pid.
* ``victim`` has its workers SIGKILLed at random, *including workers that are still
  starting* (any child process not known as steady's is fair game), and its wasm
  file is removed and later restored mid-run, so some restarts fail to load.
* ``noisy`` runs the scripted faulty worker: each start sends one bad frame of
  test_bad_frames' cases (every kind that must kill the worker), until the script
  runs out and the real worker takes over.

Then: every call was answered exactly once (none hangs, none gets two answers),
no answer was wrong (a success is the right bytes, a failure a typed CallError),
the victims recover once the chaos stops, no worker process outlives the
supervisor, and the supervisor's RSS and file descriptors are flat.

Local only: the faulty worker is injected through LocalBackend(worker_module=...),
and killing "any child process" is the local backend's process tree (test_ray.py
kills Ray actors).
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import psutil
import pytest

from orchestra import CallError, Orchestra, PluginCrashed
from orchestra.backends.local import LocalBackend
from orchestra.config import Backoff, Config, Duration, PluginSpec, Restart
from orchestra.testing import FORWARD
from orchestra.testing.faulty_worker import write_script

from .test_bad_frames import CASES

pytestmark = [pytest.mark.anyio, pytest.mark.slow]
WatFile = Callable[[str, str], Path]

WORKER_MODULE = "orchestra.testing.faulty_worker"
CHAOS_SECONDS = 12.0
KILL_EVERY = 0.12
CALLERS = 12
NOT_GONE = {psutil.STATUS_ZOMBIE, psutil.STATUS_DEAD}
ROBUST = Restart(
    max_restarts=100_000,
    within=Duration(60),
    backoff=Backoff(initial=Duration(0.01), max=Duration(0.05), jitter=0),
)


def _crash_cases() -> list[list[list[Any]]]:
    """The scripted cases whose every outcome is a killed worker."""
    return [
        steps
        for steps, outcomes in CASES.values()
        if outcomes and all(kind == "crash" for kind, _ in outcomes)
    ]


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() not in NOT_GONE
    except psutil.NoSuchProcess:
        return False


def _workers() -> set[int]:
    """This process's worker processes (all of them: ready, starting, dying), and
    nothing else it runs (a Ray cluster other tests of the session started)."""
    found = set()
    for child in psutil.Process().children(recursive=True):
        try:
            if WORKER_MODULE in child.cmdline() and _alive(child.pid):
                found.add(child.pid)
        except psutil.Error:
            pass  # gone meanwhile
    return found


async def test_chaos_every_call_answered_once_and_nobody_else_harmed(
    wat_file: WatFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    steady_src = wat_file("steady", FORWARD)
    victim_src = tmp_path / "victim.wat"
    victim_src.write_text(FORWARD)
    script = tmp_path / "script"
    write_script(script, _crash_cases() * 2)
    monkeypatch.setenv("ORCHESTRA_FAULT", "script")
    monkeypatch.setenv("ORCHESTRA_FAULT_SCRIPT", str(script))
    monkeypatch.setenv("ORCHESTRA_FAULT_PLUGIN", "noisy")
    route = {"extism:host/user.next": "steady.shout"}
    cfg = Config(
        plugins={
            "steady": PluginSpec(source=str(steady_src), instances=2, imports=route),
            "victim": PluginSpec(
                source=str(victim_src), instances=3, imports=route, restart=ROBUST
            ),
            "noisy": PluginSpec(source=str(steady_src), instances=2, imports=route, restart=ROBUST),
        }
    )
    # What each export answers for input x (victim.run goes through a route to steady).
    expect = {
        ("steady", "shout"): lambda x: x + b"!",
        ("victim", "shout"): lambda x: x + b"!",
        ("victim", "run"): lambda x: x + b"!",
        ("noisy", "echo"): lambda x: x,
    }
    answers: Counter[tuple[str, str]] = Counter()
    errors: Counter[tuple[str, str]] = Counter()
    wrong: list[str] = []
    seen_pids: set[int] = set()
    rng = random.Random(1234)
    stop = anyio.Event()

    async with Orchestra(cfg, backend=LocalBackend(worker_module=WORKER_MODULE)) as orch:
        steady_pids = set(orch.stats()["steady"]["pids"])
        me = psutil.Process()

        async def caller(n: int) -> None:
            i = 0
            while not stop.is_set():
                plugin, export = rng.choice(list(expect))
                data = f"{n}:{i}".encode()
                i += 1
                answer: object
                with anyio.fail_after(60):  # an unanswered call fails the test here
                    try:
                        answer = await orch.call(plugin, export, data)
                    except CallError as exc:
                        answer = exc
                if isinstance(answer, CallError):
                    errors[plugin, export] += 1
                    if plugin == "steady":
                        wrong.append(f"steady failed: {answer!r}")
                elif answer != expect[plugin, export](data):
                    wrong.append(f"{plugin}.{export}({data!r}) -> {answer!r}")
                answers[plugin, export] += 1

        async def chaos() -> None:
            started = time.monotonic()
            removed = restored = False
            while (elapsed := time.monotonic() - started) < CHAOS_SECONDS:
                await anyio.sleep(KILL_EVERY)
                pids = _workers()
                seen_pids.update(pids)
                fair = sorted(pids - steady_pids)
                if fair:
                    try:
                        os.kill(rng.choice(fair), signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                if not removed and elapsed > CHAOS_SECONDS * 0.3:
                    victim_src.unlink()  # restarts now fail to load
                    removed = True
                elif removed and not restored and elapsed > CHAOS_SECONDS * 0.5:
                    victim_src.write_text(FORWARD)
                    restored = True
            stop.set()

        async def gauges(out: list[tuple[int, int]]) -> None:
            while not stop.is_set():
                out.append((me.memory_info().rss, me.num_fds()))
                await anyio.sleep(0.5)

        await anyio.sleep(0.5)
        samples: list[tuple[int, int]] = []
        async with anyio.create_task_group() as tg:
            for n in range(CALLERS):
                tg.start_soon(caller, n)
            tg.start_soon(gauges, samples)
            await chaos()

        # The chaos is over: the script ends (workers started from now on are real;
        # one still playing a case is killed by its next call), every plug-in serves
        # again, right.
        write_script(script, [])
        with anyio.fail_after(30):
            for (plugin, export), want in expect.items():
                while True:
                    try:
                        got = await orch.call(plugin, export, b"after")
                    except PluginCrashed:
                        assert plugin == "noisy"
                        continue
                    assert got == want(b"after")
                    break
            while any(s["ready"] < s["instances"] for s in orch.stats().values()):
                await anyio.sleep(0.05)
        stats = orch.stats()
        seen_pids.update(_workers())
        end_rss, end_fds = me.memory_info().rss, me.num_fds()

    seen = f"stats {stats}, errors {dict(errors)}, answers {dict(answers)}"
    assert wrong == [], seen
    # Nothing is left held by a worker handle or queued in a pool: no call was
    # lost inside the supervisor (a lost one would also have hung its caller).
    assert all(s["in_flight"] == 0 and s["waiting"] == 0 for s in stats.values()), seen
    assert stats["steady"]["restarts"] == 0 and stats["steady"]["errors"] == 0, seen
    assert set(stats["steady"]["pids"]) == steady_pids, seen
    # The chaos really happened (whether a kill catches a victim holding calls is
    # chance; a noisy worker always fails the call it breaks the protocol on).
    assert stats["victim"]["restarts"] >= 10 and stats["noisy"]["restarts"] >= 10, seen
    assert errors["noisy", "echo"] > 0, seen
    assert not stats["victim"]["failed"] and not stats["noisy"]["failed"], seen
    # No orphans: every worker ever seen is gone with the supervisor.
    deadline = time.monotonic() + 10
    while (left := {p for p in seen_pids if _alive(p)}) and time.monotonic() < deadline:
        await anyio.sleep(0.05)
    assert left == set()
    # Flat: the supervisor's memory and descriptors at the end against the first
    # quarter of the run (workers alive then and now: the same number).
    warm = samples[: max(1, len(samples) // 4)]
    assert end_rss - max(r for r, _ in warm) < 64 << 20, (end_rss, samples)
    assert end_fds <= max(f for _, f in warm) + 8, (end_fds, samples)
