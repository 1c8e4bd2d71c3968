"""A seccomp-BPF filter that denies what a plug-in never needs: new processes and
programs, debugging or signalling other processes, privilege and namespace changes,
mounts, kernel modules, and (unless the plug-in is granted HTTP) new sockets.

Written here, not taken from a library: libseccomp's own Python bindings are not on
PyPI, ``pyseccomp`` (ctypes over the system's libseccomp.so.2) was last released in
2021, and ``seccompy`` is a young single-vendor beta; the filter below is small
enough to read whole. It is a denylist ("strict-ish"): everything else is allowed,
so the Python runtime, wasmtime and host plug-ins keep working unchanged.

The filter is installed with ``SECCOMP_FILTER_FLAG_TSYNC``: every thread of the
worker gets it (and ``no_new_privs``), not only the one installing it.
"""

from __future__ import annotations

import ctypes
import errno
import os
import platform
import struct
from typing import Literal

__all__ = ("SeccompUnsupported", "install_filter", "set_no_new_privs")

Action = Literal["fail", "kill"]

_AUDIT_ARCH = {"x86_64": 0xC000003E, "aarch64": 0xC00000B7}
_X32_BIT = 0x40000000  # x86_64: x32-ABI syscall numbers; never ours

# name -> (x86_64, aarch64); None where the architecture has no such call.
_DENIED: dict[str, tuple[int | None, int | None]] = {
    # new processes and programs (threads stay allowed: see clone below)
    "fork": (57, None),
    "vfork": (58, None),
    "execve": (59, 221),
    "execveat": (322, 281),
    # other processes' memory
    "ptrace": (101, 117),
    "process_vm_readv": (310, 270),
    "process_vm_writev": (311, 271),
    # identity and privileges
    "setuid": (105, 146),
    "setgid": (106, 144),
    "setreuid": (113, 145),
    "setregid": (114, 143),
    "setgroups": (116, 159),
    "setresuid": (117, 147),
    "setresgid": (119, 149),
    "setfsuid": (122, 151),
    "setfsgid": (123, 152),
    "capset": (126, 91),
    # namespaces and mounts
    "unshare": (272, 97),
    "setns": (308, 268),
    "mount": (165, 40),
    "umount2": (166, 39),
    "pivot_root": (155, 41),
    "chroot": (161, 51),
    "open_tree": (428, 428),
    "move_mount": (429, 429),
    "fsopen": (430, 430),
    "fsconfig": (431, 431),
    "fsmount": (432, 432),
    "fspick": (433, 433),
    # the kernel itself
    "init_module": (175, 105),
    "finit_module": (313, 273),
    "delete_module": (176, 106),
    "kexec_load": (246, 104),
    "kexec_file_load": (320, 294),
    "reboot": (169, 142),
    "bpf": (321, 280),
    "perf_event_open": (298, 241),
    "userfaultfd": (323, 282),
    "add_key": (248, 217),
    "request_key": (249, 218),
    "keyctl": (250, 219),
    # signals by a handle or to a thread id a filter cannot place (kill and the
    # others naming a process are checked against our own pid, below)
    "tkill": (200, 130),
    "pidfd_send_signal": (424, 424),
    # io_uring runs operations that seccomp never sees
    "io_uring_setup": (425, 425),
    "io_uring_enter": (426, 426),
    "io_uring_register": (427, 427),
}
_NETWORK: dict[str, tuple[int | None, int | None]] = {
    "socket": (41, 198),
    "socketpair": (53, 199),
}
# Signals naming a process in their first argument: allowed to ourselves only (kill
# also to 0, our own process group: a worker leads its own session).
_KILL = (62, 129)
_SELF_SIGNALS = {
    "tgkill": (234, 131),
    "rt_sigqueueinfo": (129, 138),
    "rt_tgsigqueueinfo": (297, 240),
}
_CLONE = (56, 220)
_CLONE3 = 435  # its flags sit behind a pointer a filter cannot read: ENOSYS, and
# the C library falls back to clone, whose flags it can
_CLONE_THREAD = 0x00010000
_CLONE_NEW_NAMESPACES = 0x7E020000  # NEWNS|NEWCGROUP|NEWUTS|NEWIPC|NEWUSER|NEWPID|NEWNET

_RET_ALLOW = 0x7FFF0000
_RET_ERRNO = 0x00050000
_RET_KILL_PROCESS = 0x80000000
# struct seccomp_data: int nr; u32 arch; u64 instruction_pointer; u64 args[6]
_NR, _ARCH, _ARG0_LOW = 0, 4, 16
_LD_ABS, _JEQ, _JGE, _JSET, _RET = 0x20, 0x15, 0x35, 0x45, 0x06

_PR_SET_NO_NEW_PRIVS = 38
_SECCOMP_SET_MODE_FILTER = 1
_SECCOMP_FILTER_FLAG_TSYNC = 1
_SYS_SECCOMP = {"x86_64": 317, "aarch64": 277}


