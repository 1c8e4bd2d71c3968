"""Admission of waiting callers: many calls at once, and cancelling many waiters.

    python benchmarks/bench_admission.py [--calls N] [--cancel N] [--backend asyncio|trio]

Rows:

* ``N calls at once``: N caller tasks started together against one ``add`` instance
  (``max_in_flight`` 32, so nearly all of them queue): wall time, calls/s, and the
  growth of this process's RSS (supervisor and callers are this one process);
* ``N callers in turn``: the same number of calls made by 128 callers one after
  another (the pace without a queue, for comparison);
* ``cancel N waiters``: N callers queued behind a busy instance (a host function
  holds its only slot), then cancelled at once: the time until every caller has
  gone.

Only ratios within one run mean anything on a shared machine. Nothing here asserts
on timings.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

import anyio  # noqa: E402
import psutil  # noqa: E402

from orchestra import Config, Orchestra  # noqa: E402
from orchestra.config import Duration, HostPluginsSpec, Limits, PluginSpec  # noqa: E402
from orchestra.testing import ADD, GATE_HOSTPLUGIN, GATED  # noqa: E402


def _rss() -> int:
    return int(psutil.Process().memory_info().rss)


async def _peak_rss(box: list[int], stop: anyio.Event) -> None:
    while not stop.is_set():
        box[0] = max(box[0], _rss())
        await anyio.sleep(0.05)


async def at_once(orch: Orchestra, n: int) -> tuple[float, int]:
    """N callers started together: seconds, peak RSS growth in bytes."""
    gc.collect()
    base = _rss()
    peak = [base]
    stop = anyio.Event()
    started = time.perf_counter()
    async with anyio.create_task_group() as outer:
        outer.start_soon(_peak_rss, peak, stop)

        async def one() -> None:
            await orch.call("add", "add", [1, 2])

        async with anyio.create_task_group() as tg:
            for _ in range(n):
                tg.start_soon(one)
        elapsed = time.perf_counter() - started
        stop.set()
    return elapsed, peak[0] - base


async def in_turn(orch: Orchestra, n: int, callers: int = 128) -> float:
    left = [n]

    async def caller() -> None:
        while left[0] > 0:
            left[0] -= 1
            await orch.call("add", "add", [1, 2])

    started = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(callers):
            tg.start_soon(caller)
    return time.perf_counter() - started


async def cancel_waiters(orch: Orchestra, n: int, gate: Path) -> float:
    """N callers queued behind a busy instance, cancelled together: seconds."""
    gate.touch()
    async with anyio.create_task_group() as hold:
        hold.start_soon(orch.call, "gated", "hold", [])  # busy until the gate opens
        while orch.stats()["gated"]["in_flight"] < 1:
            await anyio.sleep(0.01)
        with anyio.CancelScope() as scope:
            async with anyio.create_task_group() as tg:
                for _ in range(n):
                    tg.start_soon(orch.call, "gated", "hold", [])
                while orch.stats()["gated"]["waiting"] < n:
                    await anyio.sleep(0.05)
                started = time.perf_counter()
                scope.cancel()
        elapsed = time.perf_counter() - started
        gate.unlink()
    return elapsed


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        add = Path(tmp, "add.wat")
        add.write_text(ADD)
        gated = Path(tmp, "gated.wat")
        gated.write_text(GATED)
        Path(tmp, "gate.py").write_text(GATE_HOSTPLUGIN)
        gate = Path(tmp, "closed")
        cfg = Config(
            plugins={
                "add": PluginSpec(source=str(add)),
                "gated": PluginSpec(
                    source=str(gated),
                    max_in_flight=1,
                    host_modules=["gate"],
                    limits=Limits(timeout=Duration(300)),
                ),
            },
            host_plugins=HostPluginsSpec(paths=[tmp], options={"gate": {"file": str(gate)}}),
        )
        async with Orchestra(cfg, shutdown_grace=0.5) as orch:
            await in_turn(orch, 2000)  # warm-up
            seconds, grew = await at_once(orch, args.calls)
            row(
                f"{args.calls:,} calls at once",
                f"{seconds:.2f} s ({args.calls / seconds:,.0f} calls/s)",
                f"RSS +{grew / 2**20:,.0f} MiB ({grew / args.calls:,.0f} B/caller)",
            )
            seconds = await in_turn(orch, args.calls)
            row(
                f"{args.calls:,} calls, 128 callers",
                f"{seconds:.2f} s ({args.calls / seconds:,.0f} calls/s)",
            )
            seconds = await cancel_waiters(orch, args.cancel, gate)
            assert await orch.call("add", "add", [2, 2]) == [4]
            row(f"cancel {args.cancel:,} waiters", f"{seconds:.2f} s")


def row(name: str, value: str, extra: str = "") -> None:
    print(f"{name:<28}  {value:<32} {extra}", flush=True)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=100_000)
    parser.add_argument("--cancel", type=int, default=100_000)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    ns = parser.parse_args()
    anyio.run(main, ns, backend=ns.backend)
