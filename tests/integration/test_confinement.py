"""Local workers at the OS level: they die with their supervisor in every start mode,
and a plug-in's ``sandbox:`` confines them (no_new_privs, capabilities, rlimits,
seccomp) beyond what the wasm sandbox stops.

Local only, all of it: these are properties of a process the local backend starts
(a Ray actor is a Ray worker process, and ``sandbox:`` is not applied there).
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import anyio
import msgspec
import psutil
import pytest
import structlog

from orchestra import Config, Orchestra, PluginCrashed
from orchestra.config import (
    Duration,
    HostPluginsSpec,
    Limits,
    PluginSpec,
    RayBackendSpec,
    Restart,
    Rlimits,
    SandboxSpec,
)
from orchestra.hostplugins import include_dir
from orchestra.testing import ADD, LOOP

from ..conftest import REPO

WatFile = Callable[[str, str], Path]


def alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# The supervisor under test, in its own process so that the test can SIGKILL it:
# two instances, both busy in a call that never ends (an infinite loop with an hour's
# timeout, or the faulty worker's spin), then it prints their pids.
SUPERVISOR = """
import anyio, os, sys
from orchestra import Orchestra, Config
from orchestra.backends.local import LocalBackend
from orchestra.config import Duration, Limits, PluginSpec

async def main():
    spec = PluginSpec(source={src!r}, instances=2, limits=Limits(timeout=Duration(3600)))
    custom = {custom!r}
    backend = LocalBackend(worker_module="orchestra.testing.faulty_worker") if custom else None
    export, args = ("add", [1, 2]) if custom else ("spin", [])
    async with Orchestra(Config(plugins={{"busy": spec}}), backend=backend) as orch:
        async def call():
            try:
                await orch.call("busy", export, args)
            except Exception as exc:
                print("call failed:", exc, file=sys.stderr, flush=True)
        async with anyio.create_task_group() as tg:
            for _ in range(2):
                tg.start_soon(call)
            pids = orch.stats()["busy"]["pids"]
            # Both calls are running once both workers burn CPU.
            while not all(_cpu(pid) > 0.05 for pid in pids):
                await anyio.sleep(0.05)
            print(" ".join(map(str, pids)), flush=True)
            await anyio.sleep(3600)

def _cpu(pid):
    with open(f"/proc/{{pid}}/stat") as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

anyio.run(main, backend={backend!r})
"""


@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
@pytest.mark.parametrize("start_method", ["zygote", "spawn", "custom"])
def test_busy_workers_die_with_a_sigkilled_supervisor(
    tmp_path: Path, wat_file: WatFile, start_method: str, anyio_backend: str
) -> None:
    """No orphans in any start mode (zygote fork, fresh interpreter, a custom worker
    module) under either event loop: SIGKILL the supervisor while its workers are busy
    in wasm (or spinning in Python) and every worker goes too, within a bounded wait."""
    src = wat_file("spin", LOOP)
    script = tmp_path / "sup.py"
    script.write_text(
        textwrap.dedent(
            SUPERVISOR.format(src=str(src), custom=start_method == "custom", backend=anyio_backend)
        )
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "ORCHESTRA_FAULT": "busy"}
    if start_method != "custom":
        env["ORCHESTRA_START_METHOD"] = start_method
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, env=env)
    assert proc.stdout is not None
    try:
        pids = [int(p) for p in proc.stdout.readline().split()]
        assert len(pids) == 2 and all(alive(p) for p in pids)
    finally:
        proc.kill()
        proc.wait()
        proc.stdout.close()
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    survivors = [p for p in pids if alive(p)]
    for pid in survivors:  # leave nothing spinning on a shared machine
        psutil.Process(pid).kill()
    assert survivors == []


# -- sandbox: --------------------------------------------------------------------------

# A native host plug-in that tries, on request, what a confined plug-in must not do.
# Each function returns 0 (or a count) on success, -errno on failure.
ESCAPE_C = r"""
#define _GNU_SOURCE
#include <orchestra_hostplugin.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define RET(v) do { ORCHESTRA_RET_I32(r, 0, (v)); return 0; } while (0)

