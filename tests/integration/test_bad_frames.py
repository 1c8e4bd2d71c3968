"""Bad frames from a real worker process, every message kind and field.

The worker is ``orchestra.testing.faulty_worker`` with ``ORCHESTRA_FAULT=script``:
each start of the plug-in ``bad`` answers its calls with one crafted case, and the
start after the last case is the real worker. A case that breaks the protocol must
end with the worker killed and its calls answered once with PluginCrashed naming the
violation; a valid one with the right answer. Either way the worker is restarted and
``good`` (the real worker) keeps serving.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestra import HostFunctionError, Orchestra, PluginCrashed, PluginError, PluginTrap
from orchestra.backends.local import LocalBackend
from orchestra.config import Backoff, Config, Duration, PluginSpec, Restart
from orchestra.testing import FORWARD
from orchestra.testing.faulty_worker import CALL_ID, RING_POS, write_script
from orchestra.wire import (
    Call,
    CallFailed,
    Heartbeat,
    Init,
    InitFailed,
    Log,
    Message,
    Ready,
    Release,
    Result,
    Results,
    RouteCall,
    RouteResult,
    Shutdown,
)
from orchestra.wire._shm import DEFAULT_RING

pytestmark = pytest.mark.anyio
WatFile = Callable[[str, str], Path]
# Each case ends in a restart (a case that checks out ends with the worker's exit).
MANY_RESTARTS = Restart(
    max_restarts=1000,
    within=Duration(60),
    backoff=Backoff(initial=Duration(0.01), max=Duration(0.01), jitter=0),
)
ROUTE = {"extism:host/user.next": "good.echo"}
BIG = 70_000  # over the shared-memory threshold


def frame(msg: Message) -> tuple[str, bytes]:
    return ("frame", msgspec.msgpack.encode(msg))


def body(*fields: Any) -> tuple[str, bytes]:
    """A frame of any shape: an array of ``fields`` (the tag first)."""
    return ("frame", msgspec.msgpack.encode(list(fields)))


def crash(problem: str) -> tuple[str, str]:
    return ("crash", problem)


def ok(data: bytes) -> tuple[str, bytes]:
    return ("ok", data)


# name: (steps per call, outcome per call)
CASES: dict[str, tuple[list[list[Any]], list[tuple[str, Any]]]] = {
    # -- frames that do not decode --------------------------------------------------
    "not-msgpack": ([[("raw", b"\x05\0\0\0\xc1\xc1\xc1\xc1\xc1")]], [crash("malformed frame")]),
    "oversize-prefix": ([[("raw", b"\xf0\xff\xff\xff")]], [crash("exceeds the maximum")]),
    "unknown-kind": ([[body("nosuch", CALL_ID)]], [crash("malformed frame")]),
    "not-an-array": ([[("frame", msgspec.msgpack.encode({"op": "result"}))]], [crash("malformed")]),
    "id-not-an-int": ([[body("result", "one")]], [crash("malformed frame")]),
    "data-not-bytes": ([[body("result", CALL_ID, 5)]], [crash("malformed frame")]),
    "values-not-numbers": ([[body("result", CALL_ID, b"", ["x"])]], [crash("malformed")]),
    "missing-fields": ([[body("callfailed", CALL_ID)]], [crash("malformed frame")]),
    "bad-utf8-tag": ([[("raw", b"\x03\0\0\0\x91\xa1\xff")]], [crash("malformed frame")]),
    # -- Results (the answers to a CallBatch) -----------------------------------------
    "results-for-a-call-sent-alone": (
        [[frame(Results(id=CALL_ID, items=[b"x"]))]],
        [crash("does not hold in a batch")],
    ),
    "results-no-items": ([[frame(Results(id=CALL_ID))]], [crash("with no items")]),
    "results-id-zero": ([[frame(Results(id=0, items=[b"x"]))]], [crash("ids start at 1")]),
    "results-negative-seconds": (
        [[frame(Results(id=CALL_ID, items=[b"x"], seconds=-1.0))]],
        [crash("seconds -1")],
    ),
    "results-item-not-bytes-or-answer": (
        [[body("results", CALL_ID, [5])]],
        [crash("malformed frame")],
    ),
    # -- Result ---------------------------------------------------------------------
    "result-ok": ([[frame(Result(id=CALL_ID, data=b"fine"))]], [ok(b"fine")]),
    "result-never-sent-id": ([[frame(Result(id=CALL_ID + 7, data=b"x"))]], [crash("not hold")]),
    "result-id-zero": ([[frame(Result(id=0))]], [crash("ids start at 1")]),
    "result-twice": (
        [[frame(Result(id=CALL_ID, data=b"x")), frame(Result(id=CALL_ID, data=b"y"))]],
        [ok(b"x")],
    ),
    "result-ref-without-store": ([[frame(Result(id=CALL_ID, ref=b"r"))]], [crash("object store")]),
    "result-data-and-ref": (
        [[frame(Result(id=CALL_ID, data=b"x", ref=b"r"))]],
        [crash("more than one")],
    ),
    "result-data-and-shm": (
        [[frame(Result(id=CALL_ID, data=b"x", shm_pos=0, shm_len=1))]],
        [crash("more than one")],
    ),
    "result-shm-negative-len": (
        [[frame(Result(id=CALL_ID, shm_pos=0, shm_len=-1))]],
        [crash("shm_len -1")],
    ),
    "result-shm-negative-pos": (
        [[frame(Result(id=CALL_ID, shm_pos=-5, shm_len=1))]],
        [crash("shm_pos -5")],
    ),
    "result-shm-len-without-pos": (
        [[frame(Result(id=CALL_ID, shm_len=10))]],
        [crash("no shm_pos")],
    ),
    "result-shm-past-ring-end": (
        [[frame(Result(id=CALL_ID, shm_pos=DEFAULT_RING - 10, shm_len=100))]],
        [crash("runs past")],
    ),
    "result-shm-longer-than-ring": (
        [[frame(Result(id=CALL_ID, shm_pos=0, shm_len=DEFAULT_RING + 1))]],
        [crash("runs past")],
    ),
    "result-shm-one-past-the-ring": (
        [[frame(Result(id=CALL_ID, shm_pos=DEFAULT_RING, shm_len=16))]],
        [crash("a ring or more past")],
    ),
    "result-shm-ok": (
        [[("ring", b"r" * BIG), frame(Result(id=CALL_ID, shm_pos=RING_POS, shm_len=BIG))]],
        [ok(b"r" * BIG)],
    ),
    "result-shm-span-taken-twice": (
        [
            [("ring", b"a" * BIG), frame(Result(id=CALL_ID, shm_pos=RING_POS, shm_len=BIG))],
            [frame(Result(id=CALL_ID, shm_pos=RING_POS, shm_len=BIG))],
        ],
        [ok(b"a" * BIG), crash("overlaps outputs already taken")],
    ),
    # -- CallFailed -----------------------------------------------------------------
    "callfailed-ok": (
        [[frame(CallFailed(id=CALL_ID, kind="PluginError", message="nope"))]],
        [("error", PluginError)],
    ),
    "callfailed-unknown-kind": (
        [[frame(CallFailed(id=CALL_ID, kind="KeyError", message="m"))]],
        [crash("unknown kind 'KeyError'")],
    ),
    "callfailed-never-sent-id": (
        [[frame(CallFailed(id=CALL_ID + 1, kind="PluginError", message="m"))]],
        [crash("not hold")],
    ),
    # -- RouteCall ------------------------------------------------------------------
    "route-to-unknown-plugin": (
        [[frame(RouteCall(id=1, plugin="nosuch", export="x", data=b"hi")), ("await_route",)]],
        [ok(b"PluginUnavailable")],
    ),
    "route-ok": (
        [[frame(RouteCall(id=1, plugin="good", export="shout", data=b"hi")), ("await_route",)]],
        [ok(b"hi!")],
    ),
    "route-same-id-twice": (
        [
            [
                frame(RouteCall(id=1, plugin="good", export="shout")),
                frame(RouteCall(id=1, plugin="good", export="shout")),
            ]
        ],
        [crash("one of that id is being served")],
    ),
    "route-after-the-call-ended": (
        [[frame(Result(id=CALL_ID, data=b"x")), frame(RouteCall(id=1, plugin="good", export="e"))]],
        [ok(b"x")],
    ),
    "route-ref-without-store": (
        [[frame(RouteCall(id=1, plugin="good", export="shout", ref=b"r"))]],
        [crash("object store")],
    ),
    "route-data-and-ref": (
        [[frame(RouteCall(id=1, plugin="good", export="shout", data=b"x", ref=b"r"))]],
        [crash("both data and ref")],
    ),
    # -- Log ------------------------------------------------------------------------
    "log-ok": (
        [[frame(Log(level="info", event="hello", fields={"n": 1})), frame(Result(id=CALL_ID))]],
        [ok(b"")],
    ),
    "log-level-a-method-name": ([[frame(Log(level="bind", event="e"))]], [crash("level 'bind'")]),
    "log-level-dunder": ([[frame(Log(level="__init__", event="e"))]], [crash("unknown level")]),
    "log-reserved-field": (
        [[frame(Log(level="info", event="e", fields={"pid": 1}))]],
        [crash("reserved field 'pid'")],
    ),
    "log-fields-not-a-map": ([[body("log", "info", "e", [1])]], [crash("malformed frame")]),
    # -- kinds a started worker never sends -----------------------------------------
    "ready-again": ([[frame(Ready(pid=1, abi="extism"))]], [crash("unexpected Ready")]),
    "initfailed-late": (
        [[frame(InitFailed(kind="PluginLoadError", message="m"))]],
        [crash("unexpected InitFailed")],
    ),
    "init": ([[frame(Init(plugin="p", instance=0, spec=b""))]], [crash("unexpected Init")]),
    "call": ([[frame(Call(id=1, export="echo"))]], [crash("unexpected Call")]),
    "routeresult": ([[frame(RouteResult(id=1))]], [crash("unexpected RouteResult")]),
    "release": ([[frame(Release(refs=[b"r"]))]], [crash("unexpected Release")]),
    "shutdown": ([[frame(Shutdown())]], [crash("unexpected Shutdown")]),
    # Either side may send a Heartbeat: ignored (and no progress for the watchdog).
    "heartbeat": (
        [[frame(Heartbeat(seq=1)), frame(Result(id=CALL_ID, data=b"beat"))]],
        [ok(b"beat")],
    ),
}


# Cases answered correctly whose worker is then killed for a later frame of theirs.
KILLED_AFTER_ANSWERING = {
    "result-twice": "Result for call 1, which it does not hold",
    "route-after-the-call-ended": "RouteCall 1 while no call of it is running",
}


def ending(name: str, outcomes: list[tuple[str, Any]]) -> str:
    """How a case's worker ends, as its restart records it."""
    if name in KILLED_AFTER_ANSWERING:
        return f"protocol error: {KILLED_AFTER_ANSWERING[name]}"
    if any(kind == "crash" for kind, _ in outcomes):
        return "protocol error: "
    return "exited with code 0"  # the scripted worker's own exit after a valid case


