"""Landlock confinement of helmfile, the one program the Argo CD plugin runs on a
repository's behalf.

helmfile does what the repository's helmfile asks: `helmfile template` runs its `prepare`
and `cleanup` hooks (any command), its templates may call `exec` and `readFile`, a release
may name a `postRenderer` that helm executes, the state a `helmBinary`, and a values file may
be any path on the disk. In Argo CD that happens in the repo-server's sidecar, where every
Application the plugin renders is unpacked side by side, as one user. helmfile's own switch,
HELMFILE_DISABLE_INSECURE_FEATURES, leaves hooks on and in v0.166.0, the version the image
runs, makes every run panic (pkg/remote/remote.go, NewRemote; fixed in v1.1.2).

So the kernel confines it (Landlock, Linux 5.13 and later): helmfile and everything it
starts may execute helmfile and helm and nothing else (no shell, no interpreter, no dynamic
loader: both are static programs), read the paths given and write the ones given, and where
the kernel can (Linux 6.7, 6.12) connect no TCP socket and signal no process outside.
Landlock also keeps a confined process from tracing the others, so it cannot read their
memory or environment.

The rules are built here, in shipspec's process; the child that becomes helmfile only
applies them between fork and exec (`subprocess.Popen(preexec_fn=...)`, safe in the plugin,
which runs no thread), so nothing of shipspec runs confined and no process is started for it.
"""

import ctypes
import os
import sys
from collections.abc import Callable

# Linux's syscall numbers, the same on every architecture for syscalls this new (the generic
# table: include/uapi/asm-generic/unistd.h)
_CREATE_RULESET, _ADD_RULE, _RESTRICT_SELF = 444, 445, 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
# File system rights (include/uapi/linux/landlock.h), by the first ABI that knows them
_EXECUTE, _WRITE_FILE, _READ_FILE, _READ_DIR = 1 << 0, 1 << 1, 1 << 2, 1 << 3
_RIGHTS_BY_ABI = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 5: (1 << 16) - 1}
_FILE_RIGHTS = _EXECUTE | _WRITE_FILE | _READ_FILE | 1 << 14 | 1 << 15  # + truncate, ioctl
_NET_TCP = 0b11  # bind and connect (ABI 4)
_SCOPES = 0b11  # abstract UNIX sockets and signals outside the domain (ABI 6)


class _RulesetAttr(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):  # packed in C: the kernel reads the first 12 bytes
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


class Unavailable(Exception):
    """The kernel cannot confine a process; the message says why."""


def ruleset(read: list[str], write: list[str], execute: list[str],
            device: list[str]) -> int:
    """A Landlock ruleset (a file descriptor, for `restrictor`): the directories of `read`
    to read, those of `write` for anything, the files of `execute` to run and those of
    `device` (such as /dev/null) to read and write. A path that does not exist is left out."""
    if sys.platform != "linux":
        raise Unavailable("this system offers no Landlock")
    libc = ctypes.CDLL(None, use_errno=True)
    version = int(libc.syscall(_CREATE_RULESET, None, 0, _CREATE_RULESET_VERSION))
    if version <= 0:  # an older kernel, Landlock left out at boot, or refused by seccomp
        raise Unavailable("this system offers no Landlock")
    handled = _RIGHTS_BY_ABI[max(known for known in _RIGHTS_BY_ABI if known <= version)]
    attr = _RulesetAttr(handled, _NET_TCP if version >= 4 else 0,
                        _SCOPES if version >= 6 else 0)
    size = 8 if version < 4 else 16 if version < 6 else 24  # the fields this kernel reads
    created = int(libc.syscall(_CREATE_RULESET, ctypes.byref(attr), size, 0))
    if created < 0:
        raise Unavailable(f"landlock_create_ruleset: {os.strerror(ctypes.get_errno())}")
    grants = ([(path, _READ_FILE | _READ_DIR) for path in read]
              + [(path, handled) for path in write]
              + [(path, _EXECUTE | _READ_FILE) for path in execute]
              + [(path, _READ_FILE | _WRITE_FILE) for path in device])
    try:
        for path, rights in grants:
            _allow(libc, created, path, rights & handled)
    except BaseException:
        os.close(created)
        raise
    return created


def _allow(libc: ctypes.CDLL, ruleset_fd: int, path: str, rights: int) -> None:
    """Add to the ruleset `rights` below `path`; a path that does not exist (a system
    directory this system lacks) gets nothing."""
    try:
        descriptor = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        rule = _PathBeneath(rights if os.path.isdir(path) else rights & _FILE_RIGHTS, descriptor)
        if libc.syscall(_ADD_RULE, ruleset_fd, _RULE_PATH_BENEATH, ctypes.byref(rule), 0):
            raise Unavailable(f"landlock_add_rule {path}: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(descriptor)


def restrictor(confined_by: int) -> Callable[[], None]:
    """What the child runs between fork and exec to hold itself to the ruleset: two system
    calls, their functions looked up here, in the parent."""
    libc = ctypes.CDLL(None, use_errno=True)
    prctl, syscall = libc.prctl, libc.syscall

    def restrict_self() -> None:
        if prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) or syscall(_RESTRICT_SELF, confined_by, 0):
            raise OSError(ctypes.get_errno(), "landlock_restrict_self")

    return restrict_self
