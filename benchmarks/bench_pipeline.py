"""Pipeline throughput and the cost of a route, in one run.

    python benchmarks/bench_pipeline.py [--quick] [--records N] [--seconds S] [--json FILE]

Rows:

* records/s of a 3-stage pipeline (the log pipeline of ``config/logs.yaml`` without
  its route: ``logparse.parse`` -> ``mask.mask`` -> ``render.render``, Extism
  plug-ins in WAT) over generated log lines, with 1 and with 2 instances per
  stage, through ``Orchestra.run_pipeline`` (ordered output);
* calls/s of ``owners.lookup`` called directly, against ``enrich.enrich``, whose
  every call makes one routed call to ``owners.lookup`` (its import
  ``extism:host/user.lookup`` is served by that export), with many concurrent callers.

Only ratios taken within one run mean anything on a shared machine. Nothing here
asserts on timings.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # run from a checkout without installing
    sys.path.insert(0, str(REPO))

import anyio  # noqa: E402

from orchestra import Config, Orchestra  # noqa: E402
from orchestra.config import PipelineSpec, PluginSpec, Stage  # noqa: E402

PLUGINS = REPO / "examples" / "plugins"
LEVELS = ["DEBUG", "INFO", "WARN", "ERROR"]
SERVICES = ["payments", "auth", "search", "checkout", "inventory"]
TEMPLATE = "{ts} {level} {service} {msg}"
OWNERS = {"payments": "team-payments", "auth": "team-identity", "search": "team-discovery"}
CALLERS = 64


@dataclass
class Row:
    name: str
    instances: int
    count: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.count / self.seconds if self.seconds > 0 else 0.0


def log_lines(n: int) -> list[bytes]:
    return [
        f"2024-05-01T12:{i // 60 % 60:02d}:{i % 60:02d}Z {LEVELS[i % 4]} {SERVICES[i % 5]} "
        f"request {i} for user {i * 7 % 10007} took {i % 900}ms".encode()
        for i in range(n)
    ]


def pipeline_config(instances: int) -> Config:
    def plugin(name: str, **kw: object) -> PluginSpec:
        return PluginSpec(source=str(PLUGINS / f"{name}.wat"), instances=instances, **kw)  # type: ignore[arg-type]

    return Config(
        plugins={
            "logparse": plugin("logparse"),
            "mask": plugin("mask"),
            "render": plugin("render", config={"template": TEMPLATE}),
        },
        pipelines={
            "logs": PipelineSpec(
                stages=[
                    Stage(plugin="logparse", export="parse"),
                    Stage(plugin="mask", export="mask"),
                    Stage(plugin="render", export="render"),
                ]
            )
        },
    )


async def bench_pipeline(instances: int, records: list[bytes]) -> Row:
    async with Orchestra(pipeline_config(instances)) as orch:
        # warm-up: compiled-module cache, the first calls of every instance
        async for _ in orch.run_pipeline("logs", records[:2000]):
            pass
        count = 0
        start = time.perf_counter()
        async for res in orch.run_pipeline("logs", records):
            if not res.ok:
                raise RuntimeError(f"record {res.index} failed: {res.error}")
            count += 1
        return Row(f"3-stage pipeline, {instances} instance(s) per stage", instances, count,
                   time.perf_counter() - start)  # fmt: skip


def route_config() -> Config:
    return Config(
        plugins={
            "owners": PluginSpec(source=str(PLUGINS / "lookup.wat"), config=OWNERS),
            "enrich": PluginSpec(
                source=str(PLUGINS / "enrich.wat"),
                imports={"extism:host/user.lookup": "owners.lookup"},
            ),
        }
    )


async def _calls(orch: Orchestra, plugin: str, export: str, data: bytes, seconds: float) -> int:
    done = 0
    deadline = time.perf_counter() + seconds

    async def caller() -> None:
        nonlocal done
        while time.perf_counter() < deadline:
            await orch.call(plugin, export, data)
            done += 1

    async with anyio.create_task_group() as tg:
        for _ in range(CALLERS):
            tg.start_soon(caller)
    return done


async def bench_route(seconds: float) -> list[Row]:
    record = b'{"level":"ERROR","service":"payments","msg":"declined"}'
    async with Orchestra(route_config()) as orch:
        expected = record[:-1] + b',"owner":"team-payments"}'
        if await orch.call("enrich", "enrich", record) != expected:
            raise RuntimeError("enrich returned a wrong result")
        rows = []
        for name, plugin, export, data in [
            ("direct call: owners.lookup", "owners", "lookup", b"payments"),
            ("routed: enrich.enrich -> owners.lookup", "enrich", "enrich", record),
        ]:
            await _calls(orch, plugin, export, data, min(1.0, seconds / 2))  # warm-up
            start = time.perf_counter()
            count = await _calls(orch, plugin, export, data, seconds)
            rows.append(Row(name, 1, count, time.perf_counter() - start))
        return rows


def table(pipeline_rows: list[Row], route_rows: list[Row]) -> str:
    out = [
        f"{'pipeline (records in order)':<44} {'records':>9} {'seconds':>8} {'records/s':>10}",
    ]
    for r in pipeline_rows:
        out.append(f"{r.name:<44} {r.count:>9,} {r.seconds:>8.2f} {r.rate:>10,.0f}")
    base = pipeline_rows[0].rate if pipeline_rows else 0
    if len(pipeline_rows) > 1 and base:
        out.append(f"{'  2 instances / 1 instance':<44} {'':>9} {'':>8} "
                   f"{pipeline_rows[1].rate / base:>9.2f}x")  # fmt: skip
    out.append("")
    out.append(
        f"{'call (' + str(CALLERS) + ' concurrent callers)':<44} {'calls':>9} {'seconds':>8} {'calls/s':>10}"
    )
    for r in route_rows:
        out.append(f"{r.name:<44} {r.count:>9,} {r.seconds:>8.2f} {r.rate:>10,.0f}")
    if len(route_rows) == 2 and route_rows[0].rate:
        out.append(f"{'  routed / direct':<44} {'':>9} {'':>8} "
                   f"{route_rows[1].rate / route_rows[0].rate:>9.2f}x")  # fmt: skip
    return "\n".join(out)


async def main_async(args: argparse.Namespace) -> dict[str, object]:
    records = log_lines(args.records)
    pipeline_rows = [await bench_pipeline(n, records) for n in (1, 2)]
    route_rows = await bench_route(args.seconds)
    print(table(pipeline_rows, route_rows))
    return {
        "python": platform.python_version(),
        "cpus": os.cpu_count(),
        "pipeline": [asdict(r) | {"rate": r.rate} for r in pipeline_rows],
        "route": [asdict(r) | {"rate": r.rate} for r in route_rows],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer records, shorter runs")
    parser.add_argument("--records", type=int, default=None, help="records per pipeline run")
    parser.add_argument("--seconds", type=float, default=None, help="seconds per call row")
    parser.add_argument("--json", type=Path, help="also write the results as JSON")
    args = parser.parse_args()
    args.records = args.records or (10_000 if args.quick else 50_000)
    args.seconds = args.seconds or (1.0 if args.quick else 3.0)
    result = anyio.run(main_async, args)
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
