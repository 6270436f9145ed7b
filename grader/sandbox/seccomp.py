"""A seccomp filter for the student process: the kernel refuses new processes, exec, sockets,
tracing and cross-process memory, mounts, namespaces, io_uring, SysV IPC, keyrings, file
handles, POSIX message queues, signals sent for it by the kernel (``F_SETOWN``), any change of
user or group (a child whose saved uid is 0
could take it back), changes to files' modes, owners, times and extended attributes
(Landlock does not cover them), signals to other processes (queued ones and pidfds included),
and priority or limit changes to them or to a whole group or user (a job may allow new
processes and exec, for Triton's compiler on a GPU).

The Python audit hook reports attempts; this filter is what actually stops them, even
when student code disables the hook or calls C directly. Loaded by ``child.py`` (as a
harness file, standard library only) just before the student's module is imported.
"""

import ctypes
import os
import platform

EPERM, ENOSYS = 1, 38
RET_ALLOW, RET_ERRNO = 0x7FFF0000, 0x00050000
LD_W_ABS, JEQ_K, JSET_K, RET_K = 0x20, 0x15, 0x45, 0x06
CLONE_THREAD = 0x00010000
OFF_NR, OFF_ARCH, OFF_ARG0 = 0, 4, 16
PR_SET_NO_NEW_PRIVS, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC = 38, 1, 1

# arch: (AUDIT_ARCH, seccomp syscall, denied syscalls, kill-like {nr: name}, clone, clone3,
#        self-only {nr: (name, index of the pid argument)})
ARCHES = {
    "x86_64": (0xC000003E, 317,
               {57: "fork", 58: "vfork", 59: "execve", 322: "execveat", 41: "socket",
                53: "socketpair", 101: "ptrace", 310: "process_vm_readv", 311: "process_vm_writev",
                165: "mount", 166: "umount2", 272: "unshare", 308: "setns", 424: "pidfd_send_signal",
                321: "bpf", 298: "perf_event_open", 323: "userfaultfd", 425: "io_uring_setup",
                426: "io_uring_enter", 427: "io_uring_register", 155: "pivot_root", 161: "chroot",
                129: "rt_sigqueueinfo", 297: "rt_tgsigqueueinfo", 434: "pidfd_open", 438: "pidfd_getfd",
                440: "process_madvise", 448: "process_mrelease", 312: "kcmp", 248: "add_key",
                249: "request_key", 250: "keyctl", 303: "name_to_handle_at", 304: "open_by_handle_at",
                256: "migrate_pages", 279: "move_pages", 103: "syslog",
                29: "shmget", 30: "shmat", 31: "shmctl", 67: "shmdt", 64: "semget", 65: "semop",
                66: "semctl", 220: "semtimedop", 68: "msgget", 69: "msgsnd", 70: "msgrcv", 71: "msgctl",
                240: "mq_open", 241: "mq_unlink", 242: "mq_timedsend", 243: "mq_timedreceive",
                244: "mq_notify", 245: "mq_getsetattr", 90: "chmod", 91: "fchmod", 268: "fchmodat",
                452: "fchmodat2", 92: "chown", 93: "fchown", 94: "lchown", 260: "fchownat", 132: "utime",
                235: "utimes", 261: "futimesat", 280: "utimensat", 188: "setxattr", 189: "lsetxattr",
                190: "fsetxattr", 197: "removexattr", 198: "lremovexattr", 199: "fremovexattr",
                463: "setxattrat", 466: "removexattrat", 105: "setuid", 106: "setgid", 113: "setreuid",
                114: "setregid", 117: "setresuid", 119: "setresgid", 122: "setfsuid", 123: "setfsgid",
                116: "setgroups"},
               {62: "kill", 200: "tkill", 234: "tgkill"}, 56, 435,
               {141: ("setpriority", 1), 251: ("ioprio_set", 1), 302: ("prlimit64", 0),
                142: ("sched_setparam", 0), 144: ("sched_setscheduler", 0), 314: ("sched_setattr", 0)}),
    "aarch64": (0xC00000B7, 277,
                {221: "execve", 281: "execveat", 198: "socket", 199: "socketpair", 117: "ptrace",
                 270: "process_vm_readv", 271: "process_vm_writev", 40: "mount", 39: "umount2",
                 97: "unshare", 268: "setns", 424: "pidfd_send_signal", 280: "bpf",
                 241: "perf_event_open", 282: "userfaultfd", 425: "io_uring_setup",
                 426: "io_uring_enter", 427: "io_uring_register", 41: "pivot_root", 51: "chroot",
                 138: "rt_sigqueueinfo", 240: "rt_tgsigqueueinfo", 434: "pidfd_open", 438: "pidfd_getfd",
                 440: "process_madvise", 448: "process_mrelease", 272: "kcmp", 217: "add_key",
                 218: "request_key", 219: "keyctl", 264: "name_to_handle_at", 265: "open_by_handle_at",
                 238: "migrate_pages", 239: "move_pages", 116: "syslog",
                 194: "shmget", 196: "shmat", 195: "shmctl", 197: "shmdt", 190: "semget",
                 193: "semop", 191: "semctl", 192: "semtimedop", 186: "msgget", 189: "msgsnd",
                 188: "msgrcv", 187: "msgctl", 180: "mq_open", 181: "mq_unlink", 182: "mq_timedsend",
                 183: "mq_timedreceive", 184: "mq_notify", 185: "mq_getsetattr", 52: "fchmod",
                 53: "fchmodat", 452: "fchmodat2", 54: "fchownat", 55: "fchown", 88: "utimensat",
                 5: "setxattr", 6: "lsetxattr", 7: "fsetxattr", 14: "removexattr", 15: "lremovexattr",
                 16: "fremovexattr", 463: "setxattrat", 466: "removexattrat", 146: "setuid",
                 144: "setgid", 145: "setreuid", 143: "setregid", 147: "setresuid", 149: "setresgid",
                 151: "setfsuid", 152: "setfsgid", 159: "setgroups"},
                {129: "kill", 130: "tkill", 131: "tgkill"}, 220, 435,
                {140: ("setpriority", 1), 30: ("ioprio_set", 1), 261: ("prlimit64", 0),
                 118: ("sched_setparam", 0), 119: ("sched_setscheduler", 0), 274: ("sched_setattr", 0)}),
}
WHO_PROCESS = {"setpriority": 0, "ioprio_set": 1}  # PRIO_PROCESS, IOPRIO_WHO_PROCESS
# prctl(PR_SET_PDEATHSIG): the harness sets it so the student dies with its parent; never unset
PRCTL = {"x86_64": 157, "aarch64": 167}
PR_SET_PDEATHSIG = 1
# fcntl(F_SETOWN, F_SETSIG, F_SETOWN_EX) would make the kernel signal another process for it
FCNTL = {"x86_64": 72, "aarch64": 25}
SIGNAL_OWNER_CMDS = (8, 10, 15)
# CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET: no namespaces of its own
CLONE_NAMESPACES = 0x7E020000


