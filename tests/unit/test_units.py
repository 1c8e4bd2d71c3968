"""Sizes and durations as written in YAML: what parses, to what, and what is refused."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from orchestra.config import Duration, Size, parse_duration, parse_size
from orchestra.config._units import DURATION_PATTERN, MAX_SIZE, SIZE_PATTERN


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("64MiB", 64 * 1024**2),
        ("64mib", 64 * 1024**2),
        ("1.5GB", 1_500_000_000),
        ("1.5 GiB", 3 * 1024**3 // 2),
        (" 512KiB ", 512 * 1024),
        ("10kb", 10_000),
        ("4096", 4096),
        ("4096B", 4096),
        ("2TiB", 2 * 1024**4),
        (4096, 4096),
        (0, 0),
    ],
)
def test_parse_size(text: str | int, expected: int) -> None:
    """Binary and decimal units, any case, spaces around, bare numbers are bytes."""
    size = parse_size(text)
    assert size == expected
    assert type(size) is Size


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("lots", "expected a size like 64MiB, got 'lots'"),
        ("64 MiBs", "expected a size like 64MiB, got '64 MiBs'"),
        ("-1KiB", "expected a size like 64MiB, got '-1KiB'"),
        ("", "expected a size like 64MiB, got ''"),
        (-1, "expected a non-negative size, got -1"),
        (1.5, "expected a size like 64MiB, got 1.5"),
        (True, "expected a size like 64MiB, got true"),
        (None, "expected a size like 64MiB, got null"),
        ([], "expected a size like 64MiB, got an empty list"),
        (
            2**64,
            "size 18446744073709551616 is too large (at most 9223372036854775807 bytes, 8EiB - 1)",
        ),
        (
            "8EiB",
            "expected a size like 64MiB, got '8EiB'",
        ),
        (
            "8388608TiB",
            "size '8388608TiB' is too large (at most 9223372036854775807 bytes, 8EiB - 1)",
        ),
    ],
)
def test_parse_size_errors(value: object, message: str) -> None:
    """Refusals say what a size looks like and quote the value as YAML would."""
    with pytest.raises(ValueError) as info:
        parse_size(value)
    assert str(info.value) == message


@given(st.integers(min_value=0, max_value=MAX_SIZE // 1024**2))
def test_size_kib_is_exact(n: int) -> None:
    """No float rounding, even for counts far beyond 2**53."""
    assert parse_size(f"{n}KiB") == n * 1024
    assert parse_size(f"{n}MiB") == n * 1024**2


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2s", 2.0),
        ("150ms", 0.15),
        ("250us", 0.00025),
        ("250µs", 0.00025),
        ("1m", 60.0),
        ("1.5h", 5400.0),
        (" 3 s ", 3.0),
        ("7", 7.0),
        (7, 7.0),
        (0.5, 0.5),
    ],
)
def test_parse_duration(text: str | float, expected: float) -> None:
    """Durations are seconds; bare numbers are seconds too."""
    duration = parse_duration(text)
    assert duration == pytest.approx(expected)
    assert type(duration) is Duration


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("soon", "expected a duration like 2s or 150ms, got 'soon'"),
        ("2S", "expected a duration like 2s or 150ms, got '2S'"),
        ("2 days", "expected a duration like 2s or 150ms, got '2 days'"),
        (-1, "expected a non-negative duration, got -1"),
        (float("inf"), "expected a finite duration, got inf"),
        (False, "expected a duration like 2s or 150ms, got false"),
        ({}, "expected a duration like 2s or 150ms, got an empty mapping"),
        ("3000000000h", "duration '3000000000h' is too long (at most 292 years)"),
        (1e300, "duration 1e+300 is too long (at most 292 years)"),
    ],
)
def test_parse_duration_errors(value: object, message: str) -> None:
    """Refusals say what a duration looks like; infinity and NaN are not durations."""
    with pytest.raises(ValueError) as info:
        parse_duration(value)
    assert str(info.value) == message


@given(st.integers(min_value=0, max_value=10**9))
def test_duration_ms(n: int) -> None:
    """``Nms`` is N thousandths of a second."""
    assert parse_duration(f"{n}ms") == pytest.approx(n / 1000)


_NUMBERS = st.from_regex(r"\A[0-9]{1,4}(\.[0-9]{1,3})?\Z")
_SIZE_UNIT = st.sampled_from(
    ["", "B", "b", "KiB", "kb", "MB", "mib", "GiB", "TB", "x", "KiBB", "iB"]
)
_DURATION_UNIT = st.sampled_from(["", "us", "µs", "ms", "s", "m", "h", "S", "d", "sec"])


@given(st.tuples(st.sampled_from(["", " "]), _NUMBERS, st.sampled_from(["", " "]), _SIZE_UNIT))
def test_size_schema_pattern_matches_parser(parts: tuple[str, str, str, str]) -> None:
    """The JSON Schema pattern accepts exactly what parse_size accepts."""
    text = "".join(parts)
    try:
        parse_size(text)
        parsed = True
    except ValueError:
        parsed = False
    assert bool(re.search(SIZE_PATTERN, text)) == parsed


@given(st.tuples(st.sampled_from(["", " "]), _NUMBERS, st.sampled_from(["", " "]), _DURATION_UNIT))
def test_duration_schema_pattern_matches_parser(parts: tuple[str, str, str, str]) -> None:
    """The JSON Schema pattern accepts exactly what parse_duration accepts."""
    text = "".join(parts)
    try:
        parse_duration(text)
        parsed = True
    except ValueError:
        parsed = False
    assert bool(re.search(DURATION_PATTERN, text)) == parsed
