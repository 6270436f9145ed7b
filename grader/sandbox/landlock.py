"""Landlock for a student process where namespaces are unavailable: the kernel then lets it
read only the allowlisted paths, write only its job folder, open no TCP socket, and signal,
trace or reach by abstract socket no process outside its own domain.

Harness file (standard library only). ``abi()`` tells what the kernel supports;
``restrict(read, write)`` applies the rules to this process and everything it starts.
"""

import ctypes
import os

CREATE_RULESET, ADD_RULE, RESTRICT_SELF = 444, 445, 446  # the same on x86-64 and aarch64
CREATE_RULESET_VERSION, RULE_PATH_BENEATH = 1, 1
PR_SET_NO_NEW_PRIVS = 38
EXECUTE, WRITE_FILE, READ_FILE, READ_DIR = 1, 2, 4, 8
FILE_RIGHTS = EXECUTE | WRITE_FILE | READ_FILE | (1 << 14) | (1 << 15)  # + truncate, ioctl on devices
READ_ONLY = EXECUTE | READ_FILE | READ_DIR
NET_TCP = 1 | 2  # bind, connect
SCOPE_ABSTRACT_UNIX, SCOPE_SIGNAL = 1, 2
# the filesystem rights each ABI version knows: refer (2), truncate (3), ioctl on devices (5)
FS_RIGHTS = {1: (1 << 13) - 1, 2: (1 << 14) - 1, 3: (1 << 15) - 1, 4: (1 << 15) - 1}
# Files are what Landlock adds: seccomp already refuses sockets, signals to other processes and
# tracing on every path, so ABI 1 (Linux 5.13) suffices; 4 adds TCP, 6 scoped signals and sockets.
STRONG_ABI = 1

_libc = ctypes.CDLL(None, use_errno=True)


class _Ruleset(ctypes.Structure):
    _fields_ = [("fs", ctypes.c_uint64), ("net", ctypes.c_uint64), ("scoped", ctypes.c_uint64)]


class _PathBeneath(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


def abi():
    """The kernel's Landlock ABI version; 0 where Landlock is unavailable."""
    version = _libc.syscall(CREATE_RULESET, None, ctypes.c_size_t(0), CREATE_RULESET_VERSION)
    return max(version, 0)


def _error(what):
    errno = ctypes.get_errno()
    return OSError(errno, f"landlock {what}: {os.strerror(errno)}")


def restrict(read, write):
    """Allow reading (and executing) beneath each path in ``read``, everything beneath each
    path in ``write``; nothing else on the filesystem, no TCP, and (ABI 6) no signal or
    abstract socket out of this domain. Paths that do not exist are skipped."""
    version = abi()
    if version < 1:
        raise OSError(38, "Landlock is not available")
    fs = FS_RIGHTS.get(version, (1 << 16) - 1)
    scoped = SCOPE_ABSTRACT_UNIX | SCOPE_SIGNAL if version >= 6 else 0
    attr = _Ruleset(fs, NET_TCP if version >= 4 else 0, scoped)
    size = 24 if version >= 6 else 16 if version >= 4 else 8
    ruleset = _libc.syscall(CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0)
    if ruleset < 0:
        raise _error("create_ruleset")
    try:
        for paths, rights in ((read, READ_ONLY), (write, fs)):
            for path in paths:
                try:
                    fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
                except OSError:
                    continue
                try:
                    allowed = rights if os.path.isdir(f"/proc/self/fd/{fd}") else rights & FILE_RIGHTS & fs
                    rule = _PathBeneath(allowed, fd)
                    if _libc.syscall(ADD_RULE, ruleset, RULE_PATH_BENEATH, ctypes.byref(rule), 0) != 0:
                        raise _error(f"add_rule {path}")
                finally:
                    os.close(fd)
        if _libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
            raise _error("no_new_privs")
        if _libc.syscall(RESTRICT_SELF, ruleset, 0) != 0:
            raise _error("restrict_self")
    finally:
        os.close(ruleset)
    return version