static int32_t try_fork(orchestra_ctx_t *c, const uint64_t *a, uint64_t *r) {
    (void)c; (void)a;
    pid_t pid = fork();
    if (pid < 0) RET(-errno);
    if (pid == 0) _exit(0);
    waitpid(pid, NULL, 0);
    RET(0);
}
static int32_t try_exec(orchestra_ctx_t *c, const uint64_t *a, uint64_t *r) {
    (void)c; (void)a;
    char *argv[] = {"probe", NULL};
    execve("/nonexistent/orchestra-probe", argv, argv + 1);  /* ENOENT when allowed */
    RET(-errno);
}
static int32_t try_socket(orchestra_ctx_t *c, const uint64_t *a, uint64_t *r) {
    (void)c; (void)a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) RET(-errno);
    close(fd);
    RET(0);
}
static int32_t try_chown(orchestra_ctx_t *c, const uint64_t *a, uint64_t *r) {
    (void)c; (void)a;
    char path[] = "/tmp/orchestra-probe-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) RET(-errno);
    int rc = fchown(fd, 65534, 65534) ? -errno : 0;
    close(fd);
    unlink(path);
    RET(rc);
}
static int32_t try_setuid(orchestra_ctx_t *c, const uint64_t *a, uint64_t *r) {
    (void)c; (void)a;
    RET(setuid(65534) ? -errno : 0);
}
static int32_t open_many(orchestra_ctx_t *c, const uint64_t *a, uint64_t *r) {
    (void)c;
    int32_t n = ORCHESTRA_ARG_I32(a, 0), opened = 0;
    int fds[4096];
    while (opened < n && opened < 4096) {
        int fd = open("/dev/null", O_RDONLY);
        if (fd < 0) break;
        fds[opened++] = fd;
    }
    for (int i = 0; i < opened; i++) close(fds[i]);
    RET(opened);
}
static int32_t try_kill_parent(orchestra_ctx_t *c, const uint64_t *a, uint64_t *r) {
    (void)c; (void)a;
    RET(kill(getppid(), 0) ? -errno : 0);  /* signal 0: the permission check alone */
}
static int32_t try_kill_self(orchestra_ctx_t *c, const uint64_t *a, uint64_t *r) {
    (void)c; (void)a;
    RET(kill(getpid(), 0) ? -errno : 0);
}
static void *nothing(void *arg) { return arg; }
static int32_t try_thread(orchestra_ctx_t *c, const uint64_t *a, uint64_t *r) {
    (void)c; (void)a;
    pthread_t t;
    int rc = pthread_create(&t, NULL, nothing, NULL);
    if (rc) RET(-rc);
    pthread_join(t, NULL);
    RET(0);
}

