"""What ``orchestra call`` sends: the input bytes, and for a core-ABI export the
numbers, checked against the export's signature so that a wrong call is a usage
error in the command line's own words (never a Python or worker error string).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from typing import IO

__all__ = ("CallInput", "UsageError", "core_arguments", "default_stdin", "read_input")

# The range a JSON number may take for each core type (signed or unsigned spelling).
_INT_RANGES = {"i32": (-(1 << 31), (1 << 32) - 1), "i64": (-(1 << 63), (1 << 64) - 1)}
_FLOATS = ("f32", "f64")


class UsageError(ValueError):
    """The command line asks for something that cannot be done (exit 2)."""


class CallInput:
    """The input of one call and how the user gave it (for messages)."""

    def __init__(self, data: bytes, where: str) -> None:
        self.data = data
        self.where = where


def read_input(text: str | None, file: str | None, stdin: IO[bytes] | None) -> CallInput:
    """``--input TEXT``, ``--input-file PATH`` (``-`` is stdin), or else stdin when it
    is not a terminal (``echo hi | orchestra call ...``); else empty input.

    :raises UsageError: both options given, or the file cannot be read.
    """
    if text is not None and file is not None:
        raise UsageError("give --input or --input-file, not both")
    if text is not None:
        return CallInput(text.encode(), f"--input {_quote(text)}")
    if file == "-" or (file is None and stdin is not None and not _is_terminal(stdin)):
        data = stdin.read() if stdin is not None else b""
        if data:
            return CallInput(data, f"stdin {_quote(data.decode('utf-8', 'replace'))}")
        return CallInput(data, "empty stdin" if file == "-" else "no input")
    if file is not None:
        try:
            with open(file, "rb") as fh:
                return CallInput(fh.read(), f"--input-file {file}")
        except OSError as exc:
            raise UsageError(f"--input-file {file}: {exc.strerror or exc}") from None
    return CallInput(b"", "no input")


def default_stdin() -> IO[bytes] | None:
    """This process's stdin as bytes, or ``None`` when there is none (fd 0 closed)."""
    stream = sys.stdin
    return None if stream is None else stream.buffer


def _is_terminal(stream: IO[bytes]) -> bool:
    try:
        return stream.isatty()
    except (OSError, ValueError):  # closed
        return True


def _quote(text: str) -> str:
    short = text if len(text) <= 60 else text[:57] + "..."
    return "'" + short.replace("'", "'\\''") + "'"


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")


def core_arguments(export: str, params: Sequence[str], given: CallInput) -> list[int | float]:
    """The numbers of ``given`` for core-ABI export ``export`` taking ``params``
    (wasm type names), checked for count, type and range.

    :raises UsageError: not a JSON list of numbers, or not what the export takes.
    """
    takes = f"{export} takes {_plural(len(params), 'argument')} ({', '.join(params) or 'none'})"
    text = given.data.strip()
    try:
        value = json.loads(text) if text else []
    except ValueError:
        value = None
    if not isinstance(value, list) or not all(
        isinstance(v, int | float) and not isinstance(v, bool) for v in value
    ):
        example = json.dumps([1] * len(params))
        raise UsageError(f"{takes} as a JSON list of numbers like '{example}', got {given.where}")
    if len(value) != len(params):
        raise UsageError(f"{takes}, got {len(value)}: {given.where}")
    for i, (v, ty) in enumerate(zip(value, params, strict=True)):
        if ty in _FLOATS:
            continue
        bounds = _INT_RANGES.get(ty)
        if bounds is None:
            raise UsageError(f"{takes}: a {ty} argument cannot be given on the command line")
        if isinstance(v, float):
            raise UsageError(
                f"{takes}: argument {i + 1} is {v!r}, not an integer ({ty}): {given.where}"
            )
        if not bounds[0] <= v <= bounds[1]:
            raise UsageError(
                f"{takes}: argument {i + 1} is {v}, out of range for an {ty}: {given.where}"
            )
    return value
