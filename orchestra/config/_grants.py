"""A manifest narrows the config's grants, never widens them.

An Extism manifest comes with the plug-in; the YAML (and the CLI) is the operator's
word. So a manifest's ``allowed_hosts`` and ``allowed_paths`` may only ask for part
of what the config grants (an entry the config does not cover is refused, with the
line to add), and its limits may only be tighter than the config's.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping, Sequence
from typing import TypeVar

__all__ = ("covers", "hosts_within", "paths_within", "tighter")

_GLOB = frozenset("*?[")
_N = TypeVar("_N", int, float)


def covers(granted: str, asked: str) -> bool:
    """Whether every host the glob ``asked`` matches is matched by the glob ``granted``.

    Sound, not complete: the same glob; a plain host name ``granted`` matches; or
    ``asked`` matched as text by a ``granted`` whose only wildcard is ``*`` (each ``*``
    of ``asked`` then falls inside a ``*`` of ``granted``, whatever it stands for:
    ``*.api.example.com`` within ``*.example.com``, anything within ``*``).
    """
    granted, asked = granted.lower(), asked.lower()
    if granted == asked:
        return True
    if not _GLOB & set(asked):
        return fnmatch.fnmatchcase(asked, granted)
    return (
        not {"?", "["} & set(granted) and "[" not in asked and fnmatch.fnmatchcase(asked, granted)
    )


def hosts_within(asked: Sequence[str], granted: Sequence[str]) -> list[str]:
    """``asked`` if the config's ``granted`` globs cover each entry.

    :raises ValueError: naming the first entry not covered and how to grant it.
    """
    for host in asked:
        if not any(covers(g, host) for g in granted):
            have = ", ".join(repr(g) for g in granted) or "none"
            raise ValueError(
                f"{host!r} is not granted by the config (its allowed_hosts: {have}); a "
                "manifest may only narrow them: grant it in the YAML's allowed_hosts "
                f"(or --allow-host {host}), or remove it from the manifest"
            )
    return list(asked)


def _split(key: str) -> tuple[str, bool]:
    """(real path, read-only) of an ``allowed_paths`` key (``ro:`` prefix)."""
    readonly = key.startswith("ro:")
    return os.path.realpath(key[3:] if readonly else key), readonly


def paths_within(asked: Mapping[str, str], granted: Mapping[str, str]) -> dict[str, str]:
    """The manifest's pre-opens ``asked`` ({host dir: guest}), each inside a directory
    the config grants, read-only where the config's is. Symlinks are resolved before
    the comparison, and the resolved directory is what gets opened.

    :raises ValueError: naming the first directory the config does not grant.
    """
    grants = [_split(k) for k in granted]
    out: dict[str, str] = {}
    for key, guest in asked.items():
        path, readonly = _split(key)
        within = [ro for g, ro in grants if path == g or path.startswith(g.rstrip(os.sep) + os.sep)]
        if not within:
            have = ", ".join(repr(k) for k in granted) or "none"
            raise ValueError(
                f"{key!r} is not within a directory the config grants (its "
                f"wasi.allowed_paths: {have}); a manifest may only narrow them: grant it "
                "in the YAML's wasi.allowed_paths (or --allow-path), or remove it from "
                "the manifest"
            )
        # Writable only where some grant containing it is writable.
        readonly = readonly or all(within)
        out[("ro:" if readonly else "") + path] = guest
    return out


def tighter(config: _N | None, manifest: _N | None) -> _N | None:
    """The tighter of two limits, None meaning no limit."""
    if manifest is None:
        return config
    if config is None:
        return manifest
    return min(config, manifest)
