"""The seccomp program itself, run instruction by instruction on both architectures: what it
allows and refuses for each rule, including the argument checks (pid, priority kind, clone
flags). The attack suites show the kernel applying it; this shows every branch."""

from __future__ import annotations

import pytest

from grader.sandbox import seccomp as s

OWN = 4321
EPERM, ENOSYS, ALLOW = "EPERM", "ENOSYS", "allow"


def run(program, nr: int, *args: int, arch: str = "x86_64") -> str:
    """Evaluate the BPF program on one system call, as the kernel's interpreter would."""
    data = {s.OFF_NR: nr, s.OFF_ARCH: s.ARCHES[arch][0]}
    data.update({s.OFF_ARG0 + 8 * i: a for i, a in enumerate(args)})
    acc, pc = 0, 0
    for _ in range(10_000):
        code, jt, jf, k = program[pc]
        if code == s.LD_W_ABS:
            acc, pc = data.get(k, 0), pc + 1
        elif code == s.JEQ_K:
            pc += 1 + (jt if acc == k else jf)
        elif code == s.JSET_K:
            pc += 1 + (jt if acc & k else jf)
        else:
            assert code == s.RET_K
            return {s.RET_ALLOW: ALLOW, s.RET_ERRNO | s.EPERM: EPERM, s.RET_ERRNO | s.ENOSYS: ENOSYS}[k]
    raise AssertionError("the program does not end")


def number(arch: str, name: str) -> int:
    _, _, denied, kill_like, clone, clone3, self_only = s.ARCHES[arch]
    table = {**{v: k for k, v in denied.items()}, **{v: k for k, v in kill_like.items()},
             **{v[0]: k for k, v in self_only.items()}, "clone": clone, "clone3": clone3}
    return table[name]


@pytest.mark.parametrize("arch", list(s.ARCHES))
def test_every_rule_of_the_filter(arch: str):
    prog = s.program(arch, OWN)

    def call(name, *args):
        return run(prog, number(arch, name), *args, arch=arch)

    for name in ("execve", "socket", "ptrace", "unshare", "rt_sigqueueinfo", "pidfd_open", "shmget",
                 "mq_open", "fchmodat", "fchownat", "utimensat", "setxattr", "keyctl", "open_by_handle_at",
                 "setresuid", "setuid", "setfsuid", "setgroups"):
        assert call(name) == EPERM, name
    assert call("clone3") == ENOSYS
    prctl = s.PRCTL[arch]
    assert run(prog, prctl, s.PR_SET_PDEATHSIG, 0, arch=arch) == EPERM  # dying with its parent stays
    assert run(prog, prctl, 15, 0, arch=arch) == ALLOW                   # PR_SET_NAME and the rest
    fcntl = s.FCNTL[arch]
    for cmd in s.SIGNAL_OWNER_CMDS:  # F_SETOWN, F_SETSIG, F_SETOWN_EX: the kernel would signal others
        assert run(prog, fcntl, 3, cmd, 1, arch=arch) == EPERM
    assert run(prog, fcntl, 3, 1, arch=arch) == ALLOW                    # F_GETFD and the rest
    assert call("kill", OWN, 9) == ALLOW and call("kill", 1, 9) == EPERM and call("kill", 0, 9) == EPERM
    assert call("tgkill", OWN, OWN + 1, 10) == ALLOW and call("tgkill", 7, 7, 10) == EPERM
    assert call("prlimit64", 0) == ALLOW and call("prlimit64", OWN) == ALLOW and call("prlimit64", 7) == EPERM
    assert call("setpriority", 0, 0, 19) == ALLOW          # PRIO_PROCESS, itself
    assert call("setpriority", 0, 7, 19) == EPERM          # another process
    assert call("setpriority", 2, 0, 19) == EPERM          # PRIO_USER: every process of its user
    assert call("setpriority", 1, 0, 19) == EPERM          # PRIO_PGRP
    assert call("ioprio_set", 1, 0, 0) == ALLOW and call("ioprio_set", 3, 0, 0) == EPERM
    thread = 0x00010000 | 0x00000100
    assert call("clone", thread) == ALLOW
    assert call("clone", 17) == EPERM                      # fork
    assert call("clone", thread | 0x10000000) == EPERM     # a thread into a new user namespace
    assert run(prog, 0, arch=arch) == ALLOW                # anything else (read on x86-64, io_setup on arm)
    assert run(prog, 0, arch="aarch64" if arch == "x86_64" else "x86_64") == EPERM  # the other ABI


@pytest.mark.parametrize("arch", list(s.ARCHES))
def test_programs_may_fork_and_exec_but_not_into_new_namespaces(arch: str):
    prog = s.program(arch, OWN, programs=True)
    assert run(prog, number(arch, "execve"), arch=arch) == ALLOW
    assert run(prog, number(arch, "clone"), 17, arch=arch) == ALLOW
    assert run(prog, number(arch, "clone"), 17 | 0x00020000, arch=arch) == EPERM
    assert run(prog, number(arch, "socket"), arch=arch) == EPERM


def test_x32_calls_are_refused():
    assert run(s.program("x86_64", OWN), 0x40000000 | 0) == EPERM
