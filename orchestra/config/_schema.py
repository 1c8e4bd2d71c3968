"""The JSON Schema of the YAML config, for editors (``# yaml-language-server: $schema=``)
and for ``orchestra schema``. It is generated from the Structs, so it cannot drift from
what the loader accepts; ``config/schema.json`` is a committed copy, checked by a test."""

from __future__ import annotations

import inspect
import json
import os
from pathlib import Path
from typing import Any

import msgspec

from . import _spec
from ._loader import enc_hook
from ._spec import Config
from ._units import DURATION_PATTERN, MAX_DURATION, MAX_SIZE, SIZE_PATTERN, Duration, Size

__all__ = ("config_schema", "config_schema_text", "write_schema")

_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def _schema_hook(tp: type) -> dict[str, Any]:
    if tp is Size:
        return {
            "title": "Size",
            "description": "A byte count: an integer, or a string like 64MiB, 1.5GB, 512KiB.",
            "anyOf": [
                {"type": "integer", "minimum": 0, "maximum": MAX_SIZE},
                {"type": "string", "pattern": SIZE_PATTERN},
            ],
        }
    if tp is Duration:
        return {
            "title": "Duration",
            "description": "Seconds: a number, or a string like 2s, 150ms, 1m, 250us.",
            "anyOf": [
                {"type": "number", "minimum": 0, "maximum": MAX_DURATION},
                {"type": "string", "pattern": DURATION_PATTERN},
            ],
        }
    raise NotImplementedError(f"no JSON Schema for {tp!r}")


def config_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a config file, as a dict."""
    schema = msgspec.json.schema(Config, schema_hook=_schema_hook)
    defs = schema["$defs"]
    # msgspec leaves out defaults given by a factory; the Size/Duration ones are
    # factories only because msgspec could not encode them (see _spec._default).
    for name in _spec.__all__:
        cls = getattr(_spec, name)
        properties = defs.get(name, {}).get("properties", {})
        for f in msgspec.structs.fields(cls):
            if f.default_factory is msgspec.NODEFAULT or f.encode_name not in properties:
                continue
            default = f.default_factory()
            if isinstance(default, Size | Duration):
                properties[f.encode_name]["default"] = enc_hook(default)
    for d in defs.values():
        # msgspec 0.23 dedents class docstrings, earlier versions did not: the same
        # text whichever is installed.
        if isinstance(d.get("description"), str):
            d["description"] = inspect.cleandoc(d["description"])
    return {"$schema": _DIALECT, "title": "Orchestra config", **schema}


def config_schema_text() -> str:
    """:func:`config_schema` as the text of ``config/schema.json`` (stable: sorted keys)."""
    return json.dumps(config_schema(), indent=2, sort_keys=True) + "\n"


def write_schema(path: str | os.PathLike[str]) -> None:
    """Write :func:`config_schema_text` to ``path``.

    :raises OSError: the file cannot be written.
    """
    Path(path).write_text(config_schema_text(), encoding="utf-8")
