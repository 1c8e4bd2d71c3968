"""Throughput on the Ray backend against the local one, and how it grows with instances.

    python benchmarks/bench_ray.py [--quick] [--seconds S] [--instances 1,2,3,4]
                                   [--rounds R] [--address ADDR] [--num-cpus N] [--json FILE]

Workloads, each at every instance count, on both backends (same config, only
``backend:`` differs):

* ``add`` calls/s: a trivial core-ABI call, 128 concurrent callers. Bound by the
  supervisor (one Python process), so it shows the per-call overhead of each backend.
* ``work`` calls/s: ``SLOW.work(300)`` (~0.3M wasm loop iterations per call), 32
  callers. Bound by the instances, so it shows how compute scales with them.
* ``echo1m`` calls/s: an Extism ``echo`` of 1 MiB, 8 callers. Locally the payload
  goes through the shared-memory rings; on Ray over the actor's TCP stream (below
  ``by_reference``, 8 MiB by default).
* ``demo`` records/s: the demo pipeline (redact -> shout -> vowels, wasi-command),
  N instances of each stage, over the demo input repeated.

Then large payloads at one instance: ``echo`` of 1, 4 and 16 MiB (8 callers) locally,
on Ray by reference through the object store (``by_reference: 64KiB``) and on Ray
inline over the actor's TCP stream (``by_reference: null``), with the bytes each
call put on the driver's TCP stream. Where the two Ray columns cross is where the
``by_reference`` default comes from.

Then a model per workload and backend: the Universal Scalability Law
``X(n) = X(1) * n / (1 + s*(n-1) + k*n*(n-1))`` fitted to the measured points by
least squares (``s``: contention, the serial part; ``k``: coherency cost), with
the efficiency ``X(n) / (n * X(1))`` and the predicted peak. Fit on at least three
instance counts for ``k`` to mean anything (default 1-4); with two, ``k`` is 0.

Ray: joins ``--address`` (a running cluster) or starts a local one with
``--num-cpus`` (default: this machine's CPUs). Each figure is the median of
``--rounds`` runs, the backends interleaved. Ray starts its worker processes
niced (lower priority than the driver); on a machine with few cores that favours
the supervisor. Only ratios within one run mean anything on a shared machine;
nothing here asserts on timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

import anyio  # noqa: E402
import structlog  # noqa: E402

from orchestra import Config, Orchestra  # noqa: E402
from orchestra._logging import configure_logging  # noqa: E402
from orchestra.config import (  # noqa: E402
    Limits,
    PipelineSpec,
    PluginSpec,
    RayBackendSpec,
    Size,
    Stage,
)
from orchestra.testing import ADD, SLOW  # noqa: E402

PLUGINS = REPO / "examples" / "plugins"
DEMO_INPUT = REPO / "config" / "data" / "demo-input.txt"
WORK_N = 300
ECHO = """(module
  (import "extism:host/env" "input_offset" (func $in (result i64)))
  (import "extism:host/env" "input_length" (func $inlen (result i64)))
  (import "extism:host/env" "output_set" (func $out (param i64 i64)))
  (func (export "echo") (result i32) (call $out (call $in) (call $inlen)) (i32.const 0)))"""
MIB = b"x" * (1 << 20)


@dataclass
class Point:
    workload: str
    unit: str
    backend: str
    instances: int
    count: int
    seconds: float
    startup_s: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def config(backend: str, instances: int, tmp: Path) -> Config:
    (tmp / "add.wat").write_text(ADD)
    (tmp / "slow.wat").write_text(SLOW)
    (tmp / "echo.wat").write_text(ECHO)
    limits = Limits(memory=Size(64 << 20))
    demo = {
        name: PluginSpec(
            source=str(PLUGINS / f"{name}.wat"),
            instances=instances,
            limits=limits,
            max_in_flight=64,
        )
        for name in ("redact", "shout", "vowels")
    }
    return Config(
        backend=RayBackendSpec() if backend == "ray" else "local",
        plugins={
            "add": PluginSpec(source=str(tmp / "add.wat"), instances=instances, max_in_flight=64),
            "work": PluginSpec(source=str(tmp / "slow.wat"), instances=instances, max_in_flight=64),
            "echo": PluginSpec(source=str(tmp / "echo.wat"), instances=instances),
            **demo,
        },
        pipelines={
            "demo": PipelineSpec(
                stages=[
                    Stage(plugin="redact", export="_start"),
                    Stage(plugin="shout", export="_start"),
                    Stage(plugin="vowels", export="_start"),
                ],
                max_records_in_flight=2048,
            )
        },
    )


async def calls_per_second(
    orch: Orchestra, plugin: str, export: str, args: Any, tasks: int, seconds: float
) -> tuple[int, float]:
    """``tasks`` callers loop ``orch.call`` until the deadline; (calls, elapsed)."""
    count = 0
    deadline = time.perf_counter() + seconds

    async def caller() -> None:
        nonlocal count
        while time.perf_counter() < deadline:
            await orch.call(plugin, export, args)
            count += 1

    start = time.perf_counter()
    async with anyio.create_task_group() as tg:
        for _ in range(tasks):
            tg.start_soon(caller)
    return count, time.perf_counter() - start


async def records_per_second(
    orch: Orchestra, lines: list[bytes], seconds: float
) -> tuple[int, float]:
    """Run the demo pipeline over the input repeated, for about ``seconds``."""
    done = 0
    start = time.perf_counter()
    while True:
        async with orch.run_pipeline("demo", lines) as run:
            async for result in run:
                if not result.ok:
                    raise RuntimeError(f"record {result.index} failed: {result.error}")
                done += 1
        if time.perf_counter() - start >= seconds:
            return done, time.perf_counter() - start


async def measure(
    backend: str, instances: int, seconds: float, warmup: float, tmp: Path, lines: list[bytes]
) -> list[Point]:
    started = time.perf_counter()
    async with Orchestra(config(backend, instances, tmp)) as orch:
        startup = time.perf_counter() - started
        if await orch.call("add", "add", [2, 40]) != [42]:
            raise RuntimeError("add returned a wrong result")
        if await orch.call("work", "work", [WORK_N]) != [WORK_N]:
            raise RuntimeError("work returned a wrong result")
        if await orch.call("echo", "echo", MIB) != MIB:
            raise RuntimeError("echo returned a wrong result")
        points = []
        for workload, plugin, export, args, tasks in (
            ("add", "add", "add", [2, 40], 128),
            ("work", "work", "work", [WORK_N], 32),
            ("echo1m", "echo", "echo", MIB, 8),
        ):
            await calls_per_second(orch, plugin, export, args, tasks, warmup)
            n, elapsed = await calls_per_second(orch, plugin, export, args, tasks, seconds)
            points.append(Point(workload, "calls/s", backend, instances, n, elapsed, startup))
        await records_per_second(orch, lines[:500], warmup)
        n, elapsed = await records_per_second(orch, lines, seconds)
        points.append(Point("demo", "records/s", backend, instances, n, elapsed, startup))
        return points


PAYLOAD_SIZES = (1 << 20, 4 << 20, 16 << 20)
PAYLOAD_VARIANTS = ("local", "ray by ref", "ray inline")


@dataclass
class PayloadPoint:
    variant: str
    size: int
    count: int
    seconds: float
    tcp_bytes: int  # on the driver's TCP streams to the echo actor (Ray only)

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds else 0.0


def tcp_bytes(channels: list[Any]) -> int:
    """Bytes both ways on these worker channels so far (0 for a local worker's)."""
    return sum(getattr(c, "bytes_sent", 0) + getattr(c, "bytes_received", 0) for c in channels)


async def measure_payloads(
    variant: str, seconds: float, warmup: float, tmp: Path
) -> list[PayloadPoint]:
    """Echo of each payload size at one instance, on one backend variant."""
    (tmp / "echo.wat").write_text(ECHO)
    backend: Any = "local"
    if variant != "local":
        threshold = None if variant == "ray inline" else Size(64 << 10)  # every size by ref
        backend = RayBackendSpec(by_reference=threshold)
    cfg = Config(
        backend=backend,
        plugins={
            "echo": PluginSpec(source=str(tmp / "echo.wat"), limits=Limits(memory=Size(512 << 20)))
        },
    )
    out = []
    async with Orchestra(cfg) as orch:
        for size in PAYLOAD_SIZES:
            data = os.urandom(size)
            if await orch.call("echo", "echo", data) != data:
                raise RuntimeError("echo returned a wrong result")
            await calls_per_second(orch, "echo", "echo", data, 8, warmup)
            channels = [w._channel for w in orch.supervisor.pools["echo"].workers if w]
            before = tcp_bytes(channels)
            n, elapsed = await calls_per_second(orch, "echo", "echo", data, 8, seconds)
            out.append(
                PayloadPoint(variant, size, n, elapsed, (tcp_bytes(channels) - before) // max(1, n))
            )
    return out


def print_payloads(points: list[PayloadPoint]) -> None:
    by = {(p.variant, p.size): p for p in points}
    print()
    print("Large payloads: echo, 1 instance, 8 callers (calls/s; TCP bytes per call on Ray)")
    head = (
        f"{'payload':<9}{'local':>9}{'ray by ref':>12}{'ray inline':>12}"
        f"{'ref/inline':>12}{'ref B/call':>12}{'inline B/call':>15}"
    )
    print(head)
    print("-" * len(head))
    for size in PAYLOAD_SIZES:
        loc, ref, inl = (by.get((v, size)) for v in PAYLOAD_VARIANTS)
        ratio = f"{ref.rate / inl.rate:.2f}x" if ref and inl and inl.rate else "-"
        print(
            f"{f'{size >> 20} MiB':<9}"
            + "".join(
                f"{p.rate:>{w},.0f}" if p else f"{'-':>{w}}"
                for p, w in ((loc, 9), (ref, 12), (inl, 12))
            )
            + f"{ratio:>12}"
            + f"{(f'{ref.tcp_bytes:,}' if ref else '-'):>12}{(f'{inl.tcp_bytes:,}' if inl else '-'):>15}"
        )


async def run_payloads(rounds: int, seconds: float, warmup: float, tmp: Path) -> list[PayloadPoint]:
    out = []
    for r in range(rounds):
        for variant in PAYLOAD_VARIANTS:
            for p in await measure_payloads(variant, seconds, warmup, tmp):
                print(
                    f"  round {r + 1}  {variant:<11}{p.size >> 20:>3} MiB{p.rate:>10,.0f} calls/s",
                    file=sys.stderr,
                    flush=True,
                )
                out.append(p)
    return medians(out, key=lambda p: (p.variant, p.size))


def fit_usl(points: dict[int, float]) -> tuple[float, float]:
    """Least-squares (s, k) of the Universal Scalability Law, both clamped at >= 0.

    With C(n) = X(n) / X(1): n / C(n) - 1 = s (n - 1) + k n (n - 1), linear in s, k.
    """
    x1 = points.get(1)
    if not x1:
        return 0.0, 0.0
    rows = [(n - 1, n * (n - 1), n / (x / x1) - 1) for n, x in points.items() if n > 1 and x > 0]
    if not rows:
        return 0.0, 0.0
    if len(rows) == 1:
        a, _, y = rows[0]
        return max(0.0, y / a), 0.0
    saa = sum(a * a for a, _, _ in rows)
    sab = sum(a * b for a, b, _ in rows)
    sbb = sum(b * b for _, b, _ in rows)
    say = sum(a * y for a, _, y in rows)
    sby = sum(b * y for _, b, y in rows)
    det = saa * sbb - sab * sab
    if abs(det) < 1e-12:
        return max(0.0, say / saa), 0.0
    s = (say * sbb - sby * sab) / det
    k = (saa * sby - sab * say) / det
    if k < 0:  # no coherency cost measurable: fit s alone
        return max(0.0, say / saa), 0.0
    if s < 0:
        return 0.0, max(0.0, sby / sbb)
    return s, k


def usl(x1: float, s: float, k: float, n: int) -> float:
    return x1 * n / (1 + s * (n - 1) + k * n * (n - 1))


def peak(s: float, k: float) -> float | None:
    """Instances at which USL throughput peaks (sqrt((1 - s) / k)), None if it never does."""
    if k <= 0 or s >= 1:
        return None
    return ((1 - s) / k) ** 0.5


def print_tables(points: list[Point], counts: list[int]) -> list[dict[str, Any]]:
    by = {(p.workload, p.backend, p.instances): p for p in points}
    workloads = list(dict.fromkeys(p.workload for p in points))
    print()
    head = f"{'workload':<10}{'unit':<11}{'inst':>5}{'local':>12}{'ray':>12}{'ray/local':>11}"
    print(head)
    print("-" * len(head))
    for w in workloads:
        for n in counts:
            loc, ray_ = by.get((w, "local", n)), by.get((w, "ray", n))
            unit = (loc or ray_).unit if (loc or ray_) else ""
            lr = f"{loc.rate:,.0f}" if loc else "-"
            rr = f"{ray_.rate:,.0f}" if ray_ else "-"
            ratio = f"{ray_.rate / loc.rate:.2f}x" if loc and ray_ and loc.rate else "-"
            print(f"{w:<10}{unit:<11}{n:>5}{lr:>12}{rr:>12}{ratio:>11}")
    startups = {
        b: [p.startup_s for p in points if p.backend == b and p.workload == workloads[0]]
        for b in ("local", "ray")
    }
    print()
    for b, values in startups.items():
        if values:
            text = ", ".join(f"{n} inst {v:.2f}s" for n, v in zip(counts, values, strict=False))
            print(f"startup ({b}, 6 plug-ins x N instances): {text}")
    print()
    if len(counts) < 2 or 1 not in counts:
        print("Model: needs instance counts 1 and at least one more (--instances 1,2,3,4)")
        return []
    print("Model: X(n) = X(1) n / (1 + s (n-1) + k n (n-1))  (Universal Scalability Law)")
    if len(counts) < 3:
        print("(two instance counts: k is not identifiable and is reported as 0)")
    head = (
        f"{'workload':<10}{'backend':<8}{'X(1)':>10}{'s':>8}{'k':>9}"
        f"{'eff@2':>8}{'X(4)':>10}{'X(8)':>10}{'peak n':>8}{'max err':>9}"
    )
    print(head)
    print("-" * len(head))
    models = []
    for w in workloads:
        for b in ("local", "ray"):
            measured = {n: by[(w, b, n)].rate for n in counts if (w, b, n) in by}
            if 1 not in measured or len(measured) < 2:
                continue  # nothing to fit
            s, k = fit_usl(measured)
            x1 = measured[1]
            err = max(abs(usl(x1, s, k, n) - x) / x for n, x in measured.items() if x)
            eff2 = measured.get(2, usl(x1, s, k, 2)) / (2 * x1)
            top = peak(s, k)
            print(
                f"{w:<10}{b:<8}{x1:>10,.0f}{s:>8.3f}{k:>9.4f}{eff2:>8.2f}"
                f"{usl(x1, s, k, 4):>10,.0f}{usl(x1, s, k, 8):>10,.0f}"
                f"{(f'{top:.1f}' if top else '-'):>8}{err:>8.1%}"
            )
            models.append(
                {
                    "workload": w,
                    "backend": b,
                    "x1": x1,
                    "s": s,
                    "k": k,
                    "measured": measured,
                    "peak_instances": top,
                    "max_rel_error": err,
                }
            )
    return models


async def run_all(
    counts: list[int],
    rounds: int,
    seconds: float,
    warmup: float,
    tmp: Path,
    lines: list[bytes],
) -> list[Point]:
    """Every (instances, backend) pair once per round, interleaved, so drift on a
    shared machine hits both backends alike."""
    out = []
    for r in range(rounds):
        for n in counts:
            for backend in ("local", "ray"):
                points = await measure(backend, n, seconds, warmup, tmp, lines)
                for p in points:
                    print(
                        f"  round {r + 1}  {backend:<6}{n} inst  {p.workload:<6}"
                        f"{p.rate:>12,.0f} {p.unit}",
                        file=sys.stderr,
                        flush=True,
                    )
                out.extend(points)
    return out


def medians(points: list[Any], key: Callable[[Any], tuple[Any, ...]] | None = None) -> list[Any]:
    """One point per (workload, backend, instances), or per ``key``: the median-rate
    round."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for p in points:
        groups.setdefault(key(p) if key else (p.workload, p.backend, p.instances), []).append(p)
    out = []
    for group in groups.values():
        ordered = sorted(group, key=lambda p: p.rate)
        out.append(ordered[len(ordered) // 2])
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs, 1 and 2 instances")
    parser.add_argument("--seconds", type=float, default=None, help="per measurement")
    parser.add_argument("--instances", default=None, help="comma-separated (default 1,2,3,4)")
    parser.add_argument("--rounds", type=int, default=None, help="median of (default 3)")
    parser.add_argument("--address", default=None, help="a running Ray cluster to join")
    parser.add_argument("--num-cpus", type=int, default=None, help="local Ray cluster CPUs")
    parser.add_argument("--json", default=None, help="also write the figures here")
    parser.add_argument("--no-payloads", action="store_true", help="skip the large-payload table")
    args = parser.parse_args(argv)
    seconds = args.seconds or (0.5 if args.quick else 2.0)
    warmup = 0.2 if args.quick else 0.5
    counts = [int(x) for x in (args.instances or ("1,2" if args.quick else "1,2,3,4")).split(",")]
    rounds = args.rounds or (1 if args.quick else 3)
    configure_logging("console", "error")
    structlog.get_logger()  # configured before any worker logs

    import tempfile

    import ray

    os.environ.setdefault("ORCHESTRA_CACHE_DIR", tempfile.mkdtemp(prefix="orchestra-bench-"))
    old = os.environ.get("PYTHONPATH")
    os.environ["PYTHONPATH"] = str(REPO) + (os.pathsep + old if old else "")
    t0 = time.perf_counter()
    if args.address:
        ray.init(address=args.address, log_to_driver=False)
    else:
        ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    ray_init = time.perf_counter() - t0
    lines = [ln for ln in DEMO_INPUT.read_bytes().splitlines() if ln]
    lines = (lines * (4000 // max(1, len(lines)) + 1))[:4000]
    try:
        with tempfile.TemporaryDirectory(prefix="orchestra-bench-") as tmp:
            every = anyio.run(run_all, counts, rounds, seconds, warmup, Path(tmp), lines)
            points = medians(every)
            payloads = (
                []
                if args.no_payloads
                else anyio.run(run_payloads, rounds, seconds, warmup, Path(tmp))
            )
        cluster = ray.cluster_resources()
    finally:
        ray.shutdown()
    print(
        f"\n{platform.python_implementation()} {platform.python_version()}, "
        f"ray {version('ray')}, wasmtime {version('wasmtime')}, {os.cpu_count()} CPUs here; "
        f"Ray cluster: {cluster.get('CPU', 0):g} CPUs, "
        f"{sum(1 for k in cluster if k.startswith('node:') and '__internal' not in k)} "
        f"node(s); ray.init {ray_init:.1f}s; {seconds:g}s per measurement, "
        f"median of {rounds} round(s)"
    )
    models = print_tables(points, counts)
    if payloads:
        print_payloads(payloads)
    if args.json:
        Path(args.json).write_text(
            json.dumps(
                {
                    "points": [asdict(p) | {"rate": p.rate} for p in points],
                    "every_round": [asdict(p) | {"rate": p.rate} for p in every],
                    "models": models,
                    "payloads": [asdict(p) | {"rate": p.rate} for p in payloads],
                    "cluster": cluster,
                },
                indent=2,
                default=str,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