def config(wat_file: WatFile) -> Config:
    source = str(wat_file("forward", FORWARD))
    return Config(
        plugins={
            "bad": PluginSpec(source=source, restart=MANY_RESTARTS, imports=ROUTE),
            "good": PluginSpec(source=source, imports=ROUTE),
        }
    )


async def run_cases(
    wat_file: WatFile,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    cases: list[tuple[str, list[list[Any]], list[tuple[str, Any]]]],
) -> None:
    """Run each case on its own start of ``bad``; check every answer, the restart
    that follows, ``good`` alongside, and the real worker after the last case."""
    script = tmp_path / "script.msgpack"
    write_script(script, [steps for _, steps, _ in cases])
    monkeypatch.setenv("ORCHESTRA_FAULT", "script")
    monkeypatch.setenv("ORCHESTRA_FAULT_SCRIPT", str(script))
    monkeypatch.setenv("ORCHESTRA_FAULT_PLUGIN", "bad")
    backend = LocalBackend(worker_module="orchestra.testing.faulty_worker")
    async with Orchestra(config(wat_file), backend=backend) as orch:
        for n, (name, _, outcomes) in enumerate(cases):
            for outcome in outcomes:
                got: list[Any] = []

                async def good(got: list[Any] = got) -> None:
                    got.append(await orch.call("good", "echo", b"still here"))

                async with anyio.create_task_group() as tg:
                    tg.start_soon(good)
                    with anyio.fail_after(15):
                        await check_call(orch, name, outcome)
                assert got == [b"still here"], name
            with anyio.fail_after(15):  # every case ends in a restart of bad alone
                while orch.stats()["bad"]["restarts"] < n + 1:
                    await anyio.sleep(0.01)
            failure = orch.stats()["bad"]["last_failure"]
            assert ending(name, outcomes) in failure, (name, failure)
        with anyio.fail_after(15):
            assert await orch.call("bad", "shout", b"real") == b"real!"
        assert orch.stats()["bad"]["restarts"] == len(cases)
        assert orch.stats()["good"]["restarts"] == 0


