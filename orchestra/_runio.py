"""Where ``orchestra run`` reads records from and writes results to.

Inputs: a file or stdin, as lines or JSON lines, or a directory (each regular
file one record, in sorted name order). Outputs: stdout or a file, as lines or
JSON lines, or a directory (one file per record that came out).
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import AsyncIterator
from typing import IO, Any, Literal

import anyio
import msgspec

from .pipeline import RecordResult

__all__ = ("RecordSink", "RecordSource", "is_directory_output", "json_value")

Format = Literal["lines", "jsonl"]
CHUNK = 1 << 18


class RecordSource:
    """The records of ``path`` (``-`` is stdin), read lazily.

    ``done``/``total`` measure how far reading has got, for a progress bar: bytes
    of a file (``total`` is its size; ``None`` for stdin), or files of a directory.
    ``names`` maps the index of each directory record still in flight to its file
    name (the sink takes it back). ``error`` says why reading stopped early, if it
    did (a JSON line that is not JSON). ``finished``: every record has been read.
    """

    def __init__(self, path: str, fmt: Format) -> None:
        self.path = path
        self.fmt = fmt
        self.is_dir = path != "-" and os.path.isdir(path)
        self.names: dict[int, str] = {}
        self.done = 0
        self.total: int | None = None
        self.error: str | None = None
        self.finished = False
        self._stopped = False
        self._waiting: anyio.CancelScope | None = None
        self._files: list[str] = []
        if self.is_dir:
            # Hidden files (.DS_Store, editor swap files) are not records.
            self._files = sorted(
                e.name for e in os.scandir(path) if e.is_file() and not e.name.startswith(".")
            )
            self.total = len(self._files)
        elif path != "-" and os.path.isfile(path):
            self.total = os.path.getsize(path)

    def name_of(self, index: int) -> str | None:
        """The file name of directory record ``index`` (forgotten once asked)."""
        return self.names.pop(index, None)

    async def records(self) -> AsyncIterator[bytes]:
        """One ``bytes`` per record, in input order."""
        if self.is_dir:
            for index, name in enumerate(self._files):
                data = await anyio.Path(self.path, name).read_bytes()
                self.names[index] = name
                self.done += 1
                yield data
            self.finished = True
            return
        line_no = 0
        async for line in self._lines():
            line_no += 1
            if self.fmt == "lines":
                yield line
                continue
            record = _json_record(line)
            if record is None:
                continue
            if isinstance(record, str):
                self.error = f"input line {line_no}: {record}; stopped reading"
                return
            yield record[0]
        self.finished = not self._stopped

    async def _lines(self) -> AsyncIterator[bytes]:
        """Lines of the file or stdin, without their ``\\n`` (or ``\\r\\n``).

        Reads 256 KiB at a time, in a thread for a file (one hop per chunk, not per
        line), or once the event loop says a pipe or terminal has data, so the loop
        never blocks and memory stays bounded by the pipeline's window.
        """
        rest = b""
        async for chunk in self._chunks():
            self.done += len(chunk)
            lines = (rest + chunk).split(b"\n")
            rest = lines.pop()
            for line in lines:
                yield line.removesuffix(b"\r")
        if rest:
            yield rest.removesuffix(b"\r")

    def stop(self) -> None:
        """Read no more: a read waiting on a pipe or a terminal ends as if the input
        had (``orchestra run``'s first signal: ``tail -f log | orchestra run ...``
        must not wait for a line that may never come). A file read never waits."""
        self._stopped = True
        if self._waiting is not None:
            self._waiting.cancel("input stopped")

    async def _chunks(self) -> AsyncIterator[bytes]:
        if self.path == "-" and _may_wait(sys.stdin):
            # Wait on the loop, where the wait can be cancelled; then read what is there.
            fd = sys.stdin.fileno()
            while not self._stopped:
                with anyio.CancelScope() as waiting:
                    self._waiting = waiting
                    await anyio.wait_readable(fd)
                self._waiting = None
                if waiting.cancelled_caught:
                    return
                chunk = os.read(fd, CHUNK)
                if not chunk:
                    return
                yield chunk
            return
        if self.path == "-":
            stream = anyio.wrap_file(sys.stdin.buffer)
        else:
            stream = await anyio.open_file(self.path, "rb")
        async with stream:
            while not self._stopped:
                chunk = await stream.read(CHUNK)
                if not chunk:
                    return
                yield chunk


def _may_wait(stream: IO[str] | None) -> bool:
    """A pipe, a socket or a terminal: a read may wait for as long as the writer likes."""
    try:
        fd = stream.fileno() if stream is not None else -1
        mode = os.fstat(fd).st_mode
    except (OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd)


def _json_record(line: bytes) -> tuple[bytes] | str | None:
    """A JSON line as a record: a string's text (so a record may hold newlines),
    any other value as written; ``None`` for a blank line, or why it is not JSON."""
    text = line.strip()
    if not text:
        return None
    try:
        value = msgspec.json.decode(text)
    except msgspec.DecodeError as exc:
        return f"not JSON ({exc})"
    if isinstance(value, str):
        return (value.encode(),)
    return (text,)


def is_directory_output(path: str) -> bool:
    """``--output DIR/`` or an existing directory: one file per record."""
    return path != "-" and (path.endswith(("/", os.sep)) or os.path.isdir(path))


class RecordSink:
    """Writes the records that came out, in the order given.

    ``lines``: the output bytes and a newline. ``jsonl``: ``{"index", "output"}``
    (and ``"file"`` for a directory input), the output embedded as JSON when it is
    a JSON object or array (a ``parallel`` stage's join always is), else as a
    string. A directory: one file per record, named as its input file, or
    ``<index>.out`` for records read from lines, holding the output bytes as they are.
    """

    def __init__(self, path: str, fmt: Format, source: RecordSource) -> None:
        self.fmt = fmt
        self.source = source
        self.directory: str | None = None
        self._file: IO[bytes]
        if path == "-":
            self._file = sys.stdout.buffer
        elif is_directory_output(path):
            self.directory = path
            os.makedirs(path, exist_ok=True)
            self._file = open(os.devnull, "wb")
        else:
            self._file = open(path, "wb")

    def write(self, res: RecordResult) -> None:
        """Write ``res`` if it has an output; forget its file name either way."""
        name = self.source.name_of(res.index) if self.source.is_dir else None
        if not res.ok or res.dropped or res.output is None:
            return
        if self.directory is not None:
            target = os.path.join(self.directory, name or f"{res.index}.out")
            with open(target, "wb") as fh:
                fh.write(res.output)
        elif self.fmt == "jsonl":
            item: dict[str, Any] = {"index": res.index}
            if name is not None:
                item["file"] = name
            item["output"] = json_value(res.output)
            self._file.write(msgspec.json.encode(item) + b"\n")
        else:
            self._file.write(res.output + b"\n")

    def flush(self) -> None:
        self._file.flush()

    def close(self) -> None:
        if self._file is not sys.stdout.buffer:
            self._file.close()


def json_value(output: bytes) -> Any:
    """``output`` as a JSON value: a JSON object or array as itself, anything else
    as a string (invalid UTF-8 replaced)."""
    head = output.lstrip()[:1]
    if head in (b"{", b"["):
        try:
            return msgspec.json.decode(output)
        except msgspec.DecodeError:
            pass
    return output.decode("utf-8", "replace")
