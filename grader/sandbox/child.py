"""The sandboxed side: import the student's module and answer calls (and the timing
protocol's ping, stage, run and fetch steps), nothing else.

Entered by the zygote (``zygote.py``) in each freshly isolated child, as ``serve`` on the
job's two channel FIFOs; the student's prints go to its log. Everything here is untrusted
once the student's module is imported: the parent decides pass/fail from the values sent
back, never from what this process claims.
"""

import os
import sys

PROGRAM_EVENTS = ("subprocess.Popen", "os.posix_spawn")  # allowed when the job allows programs
FORBIDDEN = ("os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
             "subprocess.Popen", "pty.spawn", "socket.connect", "socket.bind", "socket.getaddrinfo",
             "socket.sendto", "ctypes.dlopen", "ctypes.dlsym", "os.kill", "os.killpg", "signal.pthread_kill")
WRITE_EVENTS = ("os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown",
                "os.truncate", "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.move")


def serve(chan_in, chan_out, harness, work, module_name, log):
    """Answer calls on the channel fds until it closes."""
    null = os.open(os.devnull, os.O_RDONLY)
    out = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(null, 0)
    os.dup2(out, 1)
    os.dup2(out, 2)
    keep = sorted({0, 1, 2, chan_in, chan_out})
    for low, high in zip(keep, [*keep[1:], 1 << 16], strict=True):
        os.closerange(low + 1, high)  # nothing inherited but the channel (a zygote has more)
    sys.path.insert(0, harness)
    import seccomp
    import wire
    sys.path.remove(harness)
    import traceback  # noqa: F401 - imported before student code can shadow it

    def read_exact(n):
        return wire.read_exact_from(chan_in, n)

    def send(message, blobs=()):
        wire.write_all(chan_out, wire.frame(message, blobs))

    inside = os.path.realpath(os.path.dirname(os.path.abspath(log)))  # the job folder

    def writes_outside(event, args):
        """Writing, creating, moving or linking anything outside the job folder."""
        if event == "open":
            path, mode, flags = ([*list(args), None, None, None])[:3]
            writing = (isinstance(mode, str) and any(c in mode for c in "wax+")) or (
                isinstance(flags, int) and flags & (os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC))
            targets = [path] if writing else []
        elif event in ("os.symlink", "os.link"):
            return True
        elif event in WRITE_EVENTS:
            targets = [a for a in args[:2] if isinstance(a, (str, bytes))]
        else:
            return False
        for target in targets:
            if isinstance(target, bytes):
                target = target.decode(errors="replace")
            if isinstance(target, str) and target != os.devnull and not (
                    os.path.abspath(target) + "/").startswith(inside + "/"):
                return True
        return False

    programs = _job_settings(os.path.dirname(os.path.abspath(log)), "policy.json").get("programs") is True

    def on_event(event, args):
        if programs and event in PROGRAM_EVENTS:
            return
        if event in FORBIDDEN or event.startswith("os.exec") or writes_outside(event, args):
            if event in ("os.kill", "os.killpg") and args and args[0] == os.getpid():
                return
            try:
                send({"forbidden": event})
            finally:
                os._exit(137)  # (SIGKILL to itself is ignored by a pid namespace's init)

    os.environ.clear()  # the shell's PWD and Python's locale coercion leave a little behind
    os.environ.update(_job_env(os.path.dirname(os.path.abspath(log))))
    os.chdir(work)
    sys.path.append(work)
    sys.dont_write_bytecode = True
    seccomp.install(programs)  # the kernel-side guard; the hook below only reports attempts
    sys.addaudithook(on_event)
    from time import perf_counter  # bound before student code can replace time.perf_counter
    state = {"clock": perf_counter}  # the timing protocol's staged call, kept between requests
    try:
        _grader_preimport()  # the grader's own modules first (kernel checks' launch skipping)
        module = __import__(module_name)
    except BaseException as exc:
        send({"ready": False, "error": _describe(exc)})
        return
    send({"ready": True})
    while True:
        try:
            request, blobs = wire.unpack(read_exact)
        except EOFError:
            return
        send(*_answer(module, request, blobs, wire, state))