async def check_call(orch: Orchestra, name: str, outcome: tuple[str, Any]) -> None:
    kind, expected = outcome
    if kind == "ok":
        assert await orch.call("bad", "echo", b"in") == expected, name
    elif kind == "error":
        with pytest.raises(expected):
            await orch.call("bad", "echo", b"in")
    else:
        with pytest.raises(PluginCrashed) as info:
            await orch.call("bad", "echo", b"in")
        assert "protocol error" in str(info.value), (name, str(info.value))
        assert expected in str(info.value), (name, str(info.value))


async def test_every_bad_frame_kind_kills_only_that_worker(
    wat_file: WatFile, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each crafted frame from a real worker process: a valid one is served as such;
    any other kills that worker, its call answered once with PluginCrashed naming
    the protocol error; the worker is restarted and the other plug-in unharmed."""
    cases = [(name, steps, outcomes) for name, (steps, outcomes) in CASES.items()]
    await run_cases(wat_file, tmp_path, monkeypatch, cases)


# -- random field values ------------------------------------------------------------

ERRORS = {
    "PluginError": PluginError,
    "PluginTrap": PluginTrap,
    "HostFunctionError": HostFunctionError,
}
KINDS = [*ERRORS, "Nope", ""]
LEVELS = ["debug", "info", "warning", "error", "critical", "warn", "bind", "", "__call__"]
ids = st.sampled_from([CALL_ID, CALL_ID + 1, 0, -1, 2**62])
positions = st.sampled_from([-7, -1, 0, RING_POS, DEFAULT_RING - 1, DEFAULT_RING, 2**40])
lengths = st.sampled_from([-1, 0, 1, BIG, DEFAULT_RING, DEFAULT_RING + 1])
results = st.builds(
    Result,
    id=ids,
    data=st.sampled_from([b"", b"payload"]),
    values=st.none() | st.lists(st.integers(-(2**63), 2**63 - 1), max_size=2),
    shm_pos=positions,
    shm_len=lengths,
    ref=st.none() | st.sampled_from([b"", b"ref"]),
)
failures = st.builds(CallFailed, id=ids, kind=st.sampled_from(KINDS), message=st.text(max_size=8))
logs = st.builds(
    Log,
    level=st.sampled_from(LEVELS),
    event=st.text(max_size=8),
    fields=st.dictionaries(st.sampled_from(["message", "pid", "event", "x"]), st.integers()),
)


def expect(msg: Result | CallFailed | Log) -> tuple[list[list[Any]], list[tuple[str, Any]]]:
    """The case for one random frame, and what the caller must get (written out
    independently of the supervisor's checks)."""
    if isinstance(msg, Log):
        fine = msg.level in {"debug", "info", "warning", "error", "critical"} and not (
            {"pid", "event"} & set(msg.fields)
        )
        steps = [frame(msg), frame(Result(id=CALL_ID, data=b"after"))]
        return [steps], [ok(b"after") if fine else crash("")]
    if isinstance(msg, CallFailed):
        fine = msg.id == CALL_ID and msg.kind in ERRORS
        return [[frame(msg)]], [("error", ERRORS[msg.kind]) if fine else crash("")]
    steps: list[Any] = [frame(msg)]
    if msg.shm_pos == RING_POS:
        steps.insert(0, ("ring", b"s" * BIG))
    inline = msg.shm_pos == -1 and msg.shm_len == 0 and msg.ref is None
    if msg.id == CALL_ID and inline:
        return [steps], [ok(msg.data)]
    valid_span = msg.shm_pos == RING_POS and msg.shm_len in (0, 1, BIG) and not msg.data
    if msg.id == CALL_ID and valid_span and msg.ref is None:
        return [steps], [ok(b"s" * msg.shm_len)]
    return [steps], [crash("")]


@settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(frames=st.lists(results | failures | logs, min_size=6, max_size=6))
async def test_random_field_values_are_served_or_kill_the_worker(
    wat_file: WatFile,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    frames: list[Result | CallFailed | Log],
) -> None:
    """Random values in every field of the kinds a worker sends: each frame is either
    served as the valid frame it is, or kills the worker with PluginCrashed."""
    for leftover in tmp_path.glob("script.msgpack*"):
        leftover.unlink()
    cases = [(repr(m), *expect(m)) for m in frames]
    await run_cases(wat_file, tmp_path, monkeypatch, cases)
