"""Pipeline stages send records in batches (``CallBatch``): every record still gets
exactly one result, its own, under traps, timeouts, crashes and retries mid-batch."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import anyio
import pytest

from orchestra import (
    Config,
    Orchestra,
    PluginCrashed,
    PluginTimeout,
    PluginTrap,
    RecordResult,
)
from orchestra.config import (
    Backoff,
    Duration,
    HostPluginsSpec,
    Limits,
    PipelineSpec,
    PluginSpec,
    Restart,
    Retry,
    Stage,
)

pytestmark = pytest.mark.anyio
WatFile = Callable[[str, str], Path]

# Extism: ``judge`` echoes its input unless the input's first byte says otherwise:
# T traps, L loops (a timeout), X calls a host function that kills the worker.
JUDGE = """(module
  (import "extism:host/env" "input_length" (func $input_length (result i64)))
  (import "extism:host/env" "input_offset" (func $input_offset (result i64)))
  (import "extism:host/env" "input_load_u8" (func $input_load_u8 (param i64) (result i32)))
  (import "extism:host/env" "output_set" (func $output_set (param i64 i64)))
  (import "faults" "die" (func $die (result i32)))
  (func (export "judge") (result i32)
    (local $c i32)
    (local.set $c (call $input_load_u8 (i64.const 0)))
    (if (i32.eq (local.get $c) (i32.const 84)) (then unreachable))
    (if (i32.eq (local.get $c) (i32.const 76)) (then (loop $l (br $l))))
    (if (i32.eq (local.get $c) (i32.const 88)) (then (drop (call $die))))
    (call $output_set (call $input_offset) (call $input_length))
    (i32.const 0)))"""
FAULTS = """
import os
from orchestra.hostplugins import HostModule, i32
faults = HostModule("faults")

@faults.function
def die() -> i32:
    os._exit(9)
"""
MANY_RESTARTS = Restart(
    max_restarts=50,
    within=Duration(60),
    backoff=Backoff(initial=Duration(0.01), max=Duration(0.01), jitter=0),
)


def config(wat_file: WatFile, tmp_path: Path, **spec: object) -> Config:
    (tmp_path / "hp").mkdir(exist_ok=True)
    (tmp_path / "hp" / "faults.py").write_text(FAULTS)
    return Config(
        plugins={
            "judge": PluginSpec(
                source=str(wat_file("judge", JUDGE)),
                host_modules=["faults"],
                restart=MANY_RESTARTS,
                **spec,  # type: ignore[arg-type]
            )
        },
        host_plugins=HostPluginsSpec(paths=[str(tmp_path / "hp")]),
        pipelines={
            "p": PipelineSpec(stages=[Stage(plugin="judge", export="judge")], on_error="skip")
        },
    )


async def run(orch: Orchestra, records: list[bytes]) -> list[RecordResult]:
    with anyio.fail_after(60):
        return [res async for res in orch.run_pipeline("p", records)]


def check_each_once(results: list[RecordResult], records: list[bytes]) -> None:
    """One result per record, in input order; every ok one is its own echo."""
    assert [r.index for r in results] == list(range(len(records)))
    for r in results:
        assert r.input == records[r.index]
        if r.ok:
            assert r.output == records[r.index]


async def test_traps_in_a_batch_fail_only_their_records(wat_file: WatFile, tmp_path: Path) -> None:
    records = [(b"T" if i % 7 == 3 else b"r") + b"%05d" % i for i in range(3000)]
    async with Orchestra(config(wat_file, tmp_path, instances=2)) as orch:
        results = await run(orch, records)
        stats = orch.stats()["judge"]
    check_each_once(results, records)
    for r in results:
        if records[r.index].startswith(b"T"):
            assert not r.ok and isinstance(r.error, PluginTrap), r
        else:
            assert r.ok, r
    assert stats["restarts"] == 0 and stats["errors"] == sum(not r.ok for r in results)


async def test_timeouts_in_a_batch_fail_only_their_records(
    wat_file: WatFile, tmp_path: Path
) -> None:
    """An epoch timeout ends one call; the batch goes on in a fresh store."""
    records = [(b"L" if i in (5, 40) else b"r") + b"%04d" % i for i in range(200)]
    cfg = config(wat_file, tmp_path, instances=2, limits=Limits(timeout=Duration(0.2)))
    async with Orchestra(cfg) as orch:
        results = await run(orch, records)
        assert orch.stats()["judge"]["restarts"] == 0
    check_each_once(results, records)
    failed = {r.index: r.error for r in results if not r.ok}
    assert set(failed) == {5, 40}
    assert all(isinstance(e, PluginTimeout) for e in failed.values())


async def test_a_crash_mid_batch_fails_only_the_records_that_worker_held(
    wat_file: WatFile, tmp_path: Path
) -> None:
    records = [(b"X" if i == 1000 else b"r") + b"%05d" % i for i in range(3000)]
    async with Orchestra(config(wat_file, tmp_path, instances=2)) as orch:
        results = await run(orch, records)
        stats = orch.stats()["judge"]
    check_each_once(results, records)
    failed = [r for r in results if not r.ok]
    assert 1000 in {r.index for r in failed}
    assert all(isinstance(r.error, PluginCrashed) for r in failed)
    # Only what the crashed worker held: its batches (at most max_in_flight calls).
    assert len(failed) <= PluginSpec(source="x").max_in_flight
    assert stats["restarts"] == 1


async def test_retry_resends_only_the_crashed_records_of_a_batch(
    wat_file: WatFile, tmp_path: Path
) -> None:
    """With ``retry:`` the records a crash took are sent again (each answered once);
    the one that kills its worker every time fails after its attempts."""
    records = [(b"X" if i == 700 else b"r") + b"%05d" % i for i in range(2000)]
    cfg = config(wat_file, tmp_path, instances=2, retry=Retry(attempts=3))
    async with Orchestra(cfg) as orch:
        results = await run(orch, records)
        stats = orch.stats()["judge"]
    check_each_once(results, records)
    failed = [r for r in results if not r.ok]
    assert [r.index for r in failed] == [700]
    assert isinstance(failed[0].error, PluginCrashed)
    assert stats["restarts"] == 3  # one per attempt of record 700


async def test_batch_sizes_follow_the_calls_cost(wat_file: WatFile, tmp_path: Path) -> None:
    """Cheap calls go in large batches; before any is timed, small ones."""
    async with Orchestra(config(wat_file, tmp_path)) as orch:
        pool = orch.supervisor.pools["judge"]
        assert pool.batch_size("judge") == 4
        await run(orch, [b"r%05d" % i for i in range(2000)])
        assert pool.batch_size("judge") == pool.spec.max_in_flight // 2
