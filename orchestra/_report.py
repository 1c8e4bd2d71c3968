"""What ``orchestra run`` shows on stderr: a live progress display while records
flow (when stderr is a terminal) and a summary table at the end.

The display is redrawn by a task on the event loop (no refresh thread), so it
reads the pipeline's live counters from the thread that updates them.
"""

from __future__ import annotations

import sys
import time
from collections import deque
from collections.abc import Sequence
from typing import Any

import anyio
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from ._runio import RecordSource
from .pipeline import PipelineStats

__all__ = ("Reporter",)

REFRESH = 0.2  # seconds between redraws
RATE_WINDOW = 3.0  # seconds of history behind the records/s shown


class Reporter:
    """Messages, the progress display and the final summary, all on stderr.

    ``progress``: ``None`` shows the display when stderr is a terminal (and the
    results are not written to that same terminal); ``True``/``False`` force it.
    """

    def __init__(self, name: str, source: RecordSource, *, progress: bool | None, to_tty: bool):
        self.name = name
        self.source = source
        self.console = Console(stderr=True, force_terminal=True if progress else None)
        self.terminal = self.console.is_terminal
        self.show_progress = progress if progress is not None else self.terminal and not to_tty
        self.started = time.perf_counter()
        self._live: Live | None = None
        self._samples: deque[tuple[float, int]] = deque()

    # -- messages --------------------------------------------------------------------

    def say(self, message: str) -> None:
        """One line on stderr (above the progress display while it shows)."""
        if self._live is not None:
            self._live.console.print(Text(message), soft_wrap=True)
        else:
            sys.stderr.write(message + "\n")
            sys.stderr.flush()

    def clear(self) -> None:
        """Erase the progress display now (before an immediate exit)."""
        live = self._live
        if live is not None:
            self._live = None
            live.stop()
        self.console.file.flush()

    # -- progress --------------------------------------------------------------------

    async def run_progress(self, stats: PipelineStats) -> None:
        """Redraw the display every :data:`REFRESH` seconds until cancelled; it is
        erased when this returns, so the summary prints on a clean line."""
        if not self.show_progress:
            await anyio.sleep_forever()
        live = Live(
            console=self.console,
            auto_refresh=False,
            transient=True,
            redirect_stdout=False,
            redirect_stderr=False,
        )
        with live:
            self._live = live
            try:
                while True:
                    live.update(self.render(stats), refresh=True)
                    await anyio.sleep(REFRESH)
            finally:
                self._live = None

    def _rate(self, now: float, emitted: int) -> float:
        samples = self._samples
        samples.append((now, emitted))
        while len(samples) > 2 and now - samples[0][0] > RATE_WINDOW:
            samples.popleft()
        t0, n0 = samples[0]
        if now - t0 < 1e-3:
            return 0.0
        return (emitted - n0) / (now - t0)

    def render(self, stats: PipelineStats) -> RenderableType:
        """The display: a bar (bytes or files read; a pulse for stdin), the record
        counts and rate, and how many records each stage holds right now."""
        now = time.perf_counter()
        elapsed = now - self.started
        emitted = stats.emitted
        rate = self._rate(now, emitted)
        src = self.source
        known = src.total is not None
        bar = ProgressBar(
            total=float(src.total or 1) if known else None,
            completed=float(src.done),
            width=32,
            pulse=not known,
        )
        done = Text(f"{100 * src.done / src.total:3.0f}% " if src.total else "")
        done.append(_clock(elapsed), style="dim")
        head = Table.grid(padding=(0, 1))
        head.add_row(Text(self.name, style="bold"), bar, done)
        counts = Text("  ")
        counts.append(f"{emitted:,} records  {rate:,.0f}/s  ")
        counts.append(f"ok {stats.ok:,}", style="green")
        counts.append("  ")
        counts.append(f"failed {stats.failed:,}", style="red" if stats.failed else "")
        counts.append("  ")
        counts.append(f"dropped {stats.dropped:,}", style="yellow" if stats.dropped else "")
        stages = Text("  in flight: ", style="dim")
        for i, stage in enumerate(stats.stages):
            if i:
                stages.append(" · ", style="dim")
            stages.append(f"{stage.label} ")
            stages.append(f"{stage.in_flight}", style="cyan" if stage.in_flight else "dim")
        return Group(head, counts, stages)

    # -- summary ---------------------------------------------------------------------

    def summary(self, run: dict[str, Any], plugins: dict[str, dict[str, Any]]) -> None:
        """Per stage: done, errors, dropped, records/s, latency p50/p99; per plug-in:
        instances, calls, errors, restarts, latency. ``run`` is
        :meth:`PipelineStats.as_dict`; ``plugins`` is ``Orchestra.stats()``."""
        stage_rows = [
            [
                s["stage"],
                f"{s['done']:,}",
                f"{s['errors']:,}",
                f"{s['dropped']:,}",
                _num(s["records_per_second"]),
                _num(s["latency_ms"]["p50"], 3),
                _num(s["latency_ms"]["p99"], 3),
            ]
            for s in run["stages"]
        ]
        plugin_rows = [
            [
                name,
                str(p.get("instances", "")),
                f"{p.get('calls', 0):,}",
                f"{p.get('errors', 0):,}",
                f"{p.get('restarts', 0):,}",
                _num((p.get("latency_ms") or {}).get("p50"), 3),
                _num((p.get("latency_ms") or {}).get("p99"), 3),
            ]
            for name, p in plugins.items()
        ]
        stage_head = ["stage", "done", "errors", "dropped", "records/s", "p50 ms", "p99 ms"]
        plugin_head = ["plug-in", "instances", "calls", "errors", "restarts", "p50 ms", "p99 ms"]
        if self.terminal:
            self.console.print(_rich_table(stage_head, stage_rows))
            if plugin_rows:
                self.console.print(_rich_table(plugin_head, plugin_rows))
            return
        text = _plain_table(stage_head, stage_rows)
        if plugin_rows:
            text += _plain_table(plugin_head, plugin_rows)
        sys.stderr.write(text)
        sys.stderr.flush()


def _clock(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}"


def _num(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def _rich_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> Table:
    table = Table(box=None, header_style="bold", pad_edge=False)
    for i, title in enumerate(head):
        table.add_column(title, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*row)
    return table


def _plain_table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """Columns aligned with spaces: the first to the left, the others to the right."""
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    lines = []
    for row in [head, *rows]:
        cells = [
            cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row)
        ]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines) + "\n"