static const uint8_t NONE[] = {0};
static const uint8_t I32[] = {ORCHESTRA_I32};
static const orchestra_function_t functions[] = {
    {"try_fork", NONE, 0, 1, I32, try_fork, ORCHESTRA_FN_NO_MEMORY, 0, NULL},
    {"try_exec", NONE, 0, 1, I32, try_exec, ORCHESTRA_FN_NO_MEMORY, 0, NULL},
    {"try_socket", NONE, 0, 1, I32, try_socket, ORCHESTRA_FN_NO_MEMORY, 0, NULL},
    {"try_chown", NONE, 0, 1, I32, try_chown, ORCHESTRA_FN_NO_MEMORY, 0, NULL},
    {"try_setuid", NONE, 0, 1, I32, try_setuid, ORCHESTRA_FN_NO_MEMORY, 0, NULL},
    {"open_many", I32, 1, 1, I32, open_many, ORCHESTRA_FN_NO_MEMORY, 0, NULL},
    {"try_thread", NONE, 0, 1, I32, try_thread, ORCHESTRA_FN_NO_MEMORY, 0, NULL},
    {"try_kill_parent", NONE, 0, 1, I32, try_kill_parent, ORCHESTRA_FN_NO_MEMORY, 0, NULL},
    {"try_kill_self", NONE, 0, 1, I32, try_kill_self, ORCHESTRA_FN_NO_MEMORY, 0, NULL},
};
static const orchestra_module_t modules[] = {{"escape", functions, 9, 0}};
static const orchestra_plugin_t plugin = {
    ORCHESTRA_HOSTPLUGIN_ABI_VERSION, sizeof(orchestra_plugin_t), "escape", "1.0.0",
    "tries what a sandbox must stop", modules, 1, 0, NULL, NULL, NULL,
};
ORCHESTRA_HOSTPLUGIN_EXPORT const orchestra_plugin_t *orchestra_hostplugin_descriptor(void) {
    return &plugin;
}
"""

ESCAPE_FUNCTIONS = [
    "try_fork",
    "try_exec",
    "try_socket",
    "try_chown",
    "try_setuid",
    "try_thread",
    "try_kill_parent",
    "try_kill_self",
]
ESCAPE_WAT = (
    "(module\n"
    + "".join(f'  (import "escape" "{f}" (func ${f} (result i32)))\n' for f in ESCAPE_FUNCTIONS)
    + '  (import "escape" "open_many" (func $open_many (param i32) (result i32)))\n'
    + "".join(f'  (func (export "{f}") (result i32) (call ${f}))\n' for f in ESCAPE_FUNCTIONS)
    + '  (func (export "open_many") (param i32) (result i32) (call $open_many (local.get 0))))\n'
)
ROOT = os.geteuid() == 0
needs_cc = pytest.mark.skipif(shutil.which("cc") is None, reason="needs a C compiler (cc)")


@pytest.fixture(scope="module")
def escape_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The escape host plug-in, compiled with ``cc``, and the WAT module calling it."""
    folder = tmp_path_factory.mktemp("escape")
    (folder / "escape.c").write_text(ESCAPE_C)
    out, src = folder / "libescape.so", folder / "escape.c"
    cmd = ["cc", "-shared", "-fPIC", "-O1", "-I", str(include_dir()), "-o", str(out), str(src)]
    subprocess.run([*cmd, "-lpthread"], check=True, capture_output=True)
    (folder / "escape.wat").write_text(ESCAPE_WAT)
    return folder


def escape_config(folder: Path, **plugins: SandboxSpec) -> Config:
    """One plug-in per keyword, each calling the escape host plug-in under that
    sandbox, plus ``add`` (plain wasm, default sandbox)."""
    specs = {
        name: PluginSpec(
            source=str(folder / "escape.wat"),
            host_modules=["escape"],
            sandbox=sandbox,
            restart=Restart(max_restarts=3, within=Duration(60), backoff=Duration(0.01)),
        )
        for name, sandbox in plugins.items()
    }
    (folder / "add.wat").write_text(ADD)
    specs["add"] = PluginSpec(source=str(folder / "add.wat"))
    return Config(plugins=specs, host_plugins=HostPluginsSpec(paths=[str(folder)]))


async def attempts(orch: Orchestra, plugin: str) -> dict[str, int]:
    """What each escape attempt returned (0: it worked; -errno: it was refused)."""
    return {f: (await orch.call(plugin, f, []))[0] for f in ESCAPE_FUNCTIONS if f != "try_setuid"}


def proc_status(pid: int) -> dict[str, str]:
    lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    return dict(line.split(":\t", 1) for line in lines if ":\t" in line)


