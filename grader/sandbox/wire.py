"""The sandbox's wire format: length-prefixed JSON frames with raw tensor bytes.

Used on both sides of the channel, so it imports only the standard library (and
torch when a tensor is actually sent or received). Nothing is ever unpickled: a
value is plain JSON, tagged containers, or a tensor rebuilt from raw bytes with a
whitelisted dtype. Sizes, depth and node counts are capped.
"""

import json
import os
import struct
import sys
from array import array

MAX_FRAME = 512 * 1024 * 1024       # what the trusted side may send
MAX_REPLY_JSON = 16 * 1024 * 1024    # what it accepts back: JSON part
MAX_REPLY_BLOBS = 64 * 1024 * 1024   # and raw tensor bytes
MAX_DEPTH = 64
MAX_NODES = 5_000_000
MAX_SAME_HASH = 8  # distinct mapping keys sharing one hash (-1 and -2 do; thousands are an attack)
INT_RUN = 32  # lists of at least this many ints are sent as int64 bytes
_INT_ONLY = {int}
_HEADER = struct.Struct(">II")  # JSON length, blob-table length
_DTYPES = ("float16", "bfloat16", "float32", "float64", "int8", "int16", "int32", "int64",
           "uint8", "bool")


class WireError(ValueError):
    """A value that cannot be sent, or a frame that does not decode."""


def _torch():
    return sys.modules.get("torch")


def _is_plain_tensor(value):
    torch = _torch()
    return torch is not None and type(value) is torch.Tensor


def encode_value(value, blobs, depth=0, budget=None):
    """A JSON-able form of ``value``; tensor bytes are appended to ``blobs``."""
    budget = budget if budget is not None else [MAX_NODES, set()]
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise WireError("the value is too large or too deeply nested to send")
    if value is None or type(value) in (bool, int, str):
        return value
    if type(value) is float:
        finite = value == value and value not in (float("inf"), float("-inf"))
        return value if finite else {"$float": repr(value)}
    if type(value) is list:
        if len(value) >= INT_RUN and set(map(type, value)) == _INT_ONLY:  # exact ints, no bools
            try:  # long runs of ints (token ids) travel as raw int64 bytes
                packed = array("q", value).tobytes()
            except OverflowError:
                packed = None
            if packed is not None:
                blobs.append(packed)
                return {"$ints": len(blobs) - 1}
        return [encode_value(v, blobs, depth + 1, budget) for v in value]
    if type(value) is tuple:
        return {"$tuple": [encode_value(v, blobs, depth + 1, budget) for v in value]}
    if isinstance(value, dict) and type(value).__name__ in ("dict", "Counter", "defaultdict", "OrderedDict"):
        kind = "Counter" if type(value).__name__ == "Counter" else "dict"
        packed = _pack_tuple_dict(value)
        if packed is not None:  # {(int, int): int} (pair counts) as three int64 runs
            arity, keys, values = packed
            blobs.extend((keys, values))
            return {"$tupledict": [len(blobs) - 2, len(blobs) - 1], "arity": arity, "kind": kind}
        pairs = [[encode_value(k, blobs, depth + 1, budget), encode_value(v, blobs, depth + 1, budget)]
                 for k, v in dict.items(value)]
        return {"$dict": pairs, "kind": kind}
    if _is_plain_tensor(value):
        t = value.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        dtype = str(t.dtype).replace("torch.", "")
        if dtype not in _DTYPES:
            raise WireError(f"tensors of dtype {dtype} cannot be sent")
        # the tensor's own bytes, not a copy (the frame is written before anyone changes them)
        data = memoryview(t.contiguous().view(-1).view(_torch().uint8).numpy()) if t.numel() else b""
        blobs.append(data)
        return {"$tensor": len(blobs) - 1, "dtype": dtype, "shape": list(t.shape)}
    raise WireError(f"a value of type {type(value).__name__} cannot be sent back; return plain "
                    "Python values (dict, list, tuple, int, float, str) or torch tensors")


def _pack_tuple_dict(mapping):
    """(arity, key bytes, value bytes) when every key is an int tuple of one length and every
    value an int; else None."""
    if len(mapping) < INT_RUN:
        return None
    first = next(iter(mapping))
    if type(first) is not tuple or not 1 <= len(first) <= 8:
        return None
    arity = len(first)
    for key, value in dict.items(mapping):
        if type(key) is not tuple or len(key) != arity or type(value) is not int \
                or not all(type(x) is int for x in key):
            return None
    try:
        keys = array("q", [x for key in mapping for x in key]).tobytes()
        values = array("q", dict.values(mapping)).tobytes()
    except OverflowError:
        return None
    return arity, keys, values


