"""Draw a config's pipelines and routes as a graph: Mermaid or Graphviz dot.

A pipeline reads left to right from its input to its output. A plug-in stage is
a box; a ``parallel`` stage fans out from a hexagon to one box per branch (the
edges carry the branch names) and joins in a circle; a ``filter`` is a diamond
whose ``keep`` edge goes on and whose ``drop`` edge goes to the pipeline's
``dropped`` end. A stage with ``when`` is entered by an edge labelled with the
condition, and a dashed ``otherwise`` edge goes around it. Routes are dashed
edges from the plug-in that imports to the plug-in that serves, labelled with
the import's name.

Only the config is read: nothing is loaded or started.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import msgspec

from .config import Condition, Config, PipelineSpec, Stage

__all__ = ("describe_condition", "render_graph")

GraphFormat = Literal["mermaid", "dot"]
Shape = Literal["box", "input", "output", "fork", "join", "diamond", "end", "plugin"]


@dataclass
class _Node:
    id: str
    label: str
    shape: Shape


@dataclass
class _Edge:
    src: str
    dst: str
    label: str | None = None
    dashed: bool = False


@dataclass
class _Cluster:
    id: str
    title: str
    nodes: list[_Node] = field(default_factory=list)


@dataclass
class _Graph:
    clusters: list[_Cluster] = field(default_factory=list)
    edges: list[_Edge] = field(default_factory=list)


def _ident(*parts: str) -> str:
    return "_".join(re.sub(r"[^A-Za-z0-9_]", "_", p) for p in parts)


def _value(v: Any) -> str:
    return v if isinstance(v, str) else json.dumps(v)


def describe_condition(cond: Condition) -> str:
    """``level == ERROR``, ``level != DEBUG``, ``level in [WARN, ERROR]``, ``id exists``."""
    if cond.exists is not None:
        return f"{cond.field} exists" if cond.exists else f"{cond.field} missing"
    if cond.in_ is not None:
        return f"{cond.field} in [{', '.join(_value(v) for v in cond.in_)}]"
    if cond.equals is not msgspec.UNSET:
        return f"{cond.field} == {_value(cond.equals)}"
    return f"{cond.field} != {_value(cond.not_equals)}"


def _join(*labels: str | None) -> str | None:
    kept = [x for x in labels if x]
    return " / ".join(kept) if kept else None


def _pipeline(graph: _Graph, name: str, spec: PipelineSpec, base: Path | None) -> None:
    on_error = spec.on_error if isinstance(spec.on_error, str) else "dead_letter"
    cluster = _Cluster(_ident("pipeline", name), f"pipeline {name} (on_error: {on_error})")
    graph.clusters.append(cluster)
    nodes = cluster.nodes

    source = "input"
    if spec.input:
        shown = spec.input
        if base is not None:
            try:
                shown = os.path.relpath(spec.input, base)
            except ValueError:  # another drive (Windows)
                pass
        source = f"input: {shown}"
    first = _ident(name, "input")
    nodes.append(_Node(first, source, "input"))
    # Edges still to draw into whatever comes next: (from node, label, dashed).
    tails: list[tuple[str, str | None, bool]] = [(first, None, False)]
    dropped: str | None = None

    for i, stage in enumerate(spec.stages):
        sid = _ident(name, f"s{i}")
        when = f"when {describe_condition(stage.when)}" if stage.when is not None else None
        entry, exits = _stage(stage, sid, nodes, graph.edges)
        for src, label, dashed in tails:
            graph.edges.append(_Edge(src, entry, _join(label, when), dashed))
        if stage.filter is not None:
            if dropped is None:
                dropped = _ident(name, "dropped")
                nodes.append(_Node(dropped, "dropped", "end"))
            graph.edges.append(_Edge(entry, dropped, "drop", True))
        bypass = [(src, _join(label, "otherwise"), True) for src, label, _ in tails]
        tails = exits + (bypass if when else [])

    last = _ident(name, "output")
    nodes.append(_Node(last, "output", "output"))
    for src, label, dashed in tails:
        graph.edges.append(_Edge(src, last, label, dashed))


def _stage(
    stage: Stage, sid: str, nodes: list[_Node], edges: list[_Edge]
) -> tuple[str, list[tuple[str, str | None, bool]]]:
    """Add a stage's nodes; return its entry node and the edges leaving it."""
    if stage.plugin is not None:
        target = f"{stage.plugin}.{stage.export}"
        label = target if stage.name in (None, target) else f"{stage.name}\n{target}"
        nodes.append(_Node(sid, label, "box"))
        return sid, [(sid, None, False)]
    if stage.parallel is not None:
        nodes.append(_Node(sid, stage.name or "parallel", "fork"))
        join = f"{sid}_join"
        for branch, call in stage.parallel.items():
            bid = _ident(sid, "b", branch)
            nodes.append(_Node(bid, f"{call.plugin}.{call.export}", "box"))
            edges.append(_Edge(sid, bid, branch))
            edges.append(_Edge(bid, join))
        nodes.append(_Node(join, "join", "join"))
        return sid, [(join, None, False)]
    flt = stage.filter
    assert flt is not None
    condition = flt.condition()
    test = f"{flt.plugin}.{flt.export}" if condition is None else describe_condition(condition)
    label = f"filter: {test}" if stage.name is None else f"{stage.name}\n{test}"
    nodes.append(_Node(sid, label, "diamond"))
    return sid, [(sid, "keep", False)]


