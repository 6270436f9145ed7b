"""The roofline: a device's peaks, the fastest time a call can take, and the score.

floor time = max(bytes / peak bandwidth, FLOPs / peak FLOP/s); efficiency = floor time /
measured time; score = correctness gate x min(1, efficiency / target). A measured time
below the floor (with a little slack for clock boost) is impossible, so it is rejected as
broken timing or cheating rather than scored."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from grader.core.fileio import read_yaml

FLOOR_SLACK = 0.9  # a time under 90% of the floor cannot be real


@dataclass(frozen=True)
class Device:
    name: str
    bandwidth: float              # bytes/s
    flops: dict[str, float]       # FLOP/s per dtype
    source: str


def device_key(device_name: str) -> tuple[str, ...]:
    """A device name as compared with the table: lower case, split on spaces, '-' and '_',
    without a leading "nvidia" (older drivers leave it out)."""
    words = re.split(r"[\s_-]+", device_name.strip().lower())
    words = [w for w in words if w]
    return tuple(words[1:] if words[:1] == ["nvidia"] else words)


def _device(row: dict[str, Any]) -> Device:
    return Device(row["name"], row["bandwidth_tb_s"] * 1e12,
                  {k: v * 1e12 for k, v in row["tflops"].items()}, row["source"])


@lru_cache(maxsize=1)
def device_table() -> tuple[tuple[tuple[tuple[str, ...], ...], Device], ...]:
    """Each row's accepted names (as ``device_key``s) and its peaks; a name in two rows is an error."""
    data = resources.files("grader").joinpath("data/devices.yaml").read_bytes()
    table: list[tuple[tuple[tuple[str, ...], ...], Device]] = []
    seen: set[tuple[str, ...]] = set()
    for row in read_yaml(data, label="devices.yaml", max_bytes=1 << 20)["devices"]:
        keys = tuple(device_key(m) for m in row["match"])
        if seen & set(keys) or len(set(keys)) < len(keys):
            raise ValueError(f"devices.yaml: {row['name']} lists a name twice, or one another row lists")
        seen.update(keys)
        table.append((keys, _device(row)))
    return tuple(table)


def find_device(device_name: str) -> Device | None:
    """The row listing ``device_name`` exactly (see ``device_key``), or None when no row does."""
    key = device_key(device_name)
    return next((dev for keys, dev in device_table() if key in keys), None)


class NoGPU(RuntimeError):
    """Performance needs a CUDA device (or one the device table knows)."""


def current_device() -> Device:
    import torch

    if not torch.cuda.is_available():
        raise NoGPU("no CUDA device: performance is measured only on a GPU")
    name = torch.cuda.get_device_name()
    device = find_device(name)
    if device is None:
        raise NoGPU(f"{name} is not in the device table (grader/data/devices.yaml)")
    return device


def floor_seconds(bytes_moved: float, flops: float, device: Device, dtype: str) -> float:
    return max(bytes_moved / device.bandwidth, flops / device.flops[dtype])


@dataclass(frozen=True)
class Verdict:
    efficiency: float
    score: float
    problem: str | None = None


def judge(floor_s: float, measured_s: float, target: float, correct: bool) -> Verdict:
    """Score one timed kernel; times the roofline forbids score zero with the reason."""
    if measured_s <= 0 or measured_s < FLOOR_SLACK * floor_s:
        return Verdict(floor_s / measured_s if measured_s > 0 else float("inf"), 0.0,
                       f"measured {measured_s * 1e6:.1f} us is below the roofline floor "
                       f"{floor_s * 1e6:.1f} us: the timing is broken or the work was not done")
    efficiency = floor_s / measured_s
    return Verdict(efficiency, (1.0 if correct else 0.0) * min(1.0, efficiency / target))
