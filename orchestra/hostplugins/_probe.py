"""Learn native host plug-ins' descriptors in a throw-away process.

::

    python -m orchestra.hostplugins._probe [--options JSON] FILE...

For each FILE in order: load it, read and validate its descriptor, run its init
(with ``options[plugin name]``, JSON ``{"name": {"key": "value"}}``) and fini, and
print JSON lines on stdout:

* ``{"event": "descriptor", "file": F, "descriptor": {...}}`` once the descriptor
  is read (so its modules are known even if init then crashes);
* ``{"event": "error", "file": F, "error": "..."}`` when loading or init fails; or
* ``{"event": "done", "file": F}`` when it loaded and init/fini passed.

A FILE with neither ``error`` nor ``done`` crashed (or hung) the probe:
:func:`probe` (the parent side) reports it and probes the rest in a new process.
Library output goes to stderr: stdout carries only these lines.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

__all__ = ("ProbeResult", "main", "probe")

DEFAULT_TIMEOUT = 10.0
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])


@dataclass(frozen=True)
class ProbeResult:
    """The outcome for one file: ``descriptor`` (JSON form) when it could be read,
    ``error`` when loading, validating or init failed (or crashed)."""

    file: str
    descriptor: dict[str, Any] | None
    error: str | None

    @property
    def ok(self) -> bool:
        return self.error is None and self.descriptor is not None


def _emit(out: TextIO, **event: Any) -> None:
    out.write(json.dumps(event) + "\n")
    out.flush()


def _probe_here(
    files: Sequence[str], options: Mapping[str, Mapping[str, str]], out: TextIO
) -> None:
    from ..errors import PluginLoadError
    from ._native import NativeLibrary, read_descriptor
    from ._wasmedge import cxx_plugin_problem, is_wasmedge_file, read_wasmedge_header

    for file in files:
        problem = cxx_plugin_problem(file)
        if problem is not None:
            _emit(out, event="error", file=file, error=problem)
            continue
        if is_wasmedge_file(file):
            # The descriptor first (so a crash in a module's create still names the
            # plug-in and its modules), then every create, which lists the functions.
            try:
                header = read_wasmedge_header(file)
                _emit(out, event="descriptor", file=file, descriptor=header.to_json())
                full = _wasmedge_descriptor(file, options.get(header.name, {}))
            except PluginLoadError as exc:
                _emit(out, event="error", file=file, error=exc.message)
                continue
            _emit(out, event="descriptor", file=file, descriptor=full)
            _emit(out, event="done", file=file)
            continue
        try:
            desc = read_descriptor(file)
        except PluginLoadError as exc:
            _emit(out, event="error", file=file, error=exc.message)
            continue
        _emit(out, event="descriptor", file=file, descriptor=desc.to_json())
        try:
            lib = NativeLibrary(file, options.get(desc.name, {}))
            lib.close()
        except PluginLoadError as exc:
            _emit(out, event="error", file=file, error=exc.message)
            continue
        _emit(out, event="done", file=file)


def _wasmedge_descriptor(file: str, options: Mapping[str, str]) -> dict[str, Any]:
    from ._wasmedge import WasmEdgeLibrary

    return WasmEdgeLibrary(file, options).descriptor.to_json()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    options: dict[str, dict[str, str]] = {}
    if args[:1] == ["--options"]:
        options = json.loads(args[1])
        args = args[2:]
    # stdout carries the results only: whatever the libraries print goes to stderr.
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    _probe_here(args, options, out)
    out.close()
    return 0


# -- the parent side ----------------------------------------------------------------


def _cache_key(file: str, options: Mapping[str, Mapping[str, str]]) -> str | None:
    from ._native import ABI_VERSION

    try:
        st = os.stat(file)
    except OSError:
        return None
    ident = [ABI_VERSION, os.path.abspath(file), st.st_size, st.st_mtime_ns, st.st_ino]
    ident.append(json.dumps(options, sort_keys=True))
    return hashlib.sha256(json.dumps(ident).encode()).hexdigest()[:32]


_memory_cache: dict[str, ProbeResult] = {}


def _cache_dir() -> Path:
    from .._paths import default_cache_dir

    return default_cache_dir() / "hostplugins"


def _cached(key: str) -> ProbeResult | None:
    hit = _memory_cache.get(key)
    if hit is not None:
        return hit
    try:
        data = json.loads((_cache_dir() / f"probe-{key}.json").read_text())
        result = ProbeResult(data["file"], data["descriptor"], None)
    except (OSError, ValueError, KeyError, TypeError):
        return None
    _memory_cache[key] = result
    return result


def _store(key: str, result: ProbeResult) -> None:
    """Remember a successful probe (failures are retried: they may be transient)."""
    _memory_cache[key] = result
    try:
        folder = _cache_dir()
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f"probe-{key}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"file": result.file, "descriptor": result.descriptor}))
        os.replace(tmp, folder / f"probe-{key}.json")
    except OSError:
        pass  # a read-only cache only costs a probe next time


def _run(
    files: list[str], options: Mapping[str, Mapping[str, str]], timeout: float
) -> tuple[list[dict[str, Any]], str, str | None]:
    """One probe process over ``files``: (events, stderr tail, how it ended badly)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-P", "-m", "orchestra.hostplugins._probe"]
    if options:
        cmd += ["--options", json.dumps(options)]
    proc = subprocess.Popen(
        [*cmd, *files],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )
    bad: str | None = None
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        stdout, stderr = proc.communicate()
        bad = f"the probe hung (killed after {timeout:g} s)"
    if bad is None and proc.returncode != 0:
        code = proc.returncode
        if code < 0:
            import signal

            try:
                bad = f"it crashed the probe process (signal {signal.Signals(-code).name})"
            except ValueError:
                bad = f"it crashed the probe process (signal {-code})"
        else:
            bad = f"the probe process exited with code {code}"
    events = []
    for line in stdout.decode("utf-8", "replace").splitlines():
        try:
            events.append(json.loads(line))
        except ValueError:
            continue
    tail = stderr.decode("utf-8", "replace").strip().splitlines()[-3:]
    return events, " | ".join(tail), bad