def _spread(counts, key):
    """Count ``key``'s hash in ``counts``; refuse keys made to share one hash (ints equal mod
    2**61 - 1, tuples of them): a dict of n such keys takes n**2 steps to build."""
    try:
        h = hash(key)
    except TypeError:
        return  # an unhashable key is refused when it is stored
    counts[h] = counts.get(h, 0) + 1
    if counts[h] > MAX_SAME_HASH:
        raise WireError("mapping keys made to collide")


def _unpack_tuple_dict(node, blobs, budget):
    refs, arity = node.get("$tupledict"), node.get("arity")
    refs_ok = type(refs) is list and len(refs) == 2 and all(type(r) is int and 0 <= r < len(blobs)
                                                           for r in refs)
    if not refs_ok or type(arity) is not int or not 1 <= arity <= 8:
        raise WireError("malformed mapping")
    keys, values = array("q"), array("q")
    try:
        keys.frombytes(blobs[refs[0]])
        values.frombytes(blobs[refs[1]])
    except ValueError:
        raise WireError("malformed mapping") from None
    if len(keys) != arity * len(values):
        raise WireError("malformed mapping")
    budget[0] -= len(keys) + len(values)
    if budget[0] < 0:
        raise WireError("value too large")
    flat = keys.tolist()
    columns = [flat[i::arity] for i in range(arity)]
    tuples = list(zip(*columns, strict=True))
    spread = {}
    for key in tuples:
        _spread(spread, key)
    out = dict(zip(tuples, values.tolist(), strict=True))
    if len(out) != len(values):
        raise WireError("repeated mapping keys")
    if node.get("kind") == "Counter":
        from collections import Counter
        return Counter(out)
    return out


def encode_iterable_arg(value, blobs):
    """Arguments may be one-shot iterators: send their items, rebuilt as an iterator."""
    if hasattr(value, "__next__") and hasattr(value, "__iter__") and not isinstance(value, (str, bytes)):
        return {"$iter": [encode_value(v, blobs, 1) for v in value]}
    return encode_value(value, blobs)


def decode_value(node, blobs, depth=0, budget=None):
    """Rebuild a value from its JSON form; raises WireError on anything unexpected."""
    budget = budget if budget is not None else [MAX_NODES, set()]
    budget[0] -= 1
    if depth > MAX_DEPTH or budget[0] < 0:
        raise WireError("value too large or nested too deeply")
    if node is None or type(node) in (bool, int, str, float):
        return node
    if type(node) is list:
        return [decode_value(v, blobs, depth + 1, budget) for v in node]
    if type(node) is not dict or len(node) == 0:
        raise WireError("malformed value")
    if "$tuple" in node:
        return tuple(decode_value(v, blobs, depth + 1, budget) for v in _list(node["$tuple"]))
    if "$iter" in node:
        return iter([decode_value(v, blobs, depth + 1, budget) for v in _list(node["$iter"])])
    if "$float" in node:
        if node["$float"] not in ("nan", "inf", "-inf"):
            raise WireError("malformed float")
        return float(node["$float"])
    if "$dict" in node:
        out, spread = {}, {}
        for pair in _list(node["$dict"]):
            if type(pair) is not list or len(pair) != 2:
                raise WireError("malformed mapping")
            key = decode_value(pair[0], blobs, depth + 1, budget)
            _spread(spread, key)
            try:
                out[key] = decode_value(pair[1], blobs, depth + 1, budget)
            except TypeError:
                raise WireError("unhashable mapping key") from None
        if node.get("kind") == "Counter":
            from collections import Counter
            return Counter(out)
        return out
    if "$tensor" in node:
        used = budget[1] if len(budget) > 1 else set()
        if node.get("$tensor") in used:  # each tensor has bytes of its own: no copies fanned out
            raise WireError("a tensor's bytes are used twice")
        used.add(node.get("$tensor"))
        return _decode_tensor(node, blobs)
    if "$tupledict" in node:
        return _unpack_tuple_dict(node, blobs, budget)
    if "$ints" in node:
        index = node["$ints"]
        if type(index) is not int or not 0 <= index < len(blobs) or len(blobs[index]) % 8:
            raise WireError("malformed int run")
        values = array("q")
        values.frombytes(blobs[index])
        budget[0] -= len(values)
        if budget[0] < 0:
            raise WireError("value too large")
        return values.tolist()
    raise WireError("malformed value")


