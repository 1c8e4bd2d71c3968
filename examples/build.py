#!/usr/bin/env python3
"""Build the C example plug-ins (examples/plugins/*.c) to WebAssembly.

Usage::

    python examples/build.py [--out DIR] [--force]

Each ``plugins/NAME.c`` becomes ``DIR/NAME.wasm`` (DIR defaults to
``examples/build/``), and each Extism-ABI plug-in ``plugins/extism/NAME.c``
becomes ``DIR/extism/NAME.wasm``, compiled with the zig toolchain from PyPI (the
``ziglang`` package, run as ``python -m ziglang cc``), so no system
compiler or WASI SDK is needed::

    python -m ziglang cc --target=wasm32-wasi -O2 -s [FLAGS] -o NAME.wasm NAME.c

FLAGS come from a ``// build-flags: ...`` line in the source, if any; e.g.
primes.c uses ``-nostdlib -Wl,--no-entry`` to become an import-free library
(core ABI) instead of a WASI command with ``_start``. The Extism plug-ins
are compiled with ``-I plugins/extism`` (for ``orchestra_pdk.h``) and use
``-mexec-model=reactor``: a WASI reactor exporting ``_initialize`` (which
runs the C constructors) and no ``_start``.

Outputs newer than their source (and than this script, and for the Extism
plug-ins than the headers in ``plugins/extism``) are not rebuilt.
zig's caches go to ``$ZIG_GLOBAL_CACHE_DIR`` / ``$ZIG_LOCAL_CACHE_DIR`` if
set, else to ``examples/build/.zig-cache`` (whatever ``--out`` is), so
that wasi-libc is compiled once (~20 s) and nothing is written to ``~``.

Tests import :func:`build_examples` and :func:`build_extism_examples` from
this file (by path).

``--hostplugins`` instead builds what ``config/hostplugins.yaml`` needs: the
native host plug-ins of ``hostplugins/*.c``, with the machine's C compiler
(``$CC``, default ``cc``), into ``DIR/hostplugins/liborchestra_NAME.so``
(:func:`build_hostplugins`)::

    cc -shared -fPIC -O2 -I orchestra/hostplugins -o liborchestra_NAME.so NAME.c [FLAGS]

A source may name, on a ``// build-fallback-flags: ...`` line, the flags to use
instead when the first build fails (zhash.c: without zlib). It also builds the
wasm plug-in calling them, ``plugins/hostdemo/*.c`` (Extism ABI, with
``orchestra_pdk.h``), into ``DIR/hostdemo/NAME.wasm`` (:func:`build_hostdemo`).
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
PLUGINS_DIR = HERE / "plugins"
DEFAULT_OUT = HERE / "build"
DEFAULT_ZIG_CACHE = DEFAULT_OUT / ".zig-cache"

#: Extism-ABI plug-ins live in ``PLUGINS_DIR / EXTISM_SUBDIR`` and are built
#: into ``OUT / EXTISM_SUBDIR``.
EXTISM_SUBDIR = "extism"

#: Flags for every example; ``-s`` strips debug info (~1 MB -> ~25 kB).
BASE_FLAGS = ("--target=wasm32-wasi", "-O2", "-s")

_FLAGS_LINE = re.compile(r"^\s*//\s*build-flags:(.*)$", re.MULTILINE)


class BuildError(Exception):
    """A plug-in failed to compile; the message holds the compiler output."""


def sources() -> list[Path]:
    """The C example sources, sorted by name."""
    return sorted(PLUGINS_DIR.glob("*.c"))


def extism_dir() -> Path:
    """The directory of the Extism-ABI plug-ins and their header."""
    return PLUGINS_DIR / EXTISM_SUBDIR


def extism_sources() -> list[Path]:
    """The Extism-ABI C plug-in sources, sorted by name."""
    return sorted(extism_dir().glob("*.c"))


def _headers(src: Path) -> list[Path]:
    """Headers a source may include: those next to an Extism plug-in."""
    if src.parent.resolve() == extism_dir().resolve():
        return sorted(src.parent.glob("*.h"))
    return []


def extra_flags(src: Path) -> list[str]:
    """The flags named on ``// build-flags:`` lines of *src*."""
    text = src.read_text(encoding="utf-8")
    return [flag for line in _FLAGS_LINE.findall(text) for flag in shlex.split(line)]


def compile_command(src: Path, out: Path) -> list[str]:
    """The command line that compiles *src* to *out*."""
    return [
        sys.executable,
        "-m",
        "ziglang",
        "cc",
        *BASE_FLAGS,
        *(["-I", str(src.parent)] if _headers(src) else []),
        *extra_flags(src),
        "-o",
        str(out),
        str(src),
    ]


def _zig_cache_dir() -> Path:
    try:
        DEFAULT_ZIG_CACHE.mkdir(parents=True, exist_ok=True)
        if os.access(DEFAULT_ZIG_CACHE, os.W_OK):
            return DEFAULT_ZIG_CACHE
    except OSError:
        pass
    # A read-only checkout: fall back to a per-user temporary directory.
    user = os.environ.get("USER") or str(os.getuid() if hasattr(os, "getuid") else "user")
    fallback = Path(tempfile.gettempdir()) / f"orchestra-zig-cache-{user}"
    fallback.mkdir(parents=True, exist_ok=True)
    return fallback