def probe(
    files: Sequence[str],
    options: Mapping[str, Mapping[str, str]] | None = None,
    *,
    timeout: float = DEFAULT_TIMEOUT,
) -> list[ProbeResult]:
    """Descriptors of native host plug-in ``files``, learnt in child processes.

    Never loads a library into this process. Successful probes are cached (in
    memory and under the cache dir) by file identity and options. A file whose
    load or init crashes or hangs the probe gets an ``error`` saying so; the
    files after it are probed in a new process.
    """
    opts = {k: dict(v) for k, v in (options or {}).items()}
    files = list(dict.fromkeys(files))
    results: dict[str, ProbeResult] = {}
    keys: dict[str, str | None] = {}
    todo: list[str] = []
    for file in files:
        key = keys[file] = _cache_key(file, opts)
        hit = _cached(key) if key else None
        if hit is not None and hit.file == file:
            results[file] = hit
        else:
            todo.append(file)
    while todo:
        events, tail, bad = _run(todo, opts, timeout)
        descriptors: dict[str, dict[str, Any]] = {}
        finished: set[str] = set()
        for event in events:
            name = str(event.get("file"))
            if name not in todo:
                continue
            kind = event.get("event")
            if kind == "descriptor":
                descriptors[name] = event["descriptor"]
            elif kind == "error":
                results[name] = ProbeResult(name, descriptors.get(name), str(event["error"]))
                finished.add(name)
            elif kind == "done":
                results[name] = ProbeResult(name, descriptors.get(name), None)
                finished.add(name)
                key = keys.get(name)
                if key:
                    _store(key, results[name])
        rest = [f for f in todo if f not in finished]
        if not rest:
            break
        culprit = rest[0]
        stage = "in init" if culprit in descriptors else "while loading"
        why = bad or "the probe process stopped early"
        results[culprit] = ProbeResult(
            culprit,
            descriptors.get(culprit),
            f"{culprit}: {why} {stage}" + (f" (stderr: {tail})" if tail else ""),
        )
        todo = rest[1:]
    return [results[f] for f in files]


if __name__ == "__main__":
    sys.exit(main())
