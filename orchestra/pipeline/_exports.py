"""Whether a stage's export can be called on its plug-in: one rule for ``orchestra
validate`` (which compiles the module) and for a pipeline started from the Python
API (which asks the loaded instances)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from typing import Any

from ..config import COMMAND_ENTRY_NAMES, PipelineSpec, Stage

__all__ = ("missing_export", "stage_calls", "stage_exports")


def missing_export(plugin: str, abi: str, exports: Collection[str], export: str) -> str | None:
    """Why ``plugin`` (of ``abi``, with callable ``exports``) cannot be called as
    ``export``; None if it can."""
    if abi == "wasi-command":
        if export in COMMAND_ENTRY_NAMES:
            return None
        return (
            f"plug-in {plugin!r} is a WASI command: it has one entry point, "
            f"call it as '_start' (not {export!r})"
        )
    if export in exports:
        return None
    listed = ", ".join(sorted(exports)) or "none"
    return f"plug-in {plugin!r} has no export {export!r} (its exports: {listed})"


def stage_calls(spec: PipelineSpec) -> Iterator[tuple[tuple[Any, ...], str, str]]:
    """(path of the ``export:`` field under the pipeline, plug-in, export) of every call
    the pipeline makes: stages, ``parallel`` branches, plug-in filters."""
    for i, stage in enumerate(spec.stages):
        for at, plugin, export in stage_exports(stage):
            yield ("stages", i, *at), plugin, export


def stage_exports(stage: Stage) -> Iterator[tuple[tuple[Any, ...], str, str]]:
    """(path of the ``export:`` field under the stage, plug-in, export) of every call
    one stage makes: its own, its ``parallel`` branches', its plug-in filter's."""
    if stage.plugin is not None and stage.export is not None:
        yield ("export",), stage.plugin, stage.export
    for branch, call in (stage.parallel or {}).items():
        yield ("parallel", branch, "export"), call.plugin, call.export
    f = stage.filter
    if f is not None and f.plugin is not None and f.export is not None:
        yield ("filter", "export"), f.plugin, f.export
