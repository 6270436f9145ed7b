"""The roofline: a device's peaks, the fastest time a call can take, and the score.

floor time = max(bytes / peak bandwidth, FLOPs / peak FLOP/s); efficiency = floor time /
measured time; score = correctness gate x min(1, efficiency / target). A measured time
below the floor (with a little slack for clock boost) is impossible, so it is rejected as
broken timing or cheating rather than scored."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import yaml

FLOOR_SLACK = 0.9  # a time under 90% of the floor cannot be real


@dataclass(frozen=True)
class Device:
    name: str
    bandwidth: float              # bytes/s
    flops: dict[str, float]       # FLOP/s per dtype
    source: str


@lru_cache(maxsize=1)
def device_table() -> tuple[tuple[tuple[str, ...], Device], ...]:
    text = resources.files("grader").joinpath("data/devices.yaml").read_text("utf-8")
    return tuple((tuple(m.lower() for m in d["match"]),
                  Device(d["name"], d["bandwidth_tb_s"] * 1e12,
                         {k: v * 1e12 for k, v in d["tflops"].items()}, d["source"]))
                 for d in yaml.safe_load(text)["devices"])


def find_device(device_name: str) -> Device | None:
    """The first table row whose substrings all occur in ``device_name``."""
    lowered = device_name.lower()
    return next((dev for match, dev in device_table() if all(m in lowered for m in match)), None)


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