def _routes(graph: _Graph, config: Config) -> None:
    routed = [(name, spec.imports) for name, spec in config.plugins.items() if spec.imports]
    if not routed:
        return
    cluster = _Cluster("routes", "routes")
    graph.clusters.append(cluster)
    seen: set[str] = set()

    def node(plugin: str) -> str:
        pid = _ident("plugin", plugin)
        if plugin not in seen:
            seen.add(plugin)
            cluster.nodes.append(_Node(pid, plugin, "plugin"))
        return pid

    for name, imports in routed:
        for import_name, target in imports.items():
            server = target.partition(".")[0]
            graph.edges.append(_Edge(node(name), node(server), import_name, True))


def _build(config: Config, base: Path | None) -> _Graph:
    graph = _Graph()
    for name, spec in config.pipelines.items():
        _pipeline(graph, name, spec, base)
    _routes(graph, config)
    return graph


# -- Mermaid -------------------------------------------------------------------------------

_MERMAID_SHAPES: dict[Shape, tuple[str, str]] = {
    "box": ("[", "]"),
    "input": ("([", "])"),
    "output": ("([", "])"),
    "fork": ("{{", "}}"),
    "join": ("((", "))"),
    "diamond": ("{", "}"),
    "end": ("[/", "\\]"),
    "plugin": ("[[", "]]"),
}


def _mermaid_text(text: str) -> str:
    return '"' + text.replace('"', "#quot;").replace("\n", "<br/>") + '"'


def _mermaid(graph: _Graph) -> str:
    out = ["flowchart LR"]
    for cluster in graph.clusters:
        out.append(f"  subgraph {cluster.id}[{_mermaid_text(cluster.title)}]")
        for n in cluster.nodes:
            left, right = _MERMAID_SHAPES[n.shape]
            out.append(f"    {n.id}{left}{_mermaid_text(n.label)}{right}")
        out.append("  end")
    for e in graph.edges:
        arrow = "-.->" if e.dashed else "-->"
        label = f"|{_mermaid_text(e.label)}|" if e.label else ""
        out.append(f"  {e.src} {arrow}{label} {e.dst}")
    return "\n".join(out) + "\n"


# -- Graphviz dot --------------------------------------------------------------------------

_DOT_SHAPES: dict[Shape, str] = {
    "box": "shape=box",
    "input": "shape=box, style=rounded",
    "output": "shape=box, style=rounded",
    "fork": "shape=hexagon",
    "join": "shape=circle",
    "diamond": "shape=diamond",
    "end": "shape=invtrapezium",
    "plugin": "shape=component",
}


def _dot_text(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot(graph: _Graph) -> str:
    out = ["digraph orchestra {", "  rankdir=LR;", '  node [fontname="Helvetica"];']
    out.append('  edge [fontname="Helvetica", fontsize=10];')
    for cluster in graph.clusters:
        out.append(f"  subgraph cluster_{cluster.id} {{")
        out.append(f"    label={_dot_text(cluster.title)};")
        for n in cluster.nodes:
            out.append(f"    {n.id} [label={_dot_text(n.label)}, {_DOT_SHAPES[n.shape]}];")
        out.append("  }")
    for e in graph.edges:
        attrs = []
        if e.label:
            attrs.append(f"label={_dot_text(e.label)}")
        if e.dashed:
            attrs.append("style=dashed")
        suffix = f" [{', '.join(attrs)}]" if attrs else ""
        out.append(f"  {e.src} -> {e.dst}{suffix};")
    out.append("}")
    return "\n".join(out) + "\n"


def render_graph(config: Config, fmt: GraphFormat = "mermaid", *, base: Path | None = None) -> str:
    """The pipelines and routes of ``config`` as Mermaid (``flowchart LR``) or
    Graphviz dot text. Input paths are shown relative to ``base`` when given.

    :raises ValueError: an unknown ``fmt``.
    """
    graph = _build(config, base)
    if fmt == "mermaid":
        return _mermaid(graph)
    if fmt == "dot":
        return _dot(graph)
    raise ValueError(f"unknown graph format {fmt!r} (mermaid or dot)")
