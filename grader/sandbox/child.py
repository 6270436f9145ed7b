"""The sandboxed side: import the student's module and answer calls, nothing else.

Run as ``python -I child.py HARNESS_DIR WORK_DIR MODULE LOG [PRELOAD...]`` inside the
sandbox. The channel is this process's original stdin/stdout; the student's
prints go to LOG. Everything here is untrusted once the student's module is
imported: the parent decides pass/fail from the values sent back, never from what
this process claims.
"""

import os
import sys

FORBIDDEN = ("os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn", "os.spawn",
             "subprocess.Popen", "pty.spawn", "socket.connect", "socket.bind", "socket.getaddrinfo",
             "socket.sendto", "ctypes.dlopen", "ctypes.dlsym", "os.kill", "os.killpg", "signal.pthread_kill")
WRITE_EVENTS = ("os.rename", "os.remove", "os.rmdir", "os.mkdir", "os.chmod", "os.chown",
                "os.truncate", "os.utime", "shutil.rmtree", "shutil.copyfile", "shutil.move")


def main():
    harness, work, module_name, log = sys.argv[1:5]
    chan_in, chan_out = os.dup(0), os.dup(1)
    # before the preloads: Triton reads TRITON_INTERPRET when its own helpers are decorated
    os.environ.update(_job_env(os.path.dirname(os.path.abspath(log))))
    for name in sys.argv[5:]:
        __import__(name)
    serve(chan_in, chan_out, harness, work, module_name, log)


def serve(chan_in, chan_out, harness, work, module_name, log):
    """Answer calls on the channel fds until it closes. Also entered by the zygote after a fork."""
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
        chunks, left = [], n
        while left:
            chunk = os.read(chan_in, min(left, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)

    def send(message, blobs=()):
        data = wire.pack(message, blobs)
        view = memoryview(data)
        while view:
            view = view[os.write(chan_out, view):]

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

    def on_event(event, args):
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
    seccomp.install()  # the kernel-side guard; the hook below only reports attempts
    sys.addaudithook(on_event)
    try:
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
        send(*_answer(module, request, blobs, wire))


def _job_env(job_dir):
    """Variables the grader asked for (e.g. TRITON_INTERPRET=1), from its job folder's env.json."""
    import json
    try:
        with open(os.path.join(job_dir, "env.json"), encoding="utf-8") as fh:
            env = json.load(fh)
    except (OSError, ValueError):
        return {}
    return {str(k): str(v) for k, v in env.items()} if isinstance(env, dict) else {}


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
    return {"type": type(exc).__name__, "message": str(exc)[:500] + where}


def _answer(module, request, blobs, wire):
    call_id = request.get("id")
    try:
        func = getattr(module, request["func"])
        args = wire.decode_value(request["args"], blobs)
        kwargs = {str(k): wire.decode_value(v, blobs) for k, v in request["kwargs"].items()}
    except Exception as exc:
        return {"id": call_id, "ok": False, "error": _describe(exc)}, []
    watch = request.get("watch") if isinstance(request.get("watch"), list) else []
    device = request.get("device")
    try:
        if device:  # kernel tasks on a GPU: inputs move there, all streams finish before replying
            args = [a.to(device) if wire._is_plain_tensor(a) else a for a in args]
        with _watching({str(w) for w in watch}) as seen:
            value = func(*args, **kwargs)
        if device:
            sys.modules["torch"].cuda.synchronize()
    except BaseException as exc:
        return {"id": call_id, "ok": False, "error": _describe(exc)}, []
    out_blobs = []
    try:
        encoded = wire.encode_value(value, out_blobs)
        changed = _changed_args(args, request["args"], blobs, wire)
    except BaseException as exc:
        return {"id": call_id, "ok": False, "error": {"type": "UnsendableResult",
                                                       "message": str(exc)[:500]}}, []
    message = {"id": call_id, "ok": True, "value": encoded}
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
        if not (type(arg) in (list, dict) or wire._is_plain_tensor(arg)):
            continue
        blobs = []
        node = wire.encode_value(arg, blobs)
        original = sent[i] if i < len(sent) else None
        if wire.canonical(node, blobs) != wire.canonical(original, sent_blobs):
            changed.append(i)
    return changed


if __name__ == "__main__":
    main()
