"""A plug-in's ``sandbox:`` applied to the worker process it runs in, in two steps.

Capabilities and ``no_new_privs`` belong to a *thread*: they are set before the
plug-in is loaded, while the worker has a single thread, so every thread started
later (the epoch ticker, wasmtime's compiler threads, the watchdog, a host plug-in's
own) inherits them. (Dropped on one thread of several, a ``setuid`` from native code
would succeed on the others, and glibc aborts the process on the mismatch.)

rlimits and the seccomp filter come after loading: loading may open many files and
start threads, and the filter is synchronised onto every thread anyway
(``SECCOMP_FILTER_FLAG_TSYNC``). Both before any plug-in code runs.

Defaults degrade quietly where the OS has no such thing (``no_new_privs`` off Linux);
anything asked for and not applied is an error, never a silent no-op: a sandbox that
is not there must not look as if it were.
"""

from __future__ import annotations

import math
import os
import resource
import sys

from ..config import SandboxSpec
from ..errors import PluginLoadError
from ._capabilities import drop_capabilities
from ._seccomp import install_filter, set_no_new_privs

__all__ = ("sandbox_after_load", "sandbox_before_load")


def sandbox_before_load(sandbox: SandboxSpec, *, plugin: str | None = None) -> None:
    """Drop capabilities (if asked) and set ``no_new_privs`` (default), for good; call
    while this process has one thread.

    :raises PluginLoadError: a part asked for cannot be applied here (it names which
        and why); the worker must not serve then.
    """
    if sandbox.drop_capabilities:
        threads = _threads()
        if threads > 1:
            raise PluginLoadError(
                f"sandbox.drop_capabilities: the worker already runs {threads} threads; "
                "capabilities are per thread and would stay with the others",
                plugin=plugin,
            )
        try:
            drop_capabilities()
        except OSError as exc:
            raise PluginLoadError(f"sandbox.drop_capabilities: {exc}", plugin=plugin) from None
    if sandbox.no_new_privs and sys.platform.startswith("linux"):
        try:
            set_no_new_privs()
        except OSError as exc:
            raise PluginLoadError(f"sandbox.no_new_privs: {exc}", plugin=plugin) from None


def sandbox_after_load(sandbox: SandboxSpec, *, network: bool, plugin: str | None = None) -> None:
    """Set the rlimits and install the seccomp filter (if asked), for good.
    ``network``: the plug-in may make HTTP requests (``allowed_hosts``), so the filter
    leaves new sockets allowed.

    :raises PluginLoadError: as :func:`sandbox_before_load`.
    """
    limits = sandbox.rlimits
    for name, which, value in (
        ("nofile", resource.RLIMIT_NOFILE, limits.nofile),
        ("nproc", resource.RLIMIT_NPROC, limits.nproc),
        ("cpu", resource.RLIMIT_CPU, math.ceil(limits.cpu) if limits.cpu is not None else None),
    ):
        if value is None:
            continue
        try:
            _, hard = resource.getrlimit(which)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)  # never raise a limit: keep the stricter one
            resource.setrlimit(which, (value, value))
        except (ValueError, OSError) as exc:
            raise PluginLoadError(
                f"sandbox.rlimits.{name}: cannot be set: {exc}", plugin=plugin
            ) from None
    if sandbox.seccomp != "off":
        try:
            install_filter(sandbox.seccomp, network=network)
        except OSError as exc:
            raise PluginLoadError(
                f"sandbox.seccomp: {exc}; set seccomp: off to run without the filter",
                plugin=plugin,
            ) from None


def _threads() -> int:
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return 1