@needs_cc
@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_native_code_runs_unconfined_without_a_sandbox(escape_dir: Path) -> None:
    """The baseline the sandbox tests stand on: with no sandbox asked for, native host
    code forks, execs (ENOENT: the call itself is allowed), opens sockets and many
    files, starts threads, and as root chowns and setuids; no_new_privs is on by
    default and off when asked."""
    cfg = escape_config(escape_dir, free=SandboxSpec(), privs=SandboxSpec(no_new_privs=False))
    async with Orchestra(cfg) as orch:
        got = await attempts(orch, "free")
        assert got == {
            "try_fork": 0,
            "try_exec": -errno.ENOENT,
            "try_socket": 0,
            "try_chown": 0 if ROOT else -errno.EPERM,
            "try_thread": 0,
            "try_kill_parent": 0,
            "try_kill_self": 0,
        }
        assert await orch.call("free", "open_many", [300]) == [300]
        assert proc_status(orch.stats()["free"]["pids"][0])["NoNewPrivs"] == "1"
        assert proc_status(orch.stats()["privs"]["pids"][0])["NoNewPrivs"] == "0"
        if ROOT:
            assert await orch.call("free", "try_setuid", []) == [0]


@needs_cc
@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio", "trio"])
@pytest.mark.parametrize("start_method", ["zygote", "spawn"])
async def test_seccomp_fail_refuses_processes_programs_sockets_and_setuid(
    escape_dir: Path, start_method: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """seccomp: fail: fork, execve, socket, setuid and signals to another process
    from native code return EPERM; threads, files and signals to itself still work,
    and the worker keeps serving. A plug-in granted
    HTTP (allowed_hosts) may still open sockets."""
    monkeypatch.setenv("ORCHESTRA_START_METHOD", start_method)
    cfg = escape_config(escape_dir, strict=SandboxSpec(seccomp="fail"))
    http = msgspec.structs.replace(cfg.plugins["strict"], allowed_hosts=["example.com"])
    cfg = msgspec.structs.replace(cfg, plugins={**cfg.plugins, "http": http})
    async with Orchestra(cfg) as orch:
        assert await attempts(orch, "strict") == {
            "try_fork": -errno.EPERM,
            "try_exec": -errno.EPERM,
            "try_socket": -errno.EPERM,
            "try_chown": 0 if ROOT else -errno.EPERM,  # files: capabilities, not seccomp
            "try_thread": 0,
            "try_kill_parent": -errno.EPERM,  # the supervisor or zygote
            "try_kill_self": 0,
        }
        assert await orch.call("strict", "try_setuid", []) == [-errno.EPERM]
        assert await orch.call("strict", "open_many", [300]) == [300]
        assert proc_status(orch.stats()["strict"]["pids"][0])["Seccomp"] == "2"
        assert await orch.call("http", "try_socket", []) == [0]
        assert await orch.call("http", "try_fork", []) == [-errno.EPERM]
        assert orch.stats()["strict"]["restarts"] == 0
        assert await orch.call("add", "add", [2, 3]) == [5]


@needs_cc
@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_seccomp_kill_crashes_only_that_worker(escape_dir: Path) -> None:
    """seccomp: kill: the first denied call kills the worker (PluginCrashed); other
    plug-ins never notice, and the restarted worker serves allowed calls."""
    cfg = escape_config(escape_dir, killed=SandboxSpec(seccomp="kill"))
    async with Orchestra(cfg) as orch:
        with pytest.raises(PluginCrashed):
            await orch.call("killed", "try_fork", [])
        assert await orch.call("add", "add", [2, 3]) == [5]
        with anyio.fail_after(15):
            while True:
                try:
                    assert await orch.call("killed", "try_thread", []) == [0]
                    break
                except PluginCrashed:
                    await anyio.sleep(0.05)
        assert orch.stats()["killed"]["restarts"] == 1
        assert orch.stats()["add"]["restarts"] == 0


@needs_cc
@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.skipif(not ROOT, reason="capabilities are root's to drop")
async def test_drop_capabilities_takes_roots_powers(escape_dir: Path) -> None:
    """drop_capabilities: a root supervisor's worker keeps uid 0 but cannot chown or
    setuid, and its capability sets (bounding included) are empty."""
    cfg = escape_config(escape_dir, nocaps=SandboxSpec(drop_capabilities=True))
    async with Orchestra(cfg) as orch:
        assert await orch.call("nocaps", "try_chown", []) == [-errno.EPERM]
        assert await orch.call("nocaps", "try_setuid", []) == [-errno.EPERM]
        assert await orch.call("nocaps", "try_fork", []) == [0]  # not seccomp's job here
        status = proc_status(orch.stats()["nocaps"]["pids"][0])
        assert {status[k] for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb")} == {
            "0000000000000000"
        }
        assert status["Uid"].split()[0] == "0"


@needs_cc
@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_rlimits_bound_files_processes_and_cpu(wat_file: WatFile, escape_dir: Path) -> None:
    """rlimits: nofile stops native code opening files past it; cpu kills a worker
    spinning past its CPU budget (PluginCrashed, where it would otherwise run into its
    30 s timeout); the other plug-ins never notice."""
    cfg = escape_config(escape_dir, files=SandboxSpec(rlimits=Rlimits(nofile=64)))
    spin = PluginSpec(
        source=str(wat_file("spin", LOOP)),
        limits=Limits(timeout=Duration(30)),
        sandbox=SandboxSpec(rlimits=Rlimits(cpu=Duration(1))),
        restart=Restart(max_restarts=0, within=Duration(60)),
    )
    cfg = msgspec.structs.replace(cfg, plugins={**cfg.plugins, "spin": spin})
    async with Orchestra(cfg) as orch:
        opened = (await orch.call("files", "open_many", [300]))[0]
        assert 0 < opened < 64
        limits = Path(f"/proc/{orch.stats()['files']['pids'][0]}/limits").read_text()
        assert "Max open files            64                   64" in limits
        with pytest.raises(PluginCrashed):
            await orch.call("spin", "spin", [])
        assert await orch.call("add", "add", [2, 3]) == [5]


@needs_cc
@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
async def test_rlimit_nproc_stops_fork(escape_dir: Path) -> None:
    """rlimits.nproc: native code cannot fork past it (EAGAIN) where a plug-in without
    it can. The kernel counts processes per user and never limits uid 0, so as root
    the worker first becomes ``nobody`` (setuid from the host plug-in)."""
    cfg = escape_config(escape_dir, procs=SandboxSpec(rlimits=Rlimits(nproc=1)), free=SandboxSpec())
    async with Orchestra(cfg) as orch:
        for plugin in ("procs", "free"):
            if ROOT:
                assert await orch.call(plugin, "try_setuid", []) == [0]
        assert await orch.call("procs", "try_fork", []) == [-errno.EAGAIN]
        assert await orch.call("free", "try_fork", []) == [0]


@pytest.mark.ray
@pytest.mark.anyio
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.usefixtures("ray_cluster")
async def test_ray_backend_says_the_sandbox_is_not_applied(wat_file: WatFile) -> None:
    """On Ray a sandbox would confine the Ray worker process itself: the plug-in runs
    without it, and the driver says so once (sandbox_not_applied)."""
    spec = PluginSpec(source=str(wat_file("add", ADD)), sandbox=SandboxSpec(seccomp="fail"))
    cfg = Config(plugins={"add": spec}, backend=RayBackendSpec())
    structlog.reset_defaults()  # an earlier Orchestra may have installed a level filter
    with structlog.testing.capture_logs() as logs:
        async with Orchestra(cfg) as orch:
            assert await orch.call("add", "add", [1, 2]) == [3]
            pid = orch.stats()["add"]["pids"][0]
            assert proc_status(pid)["Seccomp"] == "0"
    warnings = [e for e in logs if e["event"] == "sandbox_not_applied"]
    assert [(e["plugin"], e["log_level"]) for e in warnings] == [("add", "warning")]