def canonical(node, blobs):
    """A comparable form of an encoded value, with blob references replaced by their bytes."""
    if type(node) is list:
        return [canonical(v, blobs) for v in node]
    if type(node) is dict:
        if "$ints" in node:
            return ("ints", blobs[node["$ints"]])
        if "$tensor" in node:
            return ("tensor", node["dtype"], tuple(node["shape"]), blobs[node["$tensor"]])
        if "$tupledict" in node:
            return ("tupledict", node.get("arity"), *(blobs[r] for r in node["$tupledict"]))
        return {k: canonical(v, blobs) for k, v in node.items()}
    return node


def same_tensor(tensor, node, blobs):
    """Whether ``tensor`` holds exactly the dtype, shape and bytes of the encoded tensor
    ``node`` (compared by torch, far faster than bytes for bulk inputs)."""
    torch = _torch()
    index = node.get("$tensor") if type(node) is dict else None
    if type(index) is not int or not 0 <= index < len(blobs):
        return False
    dtype = str(tensor.dtype).replace("torch.", "")
    if dtype != node.get("dtype") or list(tensor.shape) != node.get("shape"):
        return False
    data = blobs[index]
    mine = tensor.detach().cpu().contiguous().view(-1).view(torch.uint8)
    if mine.numel() != memoryview(data).nbytes:
        return False
    if mine.numel() == 0:
        return True
    return torch.equal(mine, torch.frombuffer(data if type(data) is bytearray else bytearray(data),
                                              dtype=torch.uint8))


def _list(node):
    if type(node) is not list:
        raise WireError("malformed value")
    return node


def _decode_tensor(node, blobs):
    torch = _torch()
    if torch is None:
        import torch
    index, dtype, shape = node.get("$tensor"), node.get("dtype"), node.get("shape")
    if type(index) is not int or not 0 <= index < len(blobs) or dtype not in _DTYPES:
        raise WireError("malformed tensor")
    if type(shape) is not list or len(shape) > 8 or not all(type(s) is int and 0 <= s < 2**31 for s in shape):
        raise WireError("malformed tensor shape")
    dt = getattr(torch, dtype)
    numel = 1
    for s in shape:
        numel *= s
    data = blobs[index]
    if len(data) != numel * torch.empty((), dtype=dt).element_size():
        raise WireError("tensor bytes do not match its shape")
    if numel == 0:
        return torch.empty(shape, dtype=dt)
    return torch.frombuffer(bytearray(data), dtype=dt).reshape(shape)  # its own memory, not the blob's


def frame(message, blobs=()):
    """One frame as the buffers to write in order: header, JSON, blob lengths, blobs."""
    body = json.dumps(message, separators=(",", ":"), allow_nan=False).encode()
    table = json.dumps([memoryview(b).nbytes for b in blobs]).encode()
    return [_HEADER.pack(len(body), len(table)), body, table, *blobs]


def read_exact_from(fd, n, wait=None):
    """Exactly ``n`` bytes from ``fd`` into one new bytearray (no joins, no copies); EOFError
    at end of file. ``wait()`` runs before each read (for a deadline on a non-blocking fd)."""
    buf = bytearray(n)
    view, got = memoryview(buf), 0
    while got < n:
        if wait is not None:
            wait()
        try:
            k = os.readv(fd, [view[got:]])
        except BlockingIOError:
            continue
        if not k:
            raise EOFError
        got += k
    return buf


def write_all(fd, parts, wait=None):
    """Write every buffer of ``parts`` to ``fd``; ``wait()`` runs before each write."""
    for part in parts:
        view = memoryview(part).cast("B")
        while view:
            if wait is not None:
                wait()
            try:
                view = view[os.write(fd, view):]
            except BlockingIOError:
                continue


def widen_pipe(fd, size=1 << 20):
    """Ask for a larger pipe buffer (Linux; 1 MiB is what unprivileged users may ask):
    bulk tensors then cross in fewer, larger writes. A refusal changes nothing."""
    try:
        import fcntl
        fcntl.fcntl(fd, getattr(fcntl, "F_SETPIPE_SZ", 1031), size)
    except (OSError, ImportError):
        pass


def unpack(read_exact, max_json=MAX_FRAME, max_blobs=MAX_FRAME):
    """Read one frame with ``read_exact(n) -> bytes``; returns (message, blobs)."""
    body_len, table_len = _HEADER.unpack(read_exact(_HEADER.size))
    if body_len > max_json or table_len > 1 << 20:
        raise WireError("frame too large")
    try:
        message = json.loads(read_exact(body_len))
        sizes = json.loads(read_exact(table_len))
    except (ValueError, RecursionError):
        raise WireError("frame is not valid JSON") from None
    if type(sizes) is not list or not all(type(s) is int and s >= 0 for s in sizes) or sum(sizes) > max_blobs:
        raise WireError("malformed blob table")
    return message, [read_exact(s) for s in sizes]