def zig_env() -> dict[str, str]:
    """The environment for zig: the caller's, plus cache directories."""
    env = dict(os.environ)
    if not env.get("ZIG_GLOBAL_CACHE_DIR") or not env.get("ZIG_LOCAL_CACHE_DIR"):
        cache = str(_zig_cache_dir())
        env.setdefault("ZIG_GLOBAL_CACHE_DIR", cache)
        env.setdefault("ZIG_LOCAL_CACHE_DIR", env["ZIG_GLOBAL_CACHE_DIR"])
    return env


def is_up_to_date(src: Path, out: Path) -> bool:
    """Is *out* newer than *src*, the headers it may include and this script?"""
    try:
        built = out.stat().st_mtime_ns
    except FileNotFoundError:
        return False
    inputs = [src, Path(__file__), *_headers(src)]
    newest_input = max(path.stat().st_mtime_ns for path in inputs)
    return built >= newest_input


def build_one(src: Path, out: Path) -> None:
    """Compile *src* to *out*, atomically; raise BuildError on failure."""
    out.parent.mkdir(parents=True, exist_ok=True)
    # Compile to a temporary name, then rename: a failed or interrupted
    # build never leaves a partial .wasm that looks up to date.
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    cmd = compile_command(src, tmp)
    try:
        proc = subprocess.run(cmd, env=zig_env(), capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            output = (proc.stderr + proc.stdout).strip()
            raise BuildError(
                f"compiling {src.name} failed (exit {proc.returncode}):\n"
                f"$ {shlex.join(cmd)}\n{output}"
            )
        os.replace(tmp, out)
    finally:
        tmp.unlink(missing_ok=True)


def build_examples(
    out_dir: Path,
    *,
    force: bool = False,
    log: Callable[[str], object] | None = print,
) -> dict[str, Path]:
    """Compile every examples/plugins/*.c into *out_dir*.

    Returns ``{name: path to name.wasm}`` for every C example, built now or
    already up to date. Raises :class:`BuildError` if one fails to compile.
    """
    return _build(sources(), Path(out_dir), force=force, log=log)


def build_extism_examples(
    out_dir: Path,
    *,
    force: bool = False,
    log: Callable[[str], object] | None = print,
) -> dict[str, Path]:
    """Compile every examples/plugins/extism/*.c into *out_dir*/extism/.

    Returns ``{name: path to extism/name.wasm}`` (e.g. ``"count_vowels"``,
    ``"kitchen"``), built now or already up to date. Raises
    :class:`BuildError` if one fails to compile.
    """
    return _build(extism_sources(), Path(out_dir) / EXTISM_SUBDIR, force=force, log=log)


def _build(
    srcs: list[Path],
    out_dir: Path,
    *,
    force: bool,
    log: Callable[[str], object] | None,
) -> dict[str, Path]:
    built: dict[str, Path] = {}
    for src in srcs:
        out = out_dir / f"{src.stem}.wasm"
        if force or not is_up_to_date(src, out):
            build_one(src, out)
            if log is not None:
                log(f"built {out}")
        built[src.stem] = out
    return built


HOSTPLUGINS_DIR = HERE / "hostplugins"
HOSTPLUGINS_SUBDIR = "hostplugins"
#: The native host plug-in ABI header, shipped inside the package
#: (``orchestra plugins --include-dir`` prints this folder).
HOSTPLUGIN_INCLUDE = HERE.parent / "orchestra" / "hostplugins"
_FALLBACK_LINE = re.compile(r"^\s*(?:/\*|//|\*)\s*build-fallback-flags:(.*?)(?:\*/)?$", re.M)
_CFLAGS_LINE = re.compile(r"^\s*(?:/\*|//|\*)\s*build-flags:(.*?)(?:\*/)?$", re.M)


def hostplugin_sources() -> list[Path]:
    """The native host plug-in sources (examples/hostplugins/*.c), sorted by name."""
    return sorted(HOSTPLUGINS_DIR.glob("*.c"))


def hostplugin_command(src: Path, out: Path, *, fallback: bool = False) -> list[str]:
    """The ``cc`` command line building host plug-in *src* into shared library *out*."""
    text = src.read_text(encoding="utf-8")
    pattern = _FALLBACK_LINE if fallback else _CFLAGS_LINE
    flags = [f for line in pattern.findall(text) for f in shlex.split(line)]
    cc = shlex.split(os.environ.get("CC", "cc"))
    return [
        *cc,
        "-shared",
        "-fPIC",
        "-O2",
        "-Wall",
        "-I",
        str(HOSTPLUGIN_INCLUDE),
        "-o",
        str(out),
        str(src),
        *flags,
    ]


def build_hostplugins(
    out_dir: Path,
    *,
    force: bool = False,
    log: Callable[[str], object] | None = print,
) -> dict[str, Path]:
    """Compile every examples/hostplugins/*.c into *out_dir*/hostplugins/ with cc.

    Returns ``{name: path to liborchestra_NAME.so}`` (e.g. ``"zhash"``, ``"kv"``),
    built now or already up to date. Raises :class:`BuildError` if one fails.
    """
    folder = Path(out_dir) / HOSTPLUGINS_SUBDIR
    folder.mkdir(parents=True, exist_ok=True)
    header = HOSTPLUGIN_INCLUDE / "orchestra_hostplugin.h"
    built: dict[str, Path] = {}
    for src in hostplugin_sources():
        out = folder / f"liborchestra_{src.stem}.so"
        try:
            fresh = out.stat().st_mtime_ns >= max(
                p.stat().st_mtime_ns for p in (src, header, Path(__file__))
            )
        except FileNotFoundError:
            fresh = False
        if force or not fresh:
            _cc(src, out)
            if log is not None:
                log(f"built {out}")
        built[src.stem] = out
    return built


def _cc(src: Path, out: Path) -> None:
    tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
    try:
        errors = []
        has_fallback = bool(_FALLBACK_LINE.search(src.read_text(encoding="utf-8")))
        for fallback in (False, True) if has_fallback else (False,):
            cmd = hostplugin_command(src, tmp, fallback=fallback)
            try:
                proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
            except FileNotFoundError:
                raise BuildError(f"no C compiler: {cmd[0]} not found (set $CC)") from None
            if proc.returncode == 0:
                os.replace(tmp, out)
                return
            errors.append(f"$ {shlex.join(cmd)}\n{(proc.stderr + proc.stdout).strip()}")
        raise BuildError(f"compiling {src.name} failed:\n" + "\n".join(errors))
    finally:
        tmp.unlink(missing_ok=True)


HOSTDEMO_SUBDIR = "hostdemo"


def build_hostdemo(
    out_dir: Path,
    *,
    force: bool = False,
    log: Callable[[str], object] | None = print,
) -> dict[str, Path]:
    """Compile examples/plugins/hostdemo/*.c (Extism-ABI plug-ins importing the
    example host modules) into *out_dir*/hostdemo/ with zig.

    Returns ``{name: path to name.wasm}``. Raises :class:`BuildError` if one fails.
    """
    folder = Path(out_dir) / HOSTDEMO_SUBDIR
    built: dict[str, Path] = {}
    for src in sorted((PLUGINS_DIR / HOSTDEMO_SUBDIR).glob("*.c")):
        out = folder / f"{src.stem}.wasm"
        inputs = [src, Path(__file__), *sorted(extism_dir().glob("*.h"))]
        try:
            fresh = out.stat().st_mtime_ns >= max(p.stat().st_mtime_ns for p in inputs)
        except FileNotFoundError:
            fresh = False
        if force or not fresh:
            folder.mkdir(parents=True, exist_ok=True)
            tmp = out.with_name(f"{out.name}.{os.getpid()}.tmp")
            cmd = compile_command(src, tmp)
            cmd[cmd.index("-o") : cmd.index("-o")] = ["-I", str(extism_dir())]
            try:
                proc = subprocess.run(cmd, env=zig_env(), capture_output=True, text=True)
                if proc.returncode != 0:
                    raise BuildError(
                        f"compiling {src.name} failed (exit {proc.returncode}):\n"
                        f"$ {shlex.join(cmd)}\n{(proc.stderr + proc.stdout).strip()}"
                    )
                os.replace(tmp, out)
            finally:
                tmp.unlink(missing_ok=True)
            if log is not None:
                log(f"built {out}")
        built[src.stem] = out
    return built


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out",
        type=Path,
        default=DEFAULT_OUT,
        help=f"output directory (default: {DEFAULT_OUT})",
    )
    parser.add_argument("--force", action="store_true", help="rebuild even if up to date")
    parser.add_argument(
        "--hostplugins",
        action="store_true",
        help="build the host plug-ins (hostplugins/*.c, with cc) and plugins/hostdemo instead",
    )
    args = parser.parse_args(argv)
    if args.hostplugins:
        try:
            native = build_hostplugins(args.out, force=args.force)
            demo = build_hostdemo(args.out, force=args.force)
        except (BuildError, OSError) as exc:
            print(f"build.py: {exc}", file=sys.stderr)
            return 1
        print(
            f"{len(native)} host plug-in(s) in {args.out / HOSTPLUGINS_SUBDIR}, "
            f"{len(demo)} plug-in(s) using them in {args.out / HOSTDEMO_SUBDIR}"
        )
        return 0
    try:
        built = build_examples(args.out, force=args.force)
        extism = build_extism_examples(args.out, force=args.force)
    except BuildError as exc:
        print(f"build.py: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"build.py: {exc}", file=sys.stderr)
        return 1
    print(
        f"{len(built)} example(s) in {args.out}, "
        f"{len(extism)} Extism plug-in(s) in {args.out / EXTISM_SUBDIR}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