def set_no_new_privs() -> None:
    """``PR_SET_NO_NEW_PRIVS`` on this thread (and the threads it starts), for good.

    :raises OSError: the kernel refused (before Linux 3.5).
    """
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"prctl(PR_SET_NO_NEW_PRIVS): {errno.errorcode.get(err, err)}")


class SeccompUnsupported(OSError):
    """This machine cannot install the filter (not Linux, another architecture, an
    old kernel); the message says which."""


class _SockFprog(ctypes.Structure):
    _fields_ = (("len", ctypes.c_ushort), ("filter", ctypes.c_char_p))


# One BPF instruction (code, jump-if-true, jump-if-false, k), jumps naming labels; a
# bare string is a label for the instruction after it.
_Ins = tuple[int, int | str, int | str, int]


def _program(arch: str, action: Action, *, network: bool, pid: int) -> list[_Ins | str]:
    column = 0 if arch == "x86_64" else 1
    denied = dict(_DENIED)
    if not network:
        denied.update(_NETWORK)
    numbers = sorted({nr for pair in denied.values() if (nr := pair[column]) is not None})
    prog: list[_Ins | str] = [
        (_LD_ABS, 0, 0, _ARCH),
        (_JEQ, 0, "deny", _AUDIT_ARCH[arch]),  # a foreign ABI (int 0x80) numbers differently
        (_LD_ABS, 0, 0, _NR),
    ]
    if arch == "x86_64":
        prog.append((_JGE, "deny", 0, _X32_BIT))
    prog += [(_JEQ, "enosys", 0, _CLONE3), (_JEQ, "clone", 0, _CLONE[column])]
    prog += [(_JEQ, "kill", 0, _KILL[column])]
    prog += [(_JEQ, "self", 0, pair[column]) for pair in _SELF_SIGNALS.values()]
    prog += [(_JEQ, "deny", 0, nr) for nr in numbers]
    deny = _RET_KILL_PROCESS if action == "kill" else _RET_ERRNO | errno.EPERM
    prog += [
        (_RET, 0, 0, _RET_ALLOW),
        "kill",
        (_LD_ABS, 0, 0, _ARG0_LOW),  # pid_t: the kernel reads the low word only
        (_JEQ, "allow", 0, 0),
        (_JEQ, "allow", "deny", pid),
        "self",
        (_LD_ABS, 0, 0, _ARG0_LOW),
        (_JEQ, "allow", "deny", pid),
        "clone",
        (_LD_ABS, 0, 0, _ARG0_LOW),  # clone's flags (little-endian: the low word first)
        (_JSET, "deny", 0, _CLONE_NEW_NAMESPACES),
        (_JSET, "allow", "deny", _CLONE_THREAD),  # a thread, not a process
        "enosys",
        (_RET, 0, 0, _RET_ERRNO | errno.ENOSYS),
        "deny",
        (_RET, 0, 0, deny),
        "allow",
        (_RET, 0, 0, _RET_ALLOW),
    ]
    return prog


def _assemble(prog: list[_Ins | str]) -> bytes:
    labels: dict[str, int] = {}
    code: list[_Ins] = []
    for item in prog:
        if isinstance(item, str):
            labels[item] = len(code)
        else:
            code.append(item)

    def offset(here: int, target: int | str) -> int:
        if isinstance(target, int):
            return target
        jump = labels[target] - here - 1
        if not 0 <= jump < 256:
            raise AssertionError("a BPF jump reaches at most 255 instructions ahead")
        return jump

    return b"".join(
        struct.pack("=HBBI", op, offset(i, jt), offset(i, jf), k)
        for i, (op, jt, jf, k) in enumerate(code)
    )


def install_filter(action: Action, *, network: bool) -> None:
    """Install the filter on every thread of this process, for good (with
    ``no_new_privs``, which the kernel requires of an unprivileged process).

    ``action``: what a denied call does: ``fail`` (it returns EPERM) or ``kill`` (the
    kernel kills the process). ``network``: whether new sockets stay allowed.

    :raises SeccompUnsupported: not Linux on x86_64/aarch64, or the kernel refused.
    :raises OSError: ``no_new_privs`` could not be set.
    """
    arch = platform.machine()
    if arch not in _AUDIT_ARCH or platform.system() != "Linux":
        raise SeccompUnsupported(
            f"seccomp filters need Linux on x86_64 or aarch64, not {platform.system()} {arch}"
        )
    blob = _assemble(_program(arch, action, network=network, pid=os.getpid()))
    prog = _SockFprog(len(blob) // 8, blob)
    set_no_new_privs()
    libc = ctypes.CDLL(None, use_errno=True)
    libc.syscall.restype = ctypes.c_long
    rc = libc.syscall(
        ctypes.c_long(_SYS_SECCOMP[arch]),
        ctypes.c_uint(_SECCOMP_SET_MODE_FILTER),
        ctypes.c_uint(_SECCOMP_FILTER_FLAG_TSYNC),
        ctypes.byref(prog),
    )
    if rc != 0:
        err = ctypes.get_errno()
        why = f"thread {rc} could not be synchronised" if rc > 0 else errno.errorcode.get(err, err)
        raise SeccompUnsupported(f"the kernel refused the seccomp filter: {why}")
