"""The ``orchestra`` command line. The only place that configures log output."""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn, get_args

import anyio
import click
import msgspec

from ._callargs import CallInput, UsageError, core_arguments, default_stdin, read_input
from ._interrupt import EXIT_INTERRUPTED, Interrupt
from ._logging import LEVELS, configure_logging
from ._orchestra import Orchestra
from ._report import Reporter
from ._runio import RecordSink, RecordSource, is_directory_output
from .config import (
    Config,
    ConfigFile,
    Duration,
    PluginSpec,
    WasiSpec,
    config_schema,
    parse_duration,
    parse_size,
    read_config,
)
from .config._spec import Abi
from .errors import CallError, ConfigError, OrchestraError, PluginLoadError
from .graph import render_graph

__all__ = ("main",)

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
SHUTDOWN_GRACE = float(os.environ.get("ORCHESTRA_SHUTDOWN_GRACE", "10"))


def _fail(message: str, code: int = EXIT_USAGE) -> NoReturn:
    click.echo(f"orchestra: {message}", err=True)
    sys.exit(code)


def _log_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option(
        "--log-level",
        type=click.Choice(LEVELS),
        default=lambda: os.environ.get("ORCHESTRA_LOG_LEVEL", "warning"),
        show_default="warning",
        help="Minimum level of log events (stderr).",
    )(fn)
    fn = click.option(
        "--log-format",
        type=click.Choice(["console", "json"]),
        default=lambda: os.environ.get("ORCHESTRA_LOG_FORMAT", "console"),
        show_default="console",
        help="Log events for people or as JSON lines.",
    )(fn)
    return fn


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="orchestra-wasm")
def cli() -> None:
    """Run many WebAssembly plug-ins at once, safely."""


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="orchestra")


# -- validate / schema -------------------------------------------------------------


def _load(path: str, overrides: tuple[str, ...] = ()) -> Config:
    return _read(path, overrides).config


def _read(path: str, overrides: tuple[str, ...] = ()) -> ConfigFile:
    try:
        return read_config(path, overrides=overrides)
    except ConfigError as exc:
        _fail(str(exc).removeprefix("orchestra: "))


def _preflight(config: ConfigFile, pipeline: str | None = None) -> None:
    """Exit 2 with every problem a run would meet (each FILE:LINE:COL: path: what);
    a run checks only the stages of its ``pipeline``."""
    from .preflight import check_config

    errors = check_config(config, pipelines=None if pipeline is None else [pipeline])
    for err in errors:
        click.echo(f"orchestra: {err}", err=True)
    if errors:
        sys.exit(EXIT_USAGE)


_set_option = click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="PATH=VALUE",
    help="Override a config value, e.g. plugins.x.instances=4 (VALUE is YAML; repeatable).",
)


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
@_set_option
@_log_options
def validate(config: str, overrides: tuple[str, ...], log_format: str, log_level: str) -> None:
    """Check CONFIG and its plug-ins as a run would (sources, exports, imports, routes);
    every error as FILE:LINE:COL: path: what is wrong. Exit 0 or 2."""
    configure_logging(log_format, log_level)
    loaded = _read(config, overrides)
    _preflight(loaded)
    cfg = loaded.config
    click.echo(f"{config}: ok ({len(cfg.plugins)} plug-ins, {len(cfg.pipelines)} pipelines)")


@cli.command()
@_log_options
def schema(log_format: str, log_level: str) -> None:
    """Print the JSON Schema of the YAML config."""
    configure_logging(log_format, log_level)
    click.echo(json.dumps(config_schema(), indent=2, sort_keys=True))


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["mermaid", "dot"]),
    default="mermaid",
    show_default=True,
    help="Mermaid (renders on GitHub) or Graphviz dot.",
)
@_log_options
def graph(config: str, fmt: str, log_format: str, log_level: str) -> None:
    """Draw the pipelines and routes of CONFIG. Exit 0, or 2 on a config error.

    Stages in order, parallel branches fanning out and joining, filters as
    diamonds, `when` as labelled edges; routes as dashed edges from the plug-in
    that imports to the one that serves, labelled with the import name.
    """
    configure_logging(log_format, log_level)
    cfg = _load(config)
    click.echo(
        render_graph(cfg, "dot" if fmt == "dot" else "mermaid", base=Path(config).resolve().parent),
        nl=False,
    )


