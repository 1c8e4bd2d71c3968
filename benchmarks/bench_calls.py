"""Per-call cost of Orchestra against calling wasmtime in-process, in one run.

    python benchmarks/bench_calls.py [--quick] [--seconds S] [--json FILE]

Rows (see benchmarks/README.md for what each one means):

* ``add(2, 40)`` in-process through wasmtime-py's public ``Func.__call__`` and through
  Orchestra's lean path (``orchestra.runtime.FastFunc``);
* the same call through ``Orchestra.call`` with 1 and 2 instances: sequential awaits
  (single-call latency) and many concurrent caller tasks (throughput);
* a wasi-command plug-in (``examples/plugins/shout.wat``, 1 KiB on stdin, a new store
  per call) in-process and through Orchestra with 2 instances.

Only ratios taken within one run mean anything on a shared machine. Nothing here
asserts on timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

import anyio  # noqa: E402
import structlog  # noqa: E402
import wasmtime  # noqa: E402

from orchestra import Config, Orchestra  # noqa: E402
from orchestra.config import PluginSpec  # noqa: E402
from orchestra.runtime import FastFunc  # noqa: E402
from orchestra.testing import ADD  # noqa: E402

SHOUT_WAT = REPO / "examples" / "plugins" / "shout.wat"
ADD_ARGS = [2, 40]
ADD_RESULT = [42]
SHOUT_INPUT = (b"the quick brown fox jumps over the lazy dog 0123456789 " * 20)[:1024]
SHOUT_OUTPUT = SHOUT_INPUT.upper()

GROUP_ADD = "add"
GROUP_SHOUT = "shout"


@dataclass
class Row:
    """One line of the table. ``latencies_us`` may be empty (not measured)."""

    name: str
    group: str
    calls: int
    seconds: float
    latencies_us: list[float] = field(default_factory=list, repr=False)
    baseline: str = ""  # "public" / "lean": this row is the group's reference
    idle_callers: int = 0  # concurrent rows: callers that completed no call in the window

    @property
    def rate(self) -> float:
        return self.calls / self.seconds if self.seconds > 0 else 0.0

    def pct(self, p: float) -> float | None:
        lat = self.latencies_us
        if not lat:
            return None
        ordered = sorted(lat)
        return ordered[min(len(ordered) - 1, int(p * len(ordered)))]


@dataclass
class Plan:
    """Seconds spent on each measurement (and its warm-up)."""

    seconds: float
    warmup: float
    tasks: int
    max_in_flight: int
    backend: str
    command: bool


# -- in-process --------------------------------------------------------------------


def _throughput_sync(call: Callable[[], object], seconds: float) -> tuple[int, float]:
    """Calls in a tight loop (checking the clock every 64 calls) for ``seconds``."""
    perf = time.perf_counter
    calls = 0
    start = perf()
    deadline = start + seconds
    now = start
    while now < deadline:
        for _ in range(64):
            call()
        calls += 64
        now = perf()
    return calls, now - start


def _latency_sync(call: Callable[[], object], seconds: float) -> list[float]:
    """Each call timed on its own (µs), for ``seconds``."""
    perf = time.perf_counter
    out: list[float] = []
    append = out.append
    deadline = perf() + seconds
    while True:
        t0 = perf()
        call()
        t1 = perf()
        append((t1 - t0) * 1e6)
        if t1 >= deadline:
            return out


def measure_sync(
    name: str, group: str, call: Callable[[], object], plan: Plan, baseline: str = ""
) -> Row:
    """Half the time for throughput (untimed calls), half for per-call latency."""
    _throughput_sync(call, plan.warmup)
    calls, elapsed = _throughput_sync(call, plan.seconds / 2)
    latencies = _latency_sync(call, plan.seconds / 2)
    return Row(name, group, calls, elapsed, latencies, baseline)


def add_public(wat: str) -> Callable[[], object]:
    engine = wasmtime.Engine()
    store = wasmtime.Store(engine)
    instance = wasmtime.Instance(store, wasmtime.Module(engine, wat), [])
    func = instance.exports(store)["add"]
    assert isinstance(func, wasmtime.Func)
    if func(store, *ADD_ARGS) != ADD_RESULT[0]:
        raise RuntimeError("in-process add returned a wrong result")

    def call() -> object:
        return func(store, 2, 40)

    return call


class _LeanAdd:
    """``FastFunc`` holds the store's raw context pointer, not the store, so whoever
    calls it must keep the store (and instance) alive: this object does."""

    def __init__(self, wat: str) -> None:
        engine = wasmtime.Engine()
        self.store = wasmtime.Store(engine)
        self.instance = wasmtime.Instance(self.store, wasmtime.Module(engine, wat), [])
        func = self.instance.exports(self.store)["add"]
        assert isinstance(func, wasmtime.Func)
        self.fast = FastFunc(self.store, func, "add")
        if self.fast.call(ADD_ARGS) != ADD_RESULT:
            raise RuntimeError("FastFunc add returned a wrong result")
        self.args = list(ADD_ARGS)

    def __call__(self) -> object:
        return self.fast.call(self.args)


class _Command:
    """shout.wat as a wasi-command, in-process: stdin from a file, stdout captured,
    a new store and instance per call (what a command needs)."""

    def __init__(self, wat: Path, tmp: Path) -> None:
        self.engine = wasmtime.Engine()
        self.module = wasmtime.Module(self.engine, wat.read_text())
        self.linker = wasmtime.Linker(self.engine)
        self.linker.define_wasi()
        self.pre = self.linker.instantiate_pre(self.module)
        # stdin must be a file; on tmpfs when there is one, as Orchestra's workers do
        shm = Path("/dev/shm")
        self._dir = tempfile.TemporaryDirectory(
            prefix="orchestra-bench-", dir=shm if shm.is_dir() else tmp
        )
        self.stdin = str(Path(self._dir.name) / "stdin")

    def _store(self, data: bytes, out: list[bytes]) -> wasmtime.Store:
        with open(self.stdin, "wb") as fh:
            fh.write(data)
        wasi = wasmtime.WasiConfig()
        wasi.stdin_file = self.stdin
        wasi.stdout_custom = out.append
        store = wasmtime.Store(self.engine)
        store.set_wasi(wasi)
        return store

    def close(self) -> None:
        self._dir.cleanup()

    def public(self, data: bytes) -> bytes:
        """Public API only: ``Linker.instantiate`` and ``Func.__call__``."""
        out: list[bytes] = []
        store = self._store(data, out)
        start = self.linker.instantiate(store, self.module).exports(store)["_start"]
        assert isinstance(start, wasmtime.Func)
        start(store)
        return b"".join(out)

    def lean(self, data: bytes) -> bytes:
        """What an Orchestra worker does: ``InstancePre`` and ``FastFunc``."""
        out: list[bytes] = []
        store = self._store(data, out)
        start = self.pre.instantiate(store).exports(store)["_start"]
        assert isinstance(start, wasmtime.Func)
        FastFunc(store, start, "_start").call(())
        return b"".join(out)


def measure_command_in_process(plan: Plan, tmp: Path) -> list[Row]:
    command = _Command(SHOUT_WAT, tmp)
    try:
        for fn in (command.public, command.lean):
            if fn(SHOUT_INPUT) != SHOUT_OUTPUT:
                raise RuntimeError("in-process shout returned a wrong result")
        return [
            measure_sync(
                "in-process shout 1 KiB, public API",
                GROUP_SHOUT,
                lambda: command.public(SHOUT_INPUT),
                plan,
                baseline="public",
            ),
            measure_sync(
                "in-process shout 1 KiB, InstancePre+FastFunc",
                GROUP_SHOUT,
                lambda: command.lean(SHOUT_INPUT),
                plan,
                baseline="lean",
            ),
        ]
    finally:
        command.close()


# -- through Orchestra -------------------------------------------------------------


async def _drive(
    orch: Orchestra, plugin: str, export: str, data: Any, tasks: int, warmup: float, seconds: float
) -> tuple[int, float, list[float], int]:
    """``tasks`` callers loop ``orch.call`` until the deadline.

    Throughput counts calls that complete inside the measuring window (after the
    warm-up). Latency covers every call that completes after the warm-up, including
    those that complete after the window, so a call kept waiting the whole window
    still counts (callers stop starting calls at the deadline; what they hold finishes).
    :returns: (calls, seconds, latencies in µs, callers that completed nothing).
    """
    perf = time.perf_counter
    begin = perf() + warmup
    deadline = begin + seconds
    latencies: list[float] = []
    done = [0] * tasks

    async def caller(index: int) -> None:
        call = orch.call
        append = latencies.append
        n = 0
        while True:
            t0 = perf()
            if t0 >= deadline:
                break
            await call(plugin, export, data)
            t1 = perf()
            if begin <= t1 < deadline:
                n += 1
            if t1 >= begin:
                append((t1 - t0) * 1e6)
        done[index] = n

    async with anyio.create_task_group() as tg:
        for i in range(tasks):
            tg.start_soon(caller, i)
    return sum(done), seconds, latencies, sum(1 for n in done if n == 0)


async def measure_orchestra(
    rows: list[Row],
    startup: dict[str, float],
    plan: Plan,
    *,
    group: str,
    label: str,
    plugin: str,
    source: Path,
    instances: int,
    export: str,
    data: Any,
    expect: Any,
    max_in_flight: int | None = None,
    sequential: bool = True,
) -> None:
    """One Orchestra: a sequential row (unless told not to), then a ``plan.tasks``-callers
    row."""
    mif = max_in_flight or plan.max_in_flight
    spec = PluginSpec(source=str(source), instances=instances, max_in_flight=mif)
    config = Config(plugins={plugin: spec})
    inst = f"{instances} inst"
    t0 = time.perf_counter()
    async with Orchestra(config) as orch:
        startup[f"{label} x{instances}"] = (time.perf_counter() - t0) * 1e3
        got = await orch.call(plugin, export, data)
        if got != expect:
            raise RuntimeError(f"{plugin}.{export} through Orchestra returned {got!r}")
        if sequential:
            calls, secs, lat, _ = await _drive(
                orch, plugin, export, data, 1, plan.warmup, plan.seconds
            )
            rows.append(Row(f"orchestra {label}, {inst}, sequential", group, calls, secs, lat))
        calls, secs, lat, idle = await _drive(
            orch, plugin, export, data, plan.tasks, plan.warmup, plan.seconds
        )
        name = f"orchestra {label}, {inst}, {plan.tasks} tasks"
        if max_in_flight is not None:
            name += f", max_in_flight {mif}"
        rows.append(Row(name, group, calls, secs, lat, idle_callers=idle))


async def run_orchestra(plan: Plan, add_wat: Path) -> tuple[list[Row], dict[str, float]]:
    rows: list[Row] = []
    startup: dict[str, float] = {}
    add: dict[str, Any] = dict(
        group=GROUP_ADD,
        label="add",
        plugin="add",
        source=add_wat,
        export="add",
        data=list(ADD_ARGS),
        expect=ADD_RESULT,
    )
    for instances in (1, 2):
        await measure_orchestra(rows, startup, plan, instances=instances, **add)
    if plan.max_in_flight < plan.tasks:
        # Every caller gets a slot at once: no waiting for capacity in the pool.
        await measure_orchestra(
            rows,
            startup,
            plan,
            instances=1,
            max_in_flight=plan.tasks,
            sequential=False,
            **add,
        )
    if plan.command:
        await measure_orchestra(
            rows,
            startup,
            plan,
            group=GROUP_SHOUT,
            label="shout 1 KiB",
            plugin="shout",
            source=SHOUT_WAT,
            instances=2,
            export="_start",
            data=SHOUT_INPUT,
            expect=SHOUT_OUTPUT,
        )
    return rows, startup


# -- report ------------------------------------------------------------------------


def _fmt_num(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def table(rows: list[Row]) -> str:
    refs: dict[tuple[str, str], float] = {(r.group, r.baseline): r.rate for r in rows if r.baseline}
    header = ("name", "calls/s", "p50 µs", "p99 µs", "x public", "x lean")
    lines: list[tuple[str, ...]] = [header]
    for r in rows:
        public = refs.get((r.group, "public"))
        lean = refs.get((r.group, "lean"))
        lines.append(
            (
                r.name,
                f"{r.rate:,.0f}",
                _fmt_num(r.pct(0.50)),
                _fmt_num(r.pct(0.99)),
                _fmt_num(r.rate / public, 3) if public else "-",
                _fmt_num(r.rate / lean, 3) if lean else "-",
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
    out: list[str] = []
    for n, line in enumerate(lines):
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(widths[i + 1]) for i, cell in enumerate(line[1:])]
        out.append("  ".join(cells).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def _quiet_logs() -> None:
    """Orchestra logs through structlog; keep warnings and up, on stderr."""
    import logging

    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="short run (~10 s), for smoke tests")
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help="measuring time per row (default 2.5, or 0.6 with --quick)",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the results as JSON")
    parser.add_argument("--tasks", type=int, default=256, help="concurrent callers (default 256)")
    parser.add_argument(
        "--max-in-flight", type=int, default=64, help="per-instance max_in_flight (default 64)"
    )
    parser.add_argument(
        "--backend", choices=("asyncio", "trio"), default="asyncio", help="anyio backend"
    )
    parser.add_argument("--no-command", action="store_true", help="skip the shout.wat rows")
    args = parser.parse_args(argv)

    seconds = args.seconds if args.seconds is not None else (0.6 if args.quick else 2.5)
    plan = Plan(
        seconds=seconds,
        warmup=max(0.1, seconds * 0.2),
        tasks=args.tasks,
        max_in_flight=args.max_in_flight,
        backend=args.backend,
        command=not args.no_command,
    )
    _quiet_logs()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmpdir:
        tmp = Path(tmpdir)
        os.environ.setdefault("ORCHESTRA_CACHE_DIR", str(tmp / "cache"))
        add_wat = tmp / "add.wat"
        add_wat.write_text(ADD)

        rows: list[Row] = [
            measure_sync(
                "in-process add, Func.__call__",
                GROUP_ADD,
                add_public(ADD),
                plan,
                baseline="public",
            ),
            measure_sync(
                "in-process add, FastFunc", GROUP_ADD, _LeanAdd(ADD), plan, baseline="lean"
            ),
        ]
        if plan.command:
            rows += measure_command_in_process(plan, tmp)
        orch_rows, startup = anyio.run(run_orchestra, plan, add_wat, backend=plan.backend)
        rows += orch_rows

    # add rows first, then the shout rows, each group with its baselines on top
    rows.sort(key=lambda r: (r.group != GROUP_ADD, not r.baseline))
    total = time.perf_counter() - started
    print(
        f"Orchestra per-call cost: Python {platform.python_version()}, wasmtime-py "
        f"{_version('wasmtime')}, {os.cpu_count()} CPUs, anyio/{plan.backend}, "
        f"{plan.seconds:g} s per row (+{plan.warmup:g} s warm-up), "
        f"max_in_flight {plan.max_in_flight}"
    )
    print()
    print(table(rows))
    print()
    print(
        "x public / x lean: calls/s over the in-process Func.__call__ / FastFunc row of "
        "the same workload (add or shout)."
    )
    for r in rows:
        if r.idle_callers:
            print(
                f"note: {r.name}: {r.idle_callers} of {plan.tasks} callers completed no call "
                f"in the measuring window; longest call {max(r.latencies_us) / 1e3:,.0f} ms"
            )
    print(
        "Orchestra start-up (enter until ready): "
        + ", ".join(f"{k} {v:,.0f} ms" for k, v in startup.items())
    )
    print(f"total {total:.1f} s")

    if args.json:
        payload = {
            "python": platform.python_version(),
            "wasmtime": _version("wasmtime"),
            "cpus": os.cpu_count(),
            "plan": asdict(plan),
            "startup_ms": startup,
            "total_s": total,
            "rows": [
                {
                    "name": r.name,
                    "group": r.group,
                    "baseline": r.baseline or None,
                    "calls": r.calls,
                    "seconds": r.seconds,
                    "calls_per_s": r.rate,
                    "p50_us": r.pct(0.50),
                    "p99_us": r.pct(0.99),
                    "mean_us": statistics.fmean(r.latencies_us) if r.latencies_us else None,
                    "max_us": max(r.latencies_us) if r.latencies_us else None,
                    "idle_callers": r.idle_callers,
                }
                for r in rows
            ],
        }
        Path(args.json).write_text(json.dumps(payload, indent=2) + "\n")
    return 0


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(dist)
    except PackageNotFoundError:
        return "?"


if __name__ == "__main__":
    sys.exit(main())