# -- grader pre-import hook: used by grader/kernels/check.py (the ghost-launch check) ----------
PREIMPORT_ENV = "GRADE_PREIMPORT"


def _grader_preimport():
    """Import the modules named in the job's env variable GRADE_PREIMPORT (comma-separated;
    files the grader put in work/ beside the student's) before the student's module, and drop
    the variable. Their failure is the import failure the parent sees."""
    for name in os.environ.pop(PREIMPORT_ENV, "").split(","):
        if name:
            __import__(name)
# -- end of the grader pre-import hook --------------------------------------------------------


def _job_settings(job_dir, name):
    """A JSON object the grader wrote into the job folder (``{}`` when absent or unreadable)."""
    import json
    try:
        with open(os.path.join(job_dir, name), encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return {}
    return doc if isinstance(doc, dict) else {}


def _job_env(job_dir):
    """Variables the grader asked for (e.g. TRITON_INTERPRET=1), from its job folder's env.json;
    ``{job}`` in a value is this job folder as this process sees it."""
    env = _job_settings(job_dir, "env.json")
    return {str(k): str(v).replace("{job}", job_dir) for k, v in env.items()}


def _watching(names):
    """A context that records which of ``names`` (torch functions and Tensor methods, by
    name) the call uses; empty when nothing is watched or torch is not loaded."""
    import contextlib
    torch = sys.modules.get("torch")
    if not names or torch is None:
        return contextlib.nullcontext(set())
    from torch.overrides import TorchFunctionMode

    class Watch(TorchFunctionMode):
        def __init__(self):
            super().__init__()
            self.seen = set()

        def __torch_function__(self, func, types, args=(), kwargs=None):
            name = getattr(func, "__name__", "")
            if name in names:
                self.seen.add(name)
            return func(*args, **(kwargs or {}))

        def __enter__(self):
            super().__enter__()
            return self.seen

    return Watch()


def _describe(exc):
    where = ""
    tb = exc.__traceback__
    while tb is not None:
        if tb.tb_frame.f_code.co_filename.startswith(os.getcwd()):
            where = f" ({os.path.basename(tb.tb_frame.f_code.co_filename)}, line {tb.tb_lineno})"
        tb = tb.tb_next
    if isinstance(exc, SyntaxError):
        where = f" ({os.path.basename(exc.filename or '?')}, line {exc.lineno})"
        where = "" if where.strip() in str(exc) else where  # its message may name the place already
    return {"type": type(exc).__name__, "message": str(exc)[:500] + where}


class _Unsendable(Exception):
    """The function's value (or an argument it was given) cannot be encoded for the reply."""


def _answer(module, request, blobs, wire, state):
    """The reply to one request: a call (``func``), or a step of the timing protocol
    (``op``: ping, stage, run, fetch). Every failure is a reply, never an exception."""
    step = {"ping": _ping, "stage": _stage, "run": _run, "fetch": _fetch}.get(request.get("op"), _call)
    try:
        message, out_blobs = step(module, request, blobs, wire, state)
    except _Unsendable as exc:
        return {"id": request.get("id"), "ok": False,
                "error": {"type": "UnsendableResult", "message": str(exc)[:500]}}, []
    except BaseException as exc:
        return {"id": request.get("id"), "ok": False, "error": _describe(exc)}, []
    return {"id": request.get("id"), "ok": True, **message}, out_blobs


def _call(module, request, blobs, wire, state):
    func = getattr(module, request["func"])
    args = wire.decode_value(request["args"], blobs)
    kwargs = {str(k): wire.decode_value(v, blobs) for k, v in request["kwargs"].items()}
    device = request.get("device")
    args = _on_device(args, device, wire)  # kernel tasks on a GPU: inputs move there first
    with _watching(_watch_names(request)) as seen:
        value = func(*args, **kwargs)
    if device:  # all streams finish before replying
        sys.modules["torch"].cuda.synchronize()
    return _result(value, args, (request["args"], blobs), seen, device, wire)


def _ping(module, request, blobs, wire, state):
    """The channel's round trip: the run step's clock scaffolding around no work at all."""
    _clocked(_nothing, (), request.get("clock") == "cuda", state["clock"])
    return {}, []


def _nothing():
    return None


def _stage(module, request, blobs, wire, state):
    """Keep fresh inputs on the device for the next ``run``; flush L2 (``flush`` bytes)."""
    state.pop("value", None)
    func = getattr(module, request["func"])
    device = request.get("device")
    args = _on_device(wire.decode_value(request["args"], blobs), device, wire)
    if device:
        torch = sys.modules["torch"]
        size = request.get("flush")
        if type(size) is int and size > 0:
            if state.get("flush") is None or state["flush"].numel() != size:  # cached
                state["flush"] = torch.empty(size, dtype=torch.int8, device=device)
            state["flush"].zero_()
        torch.cuda.synchronize()
    state.update(func=func, args=args, sent=(request["args"], blobs), device=device)
    return {}, []


def _run(module, request, blobs, wire, state):
    """Call the staged function once and report its time; the output waits for ``fetch``."""
    names = _watch_names(request)
    with _watching(names) as seen:
        value, event, wall = _clocked(state["func"], state["args"], request.get("clock") == "cuda",
                                      state["clock"])
    state["value"] = value
    message = {"wall_s": wall, "event_s": event}
    if seen:
        message["watched"] = sorted(seen)
    return message, []


def _clocked(func, args, cuda, clock):
    """(value, event seconds or None, wall seconds) of ``func(*args)``. CUDA: events around
    the call, then a device-wide synchronise and the wall time to it (the parent chooses
    between the two); CPU: the wall time by ``clock``."""
    if cuda:
        torch = sys.modules["torch"]
        start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    wall = clock()
    if cuda:
        start.record()
    value = func(*args)
    if cuda:
        end.record()
        torch.cuda.synchronize()  # every stream, not just the current one
    wall = clock() - wall
    return value, start.elapsed_time(end) / 1e3 if cuda else None, wall


def _fetch(module, request, blobs, wire, state):
    """The output of the last ``run``, sent back like a call's value."""
    return _result(state.pop("value"), state["args"], state["sent"], set(), state["device"], wire)


def _on_device(args, device, wire):
    return [a.to(device) if wire._is_plain_tensor(a) else a for a in args] if device else args


def _watch_names(request):
    watch = request.get("watch")
    return {str(w) for w in watch} if isinstance(watch, list) else set()


def _result(value, args, sent, seen, device, wire):
    """A successful reply's fields: the encoded value, torch functions seen, the devices the
    outputs were made on, and which arguments the call changed (``sent``: as received)."""
    out_blobs = []
    try:
        encoded = wire.encode_value(value, out_blobs)
        changed = _changed_args(args, sent[0], sent[1], wire)
    except BaseException as exc:
        raise _Unsendable(str(exc)) from None
    message = {"value": encoded}
    if seen:
        message["watched"] = sorted(seen)
    if device:
        outs = value if isinstance(value, (tuple, list)) else (value,)
        message["devices"] = [o.device.type if wire._is_plain_tensor(o) else None for o in outs]
    if changed:
        message["args_changed"] = changed
    return message, out_blobs


def _changed_args(args, sent, sent_blobs, wire):
    """Positions of list, dict and tensor arguments the call modified (contents never go back)."""
    changed = []
    for i, arg in enumerate(args):
        original = sent[i] if i < len(sent) else None
        if wire._is_plain_tensor(arg):
            if not wire.same_tensor(arg, original, sent_blobs):
                changed.append(i)
            continue
        if type(arg) not in (list, dict):
            continue
        blobs = []
        node = wire.encode_value(arg, blobs)
        if wire.canonical(node, blobs) != wire.canonical(original, sent_blobs):
            changed.append(i)
    return changed