# -- call ------------------------------------------------------------------------------


def _kv(values: tuple[str, ...], what: str) -> dict[str, str]:
    out = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key:
            _fail(f"{what} expects K=V, got {item!r}")
        out[key] = value
    return out


def _allow_paths(values: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in values:
        host, _, guest = item.partition(":")
        if host == "ro" and guest:  # ro:HOST[:GUEST]
            rest_host, _, rest_guest = guest.partition(":")
            out["ro:" + os.path.abspath(rest_host)] = rest_guest or rest_host
        else:
            out[os.path.abspath(host)] = guest or host
    return out


def _apply_call_options(spec: PluginSpec, opts: dict[str, Any]) -> PluginSpec:
    """The call options (--timeout, --memory, --fuel, --wasi, --env, --arg,
    --allow-path, --allow-host, --config) applied over ``spec``: the command line wins."""
    limits = spec.limits
    try:
        if opts["timeout"]:
            limits = msgspec.structs.replace(limits, timeout=parse_duration(opts["timeout"]))
        if opts["memory"]:
            limits = msgspec.structs.replace(limits, memory=parse_size(opts["memory"]))
    except ValueError as exc:
        _fail(str(exc))
    if opts["fuel"]:
        limits = msgspec.structs.replace(limits, fuel=opts["fuel"])
    wasi = spec.wasi
    if opts["wasi"] or opts["allow_path"] or opts["env"] or opts["wasi_args"]:
        base = wasi or WasiSpec()
        wasi = msgspec.structs.replace(
            base,
            allowed_paths={**base.allowed_paths, **_allow_paths(opts["allow_path"])},
            env={**base.env, **_kv(opts["env"], "--env")},
            args=[*base.args, *opts["wasi_args"]],
        )
    return msgspec.structs.replace(
        spec,
        instances=1,
        limits=limits,
        wasi=wasi,
        config={**spec.config, **_kv(opts["config"], "--config")},
        allowed_hosts=[*spec.allowed_hosts, *opts["allow_host"]],
        abi=opts["abi"] or spec.abi,
    )


def _source_plugin(source: str, opts: dict[str, Any]) -> PluginSpec:
    path = os.path.abspath(source)
    if not os.path.exists(path):
        _fail(f"{source}: no such file")
    return _apply_call_options(PluginSpec(source=path, start_timeout=Duration(60.0)), opts)


@cli.command()
@click.argument("args", nargs=-1, required=True)
@click.option(
    "-c",
    "config_file",
    type=click.Path(dir_okay=False),
    help="Take PLUGIN from this config: call -c CONFIG PLUGIN EXPORT.",
)
@click.option(
    "--input",
    "input_text",
    help="Input (core ABI: a JSON list of numbers). Default: stdin when it is not a terminal.",
)
@click.option(
    "--input-file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Read the input from a file (- for stdin).",
)
@click.option("--wasi", is_flag=True, help="Give the plug-in a WASI context.")
@click.option(
    "--env",
    multiple=True,
    metavar="K=V",
    help="WASI environment variable (repeatable; implies --wasi).",
)
@click.option(
    "--arg",
    "wasi_args",
    multiple=True,
    metavar="ARG",
    help="WASI command-line argument, after argv[0] (repeatable; implies --wasi).",
)
@click.option(
    "--abi", type=click.Choice(get_args(Abi)), help="Calling convention (default: detected)."
)
@click.option("--config", multiple=True, metavar="K=V", help="Plug-in config value (repeatable).")
@click.option(
    "--allow-path", multiple=True, metavar="HOST[:GUEST]", help="Pre-open a directory (repeatable)."
)
@click.option(
    "--allow-host", multiple=True, metavar="GLOB", help="Allow HTTP to matching hosts (repeatable)."
)
@click.option("--timeout", help="Call timeout, e.g. 2s.")
@click.option("--memory", help="Linear memory limit, e.g. 64MiB.")
@click.option("--fuel", type=int, help="Fuel per call.")
@_set_option
@click.option(
    "--host-plugin",
    multiple=True,
    type=click.Path(),
    help="Host plug-in file or folder (repeatable).",
)
@click.option(
    "--loop",
    "loops",
    type=int,
    default=1,
    show_default=True,
    help="Repeat the call N times on one instance, one output per line.",
)
@_log_options
def call(
    args: tuple[str, ...],
    config_file: str | None,
    input_text: str | None,
    input_file: str | None,
    log_format: str,
    log_level: str,
    loops: int,
    overrides: tuple[str, ...],
    **opts: Any,
) -> None:
    """One call: call SOURCE EXPORT, or call -c CONFIG PLUGIN EXPORT.

    SOURCE is a .wasm, a .wat or an Extism manifest. Output bytes go to stdout
    (core ABI: a JSON list). Exit 0 ok, 1 plug-in error, 2 usage/config error.
    """
    configure_logging(log_format, log_level)
    if len(args) != 2:
        _fail("expected SOURCE EXPORT (or -c CONFIG PLUGIN EXPORT)")
    first, export = args
    if overrides and not config_file:
        _fail("--set needs a config: call -c CONFIG PLUGIN EXPORT")
    try:
        given = read_input(input_text, input_file, default_stdin())
    except UsageError as exc:
        _fail(str(exc))
    if config_file:
        cfg = _load(config_file, overrides)
        if first not in cfg.plugins:
            _fail(
                f"{config_file}: no plug-in named {first!r} (configured: {', '.join(sorted(cfg.plugins))})"
            )
        spec = _apply_call_options(cfg.plugins[first], opts)
        config = msgspec.structs.replace(cfg, plugins={first: spec}, pipelines={})
        plugin = first
    else:
        plugin = Path(first).stem or "plugin"
        config = Config(plugins={plugin: _source_plugin(first, opts)})
    host_paths = [os.path.abspath(p) for p in opts["host_plugin"]]
    for given_path, host_path in zip(opts["host_plugin"], host_paths, strict=True):
        if not os.path.exists(host_path):
            _fail(f"--host-plugin {given_path}: no such file or directory")
    if host_paths:
        # Host plug-ins named on the command line are granted every module they provide.
        spec = config.plugins[plugin]
        config = msgspec.structs.replace(
            config,
            host_plugins=msgspec.structs.replace(
                config.host_plugins, paths=[*host_paths, *config.host_plugins.paths]
            ),
            plugins={plugin: msgspec.structs.replace(spec, host_modules=[*spec.host_modules, "*"])},
        )
    code = anyio.run(_call, config, plugin, export, given, loops, log_level)
    sys.exit(code)


async def _call(
    config: Config, plugin: str, export: str, given: CallInput, loops: int, log_level: str
) -> int:
    try:
        async with Orchestra(config, log_level=log_level) as orch:
            data: bytes | list[int | float] = given.data
            if orch.supervisor.pool(plugin).abi == "core":
                data = _core_call_args(config.plugins[plugin], export, given)
            for _ in range(max(1, loops)):
                out = await orch.call(plugin, export, data)
                if isinstance(out, list):
                    sys.stdout.write(json.dumps(out) + "\n")
                else:
                    sys.stdout.buffer.write(out)
                    if loops > 1:
                        sys.stdout.buffer.write(b"\n")
                sys.stdout.flush()
    except (ConfigError, PluginLoadError, UsageError) as exc:
        click.echo(f"orchestra: {exc}", err=True)
        return EXIT_USAGE
    except CallError as exc:
        click.echo(f"orchestra: {type(exc).__name__}: {exc}", err=True)
        return EXIT_FAILED
    return EXIT_OK


def _core_call_args(spec: PluginSpec, export: str, given: CallInput) -> list[int | float]:
    """The numbers for a core-ABI ``export``, checked against its signature here (the
    module is compiled in this process, never instantiated), so that a wrong call is
    a usage error naming what was given.

    :raises UsageError: no such export, or the input is not what it takes.
    """
    from .inspect import export_params

    try:
        params = export_params(spec, export)
    except PluginLoadError as exc:
        raise UsageError(f"{os.path.basename(spec.source)}: {exc.message}") from None
    return core_arguments(export, params, given)


# -- run ----------------------------------------------------------------------------------


@cli.command()
@click.argument("config", type=click.Path(dir_okay=False))
@click.option("--pipeline", "pipeline_name", help="Which pipeline (default: the first one).")
@click.option(
    "--input",
    "input_path",
    help="Input file, directory (each file one record), or - for stdin "
    "(default: the pipeline's input:).",
)
@click.option(
    "--output",
    "output_path",
    default="-",
    show_default=True,
    help="Output file, directory (DIR/ or an existing one: a file per record), or - for stdout.",
)
@click.option(
    "--input-format",
    type=click.Choice(["lines", "jsonl"]),
    help="A file or stdin holds one record per line, or per JSON line "
    "(default: the pipeline's input_format, else lines).",
)
@click.option(
    "--output-format",
    type=click.Choice(["lines", "jsonl"]),
    help="Each output and a newline, or {index, output} JSON lines "
    "(default: the pipeline's output_format, else lines).",
)
@click.option("--stats-json", type=click.Path(dir_okay=False), help="Write run statistics as JSON.")
@_set_option
@click.option(
    "--progress/--no-progress",
    default=None,
    help="Progress display on stderr (default: when stderr is a terminal that is "
    "not also receiving the results).",
)
@_log_options
def run(
    config: str,
    pipeline_name: str | None,
    input_path: str | None,
    output_path: str,
    input_format: str | None,
    output_format: str | None,
    stats_json: str | None,
    progress: bool | None,
    overrides: tuple[str, ...],
    log_format: str,
    log_level: str,
) -> None:
    """The main job: stream records through a pipeline of CONFIG, in input order.

    Exit 0 all ok, 1 some records failed, 2 config error, 130 interrupted.
    """
    configure_logging(log_format, log_level)
    loaded = _read(config, overrides)
    cfg = loaded.config
    if not cfg.pipelines:
        _fail(f"{config}: no pipelines defined")
    name = pipeline_name or next(iter(cfg.pipelines))
    if name not in cfg.pipelines:
        _fail(
            f"{config}: no pipeline named {name!r} (configured: {', '.join(sorted(cfg.pipelines))})"
        )
    spec = cfg.pipelines[name]
    source = input_path or spec.input
    if source is None:
        _fail(f"pipeline {name!r} has no input: pass --input PATH (or - for stdin)")
    if source != "-" and not os.path.exists(source):
        _fail(f"input {source}: no such file or directory")
    if output_path != "-" and not is_directory_output(output_path):
        parent = os.path.dirname(os.path.abspath(output_path))
        if not os.path.isdir(parent):
            _fail(f"output {output_path}: no such directory {parent}")
    _preflight(loaded, name)
    interrupt = Interrupt()
    interrupt.install()
    code = anyio.run(
        _run,
        interrupt,
        _RunArgs(
            cfg=cfg,
            name=name,
            source=source,
            output=output_path,
            in_fmt=input_format or spec.input_format,
            out_fmt=output_format or spec.output_format,
            stats_json=stats_json,
            progress=progress,
            log_level=log_level,
        ),
    )
    sys.exit(code)


@dataclass(frozen=True)
class _RunArgs:
    cfg: Config
    name: str
    source: str
    output: str
    in_fmt: Any
    out_fmt: Any
    stats_json: str | None
    progress: bool | None
    log_level: str  # also what workers let through of plug-ins' own logs, as in call


async def _run(interrupt: Interrupt, args: _RunArgs) -> int:
    started = time.perf_counter()
    name = args.name
    source = RecordSource(args.source, args.in_fmt)
    report = Reporter(
        name, source, progress=args.progress, to_tty=args.output == "-" and sys.stdout.isatty()
    )
    try:
        sink = RecordSink(args.output, args.out_fmt, source)
    except OSError as exc:
        report.say(f"orchestra: output {args.output}: {exc.strerror or exc}")
        return EXIT_USAGE
    # A second signal exits at once: the display goes first, what was written stays.
    interrupt.on_exit += [report.clear, sys.stdout.flush, sink.flush]
    ok = failed = dropped = 0
    output_closed = False
    try:
        async with Orchestra(args.cfg, log_level=args.log_level) as orch:
            run_ = orch.run_pipeline(name, source.records())
            async with anyio.create_task_group() as tg:
                tg.start_soon(_watch_signals, run_, source, interrupt, SHUTDOWN_GRACE, report.say)
                tg.start_soon(report.run_progress, run_.stats)
                async with run_:
                    async for res in run_:
                        if not res.ok:
                            failed += 1
                            file = source.names.get(res.index)
                            where = f" ({file})" if file is not None else ""
                            report.say(
                                f"orchestra: record {res.index}{where}: {res.stage}: "
                                f"{type(res.error).__name__}: {res.error}"
                            )
                        elif res.dropped:
                            dropped += 1
                        else:
                            ok += 1
                        try:
                            sink.write(res)
                        except BrokenPipeError:
                            # `orchestra run ... | head`: the reader has gone; stop quietly.
                            output_closed = True
                            _silence_stdout()
                            break
                tg.cancel_scope.cancel("pipeline finished")
            if not output_closed:
                sink.flush()
            plugins = orch.stats()
    except (ConfigError, PluginLoadError) as exc:
        report.say(f"orchestra: {exc}")
        return EXIT_USAGE
    except OrchestraError as exc:
        report.say(f"orchestra: {exc}")
        return EXIT_FAILED
    finally:
        sink.close()
    elapsed = time.perf_counter() - started
    done = ok + failed + dropped
    rate = round(done / elapsed, 1) if elapsed else None
    summary: dict[str, Any] = {
        "pipeline": name,
        **run_.stats.as_dict(elapsed),
        "records_ok": ok,
        "records_failed": failed,
        "records_dropped": dropped,
        "seconds": round(elapsed, 3),
        "records_per_second": rate,
        "plugins": plugins,
    }
    report.say(
        f"orchestra: {name}: {ok} ok, {failed} failed"
        + (f", {dropped} dropped" if dropped else "")
        + f" in {elapsed:.2f}s ({rate} records/s)"
    )
    report.summary(summary, plugins)
    if source.error:
        summary["input_error"] = source.error
        report.say(f"orchestra: {source.error}")
    if output_closed:
        summary["output_closed"] = True
    if interrupt.signal:
        summary["interrupted_by"] = interrupt.signal
        summary["records_abandoned"] = interrupt.abandoned
        read = done + interrupt.abandoned  # records taken from the input, indexed from 0
        unread = (
            "all input was read"
            if source.finished
            else f"input after record {read - 1} was not read"
            if read
            else "no input was read"
        )
        report.say(
            f"orchestra: {name}: stopped by {interrupt.signal}; {unread}"
            + (
                f"; {interrupt.abandoned} records in flight were abandoned after "
                f"{SHUTDOWN_GRACE:g}s"
                if interrupt.abandoned
                else ""
            )
        )
    if args.stats_json:
        Path(args.stats_json).write_text(json.dumps(summary, indent=2) + "\n")
    if interrupt.signal:
        return EXIT_INTERRUPTED
    return EXIT_FAILED if failed or source.error or output_closed else EXIT_OK


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so that flushing it at exit raises no second error."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


async def _watch_signals(
    run_: Any, source: RecordSource, interrupt: Interrupt, grace: float, say: Callable[[str], None]
) -> None:
    """First SIGINT/SIGTERM: stop taking input and let records in flight finish for
    up to ``grace`` seconds (then abandon them). A second exits at once (Interrupt)."""
    sig = await interrupt.wait()
    say(
        f"orchestra: {sig}: finishing the records in flight "
        f"(up to {grace:g}s; again to stop at once)"
    )
    run_.stop()
    source.stop()
    await _abandon_after(run_, interrupt, grace)


async def _abandon_after(run_: Any, state: Interrupt, grace: float) -> None:
    await anyio.sleep(grace)
    state.abandoned = run_.in_flight
    run_.abandon()


# -- inspect -------------------------------------------------------------------------------


@cli.command()
@click.argument("wasm")
@click.option(
    "-c",
    "config_file",
    type=click.Path(dir_okay=False),
    help="Inspect plug-in WASM of this config (shows its routes).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@click.option("--abi", type=click.Choice(get_args(Abi)), default="auto", help="ABI to report.")
@_log_options
def inspect(
    wasm: str,
    config_file: str | None,
    as_json: bool,
    abi: str,
    log_format: str,
    log_level: str,
) -> None:
    """Show ABI, exports, imports, and what would satisfy each import.

    WASM is a .wasm/.wat file or an Extism manifest (.json), or with -c CONFIG a
    plug-in name of that config. --json keys: module, abi, linked, exports
    [{name, type}], imports [{module, name, type, bound, detail}].
    """
    configure_logging(log_format, log_level)
    from .inspect import inspect_module, render_report

    spec = PluginSpec(source=wasm)
    routes: dict[str, str] = {}
    if config_file:
        cfg = _load(config_file)
        if wasm not in cfg.plugins:
            _fail(
                f"{config_file}: no plug-in named {wasm!r} (configured: {', '.join(sorted(cfg.plugins))})"
            )
        spec = cfg.plugins[wasm]
        routes = spec.imports
        abi = abi if abi != "auto" else spec.abi
    if not os.path.isfile(spec.source):
        _fail(f"{spec.source}: no such file")
    try:
        info = inspect_module(spec, routes, abi)
    except OrchestraError as exc:
        _fail(str(exc))
    click.echo(json.dumps(info, indent=2) if as_json else render_report(info))


# -- plugins -------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--path",
    "paths",
    multiple=True,
    type=click.Path(),
    metavar="DIR",
    help="Also search this folder or file (repeatable; after ORCHESTRA_PLUGIN_PATH).",
)
@click.option(
    "--include-dir", is_flag=True, help="Print the folder of orchestra_hostplugin.h and exit."
)
@click.option("--json", "as_json", is_flag=True, help="Print the list as one JSON object.")
@_log_options
def plugins(
    paths: tuple[str, ...], include_dir: bool, as_json: bool, log_format: str, log_level: str
) -> None:
    """List the host plug-ins found: name, version, file, modules and functions.

    Searches ORCHESTRA_PLUGIN_PATH, then each --path, then <prefix>/lib/orchestra/plugins.
    Native plug-ins are read by a probe process, never loaded here. Exit 0 (a
    --path that does not exist is said on stderr). --json keys: plugins [{name, version, kind,
    description, file, modules [{name, functions [{name, params, results}]}],
    options [{name, description, default}]}], errors, shadowed [{file, name}], searched.
    """
    configure_logging(log_format, log_level)
    from .hostplugins import HostPluginRegistry, describe_registry, registry_as_dict
    from .hostplugins import include_dir as header_dir

    if include_dir:
        click.echo(str(header_dir()))
        return
    for path in paths:
        if not os.path.exists(path):
            click.echo(f"orchestra: --path {path}: no such file or directory", err=True)
    registry = HostPluginRegistry()
    registry.load_default_paths([os.path.abspath(p) for p in paths])
    if as_json:
        click.echo(json.dumps(registry_as_dict(registry), indent=2))
    else:
        click.echo(describe_registry(registry))
