"""Sizes (``64MiB``) and durations (``2s``, ``150ms``) as they are written in YAML."""

from __future__ import annotations

import math
import re
from fractions import Fraction
from typing import Any

__all__ = ("MAX_DURATION", "MAX_SIZE", "Duration", "Size", "parse_duration", "parse_size")

#: The largest size any field holds: a signed 64-bit byte count (wasmtime's store
#: limits, rlimits, msgpack to the worker). Beyond it a value would overflow where it
#: is used, long after loading, so it is refused here.
MAX_SIZE = 2**63 - 1
#: The longest duration: 2**63 nanoseconds (about 292 years), so a deadline counted in
#: ticks or nanoseconds fits the 64-bit integers it is handed to.
MAX_DURATION = 2**63 / 1e9

# The patterns are shared with the JSON Schema (config/schema.json), so they stay within
# the regex dialect common to Python and ECMAScript: no inline flags, ASCII digits.
SIZE_PATTERN = r"^\s*([0-9]+(?:\.[0-9]+)?)\s*([KMGTkmgt][Ii]?[Bb]|[Bb])?\s*$"
DURATION_PATTERN = r"^\s*([0-9]+(?:\.[0-9]+)?)\s*(us|µs|ms|s|m|h)?\s*$"
_SIZE_RE = re.compile(SIZE_PATTERN)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_DURATION_RE = re.compile(DURATION_PATTERN)
_DURATION_UNITS = {"us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class Size(int):
    """A byte count. YAML may write ``64MiB``, ``1.5GB``, ``4096`` (bytes)."""

    def __repr__(self) -> str:
        return f"Size({int(self)})"


class Duration(float):
    """Seconds. YAML may write ``2s``, ``150ms``, ``1m``, or a bare number of seconds."""

    def __repr__(self) -> str:
        return f"Duration({float(self)})"


def show_value(value: Any) -> str:
    """How an offending value is quoted in an error: as it would be written in YAML
    (``true``, ``null``), strings quoted, containers by kind."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping" if value else "an empty mapping"
    if isinstance(value, list | tuple):
        return "a list" if value else "an empty list"
    if isinstance(value, str | int | float):
        return repr(value)
    if isinstance(value, bytes):
        return "binary data"
    return str(value)  # a YAML date, say: as written


def parse_size(value: Any) -> Size:
    """Parse a size.

    :raises ValueError: with the message shown to the user.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a size like 64MiB, got {show_value(value)}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"expected a non-negative size, got {show_value(value)}")
        return _bounded(value, value)
    if isinstance(value, str):
        m = _SIZE_RE.match(value)
        if m:
            number, unit = m.groups()
            # Exact arithmetic: a float would round large counts (2**60 bytes and up).
            return _bounded(int(Fraction(number) * _SIZE_UNITS[(unit or "b").lower()]), value)
    raise ValueError(f"expected a size like 64MiB, got {show_value(value)}")


def _bounded(size: int, written: Any) -> Size:
    if size > MAX_SIZE:
        raise ValueError(
            f"size {show_value(written)} is too large (at most {MAX_SIZE} bytes, 8EiB - 1)"
        )
    return Size(size)


def parse_duration(value: Any) -> Duration:
    """Parse a duration.

    :raises ValueError: with the message shown to the user.
    """
    if isinstance(value, bool):
        raise ValueError(f"expected a duration like 2s or 150ms, got {show_value(value)}")
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise ValueError(f"expected a finite duration, got {show_value(value)}")
        if value < 0:
            raise ValueError(f"expected a non-negative duration, got {show_value(value)}")
        return _bounded_duration(value, value)
    if isinstance(value, str):
        m = _DURATION_RE.match(value)
        if m:
            number, unit = m.groups()
            return _bounded_duration(float(number) * _DURATION_UNITS[unit], value)
    raise ValueError(f"expected a duration like 2s or 150ms, got {show_value(value)}")


def _bounded_duration(seconds: float, written: Any) -> Duration:
    if seconds > MAX_DURATION:
        raise ValueError(f"duration {show_value(written)} is too long (at most 292 years)")
    return Duration(seconds)
