"""What a started worker may send, checked field by field before the supervisor acts.

A worker is untrusted code's host: a frame from it that decodes is still only a
claim. Every kind and field (see ``_messages``), as sent worker → supervisor once
the worker is Ready:

* ``Result``: ``id`` of a call it holds; the output in exactly one of ``data``,
  ``shm_pos``/``shm_len`` (a span of its output ring) or ``ref`` (an object store's);
  ``values`` any numbers (the core ABI's).
* ``Results``: ``id`` of a call it holds in a batch (a ``CallBatch``'s, or one of
  a group sent alone), at least one item; each item answers the next call in
  order: ``bytes`` inline, or a ``Result``/``CallFailed`` carrying that call's id
  and checked as one.
* ``CallFailed``: ``id`` of a call it holds; ``kind`` a ``CallError`` kind;
  ``message``, ``trap_code``, ``frames``, ``reset`` any value of their types.
* ``RouteCall``: ``id`` not already being served; ``plugin``/``export`` any names (an
  unknown one is answered with an error, like any bad call); the input in ``data``
  or ``ref``, not both.
* ``Log``: ``level`` one of :data:`LOG_LEVELS`; ``event`` any text; ``fields`` not
  naming what the supervisor adds itself (:data:`RESERVED_LOG_FIELDS`).
* ``Heartbeat``: any ``seq`` (the protocol lets either side send one; the worker
  echoes a probe). It is ignored, and it is no answer: it never counts as progress
  for the watchdog, so a worker stuck in a call cannot stay alive by sending them.
* Never after start: ``Ready``, ``InitFailed``; never from a worker at all: ``Init``,
  ``Call``, ``CallBatch``, ``RouteResult``, ``Release`` and ``Shutdown``.

:func:`check_from_worker` holds the rules that need no state; the supervisor adds
those that do (which ids it holds, where its ring reading stands, whether its
backend has an object store). Any failure is a protocol error: the worker is killed.
"""

from __future__ import annotations

from ..errors import CALL_ERROR_KINDS
from ._messages import CallFailed, Heartbeat, Log, Message, Result, Results, RouteCall

__all__ = ("LOG_LEVELS", "RESERVED_LOG_FIELDS", "check_from_worker")

LOG_LEVELS = frozenset({"debug", "info", "warning", "error", "critical"})
"""The structlog levels a worker's ``Log`` may use."""
RESERVED_LOG_FIELDS = frozenset({"event", "pid"})
"""Fields of a re-emitted ``Log`` that the supervisor sets itself."""


def check_from_worker(msg: Message) -> str | None:
    """What is wrong with ``msg`` from a started worker, on its face; None if nothing."""
    if type(msg) is Result:
        # The common answer first (inline output): this runs for every call.
        if msg.shm_pos == -1 and msg.ref is None and not msg.shm_len and msg.id > 0:
            return None
        return _check_result(msg)
    return _check_other(msg)


def _check_result(msg: Result) -> str | None:
    if msg.id < 1:
        return f"Result for call id {msg.id} (ids start at 1)"
    if msg.shm_pos < -1 or msg.shm_len < 0:
        return f"Result {msg.id} with shm_pos {msg.shm_pos}, shm_len {msg.shm_len}"
    if msg.shm_pos == -1 and msg.shm_len:
        return f"Result {msg.id} with shm_len {msg.shm_len} but no shm_pos"
    places = (msg.data != b"") + (msg.shm_pos >= 0) + (msg.ref is not None)
    if places > 1:
        return f"Result {msg.id} with its output in more than one of data, shm, ref"
    if msg.ref is not None and not msg.ref:
        return f"Result {msg.id} with an empty ref"
    return None


def _check_other(msg: Message) -> str | None:
    if isinstance(msg, Results):
        if msg.id < 1:
            return f"Results from call id {msg.id} (ids start at 1)"
        if not msg.items:
            return f"Results {msg.id} with no items"
        if not msg.seconds >= 0:  # also NaN
            return f"Results {msg.id} with seconds {msg.seconds}"
        return None
    if isinstance(msg, CallFailed):
        if msg.id < 1:
            return f"CallFailed for call id {msg.id} (ids start at 1)"
        if msg.kind not in CALL_ERROR_KINDS:
            return f"CallFailed {msg.id} of unknown kind {msg.kind!r}"
        return None
    if isinstance(msg, RouteCall):
        if msg.data and msg.ref is not None:
            return f"RouteCall {msg.id} with its input in both data and ref"
        if msg.ref is not None and not msg.ref:
            return f"RouteCall {msg.id} with an empty ref"
        return None
    if isinstance(msg, Log):
        if msg.level not in LOG_LEVELS:
            return f"Log of unknown level {msg.level!r}"
        reserved = RESERVED_LOG_FIELDS.intersection(msg.fields)
        if reserved:
            return f"Log with reserved field {sorted(reserved)[0]!r}"
        return None
    if isinstance(msg, Heartbeat):
        return None
    return f"unexpected {type(msg).__name__} from a started worker"
