"""Record tests for ``filter`` and ``when``: JSON fields and plug-in verdicts."""

from __future__ import annotations

from typing import Any

import msgspec

from ..config import Condition

__all__ = ("matches", "truthy_verdict")

_MISSING = object()


def _lookup(payload: bytes, field: str) -> Any:
    try:
        value: Any = msgspec.json.decode(payload)
    except msgspec.DecodeError:
        return _MISSING
    for part in field.split("."):
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def matches(condition: Condition, payload: bytes) -> bool:
    """Whether the JSON ``field`` of ``payload`` passes the condition (a payload that
    is not a JSON object, or lacks the field, passes only ``exists: false``)."""
    value = _lookup(payload, condition.field)
    if condition.exists is not None:
        return (value is not _MISSING) == condition.exists
    if value is _MISSING:
        return False
    if condition.in_ is not None:
        return value in condition.in_
    if condition.equals is not msgspec.UNSET:
        return bool(value == condition.equals)
    return bool(value != condition.not_equals)


_FALSY = {b"", b"0", b"false", b"null", b"no", b"[]", b"{}", b'""'}


def truthy_verdict(output: bytes) -> bool:
    """A plug-in filter's verdict: false for empty output, ``0``, ``false``,
    ``null``, ``no`` and empty JSON containers (whitespace and case ignored)."""
    return output.strip().lower() not in _FALSY