class _Filter(ctypes.Structure):
    _fields_ = [("code", ctypes.c_ushort), ("jt", ctypes.c_ubyte), ("jf", ctypes.c_ubyte),
                ("k", ctypes.c_uint)]


class _Program(ctypes.Structure):
    _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.POINTER(_Filter))]


PROGRAM_CALLS = ("fork", "vfork", "execve", "execveat")


def program(arch, own_pid, programs=False):
    """The BPF instructions as (code, jt, jf, k) tuples. ``programs``: allow new processes
    and exec (a GPU kernel job: Triton runs ptxas and a C compiler); everything else stays
    refused, and the programs started inherit this filter."""
    audit_arch, _, denied, kill_like, clone, clone3, self_only = ARCHES[arch]
    if programs:
        denied = {nr: name for nr, name in denied.items() if name not in PROGRAM_CALLS}
    deny = (RET_K, 0, 0, RET_ERRNO | EPERM)
    out = [(LD_W_ABS, 0, 0, OFF_ARCH), (JEQ_K, 1, 0, audit_arch), deny, (LD_W_ABS, 0, 0, OFF_NR)]
    if arch == "x86_64":  # x32 system calls carry bit 30; refuse them all
        out += [(JSET_K, 0, 1, 0x40000000), deny]
    for nr in sorted(denied):
        out += [(JEQ_K, 0, 1, nr), deny]
    out += [(JEQ_K, 0, 1, clone3), (RET_K, 0, 0, RET_ERRNO | ENOSYS)]  # libc falls back to clone
    out += [(JEQ_K, 0, 4, PRCTL[arch]), (LD_W_ABS, 0, 0, OFF_ARG0), (JEQ_K, 0, 1, PR_SET_PDEATHSIG), deny,
            (RET_K, 0, 0, RET_ALLOW)]
    out += [(JEQ_K, 0, 2 + 2 * len(SIGNAL_OWNER_CMDS), FCNTL[arch]), (LD_W_ABS, 0, 0, OFF_ARG0 + 8)]
    for cmd in SIGNAL_OWNER_CMDS:
        out += [(JEQ_K, 0, 1, cmd), deny]
    out.append((RET_K, 0, 0, RET_ALLOW))
    for nr in sorted(kill_like):  # signals only to this process
        out += [(JEQ_K, 0, 4, nr), (LD_W_ABS, 0, 0, OFF_ARG0), (JEQ_K, 1, 0, own_pid), deny,
                (RET_K, 0, 0, RET_ALLOW)]
    for nr, (name, index) in sorted(self_only.items()):  # priorities and limits: own (0 or own pid)
        if index:  # setpriority, ioprio_set: (which, who): which must name a process, not a group or user
            out += [(JEQ_K, 0, 8, nr), (LD_W_ABS, 0, 0, OFF_ARG0), (JEQ_K, 1, 0, WHO_PROCESS[name]), deny]
        else:
            out += [(JEQ_K, 0, 5, nr)]
        out += [(LD_W_ABS, 0, 0, OFF_ARG0 + 8 * index), (JEQ_K, 2, 0, 0),
                (JEQ_K, 1, 0, own_pid), deny, (RET_K, 0, 0, RET_ALLOW)]
    # clone: never into new namespaces; without programs, threads only
    if programs:
        out += [(JEQ_K, 0, 3, clone), (LD_W_ABS, 0, 0, OFF_ARG0), (JSET_K, 0, 1, CLONE_NAMESPACES), deny]
    else:
        out += [(JEQ_K, 0, 4, clone), (LD_W_ABS, 0, 0, OFF_ARG0), (JSET_K, 1, 0, CLONE_NAMESPACES),
                (JSET_K, 1, 0, CLONE_THREAD), deny]
    out.append((RET_K, 0, 0, RET_ALLOW))
    return out


def install(programs=False):
    """Install the filter on every thread of this process; returns False where unsupported."""
    arch = platform.machine()
    if arch not in ARCHES or not hasattr(ctypes, "CDLL"):
        return False
    libc = ctypes.CDLL(None, use_errno=True)
    instructions = program(arch, os.getpid(), programs)
    filters = (_Filter * len(instructions))(*[_Filter(*i) for i in instructions])
    prog = _Program(len(instructions), filters)
    if libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        return False
    seccomp_nr = ARCHES[arch][1]
    return libc.syscall(seccomp_nr, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC,
                        ctypes.byref(prog)) == 0
