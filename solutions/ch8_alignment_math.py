"""Chapter 8 - alignment math: Bradley-Terry, GRPO advantages, Bloom-filter dedup."""

import math


def _sigmoid(x: float) -> float:
    """Numerically stable logistic function."""
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    z = math.exp(x)
    return z / (1.0 + z)


def bradley_terry_prob(r_win: float, r_lose: float, **_) -> float:
    """P(winner preferred) = sigma(r_win - r_lose)."""
    return _sigmoid(r_win - r_lose)


def bradley_terry_prob_flipped(r_win: float, r_lose: float, **_) -> float:
    """Known mistake: reward gap taken the wrong way round, sigma(r_lose - r_win)."""
    return _sigmoid(r_lose - r_win)


def bradley_terry_exp_only(r_win: float, r_lose: float, **_) -> float:
    """Known mistake: stopping at e^(-delta r) instead of 1 / (1 + e^(-delta r))."""
    return math.exp(-(r_win - r_lose))


def _rewards(r1: float, r2: float, r3: float, r4: float) -> list:
    return [r1, r2, r3, r4]


def grpo_advantage_r4(r1: float, r2: float, r3: float, r4: float, **_) -> float:
    """Group-normalised advantage of sample 4, population std (divide by n)."""
    rs = _rewards(r1, r2, r3, r4)
    mean = sum(rs) / len(rs)
    std = math.sqrt(sum((r - mean) ** 2 for r in rs) / len(rs))
    return (r4 - mean) / std


def grpo_advantage_r4_sample_std(r1: float, r2: float, r3: float, r4: float, **_) -> float:
    """Known mistake: Bessel-corrected sample std (divide by n - 1)."""
    rs = _rewards(r1, r2, r3, r4)
    mean = sum(rs) / len(rs)
    std = math.sqrt(sum((r - mean) ** 2 for r in rs) / (len(rs) - 1))
    return (r4 - mean) / std


def bloom_false_positive_rate(m_gbits: float, n_items_m: float, k_hashes: float, **_) -> float:
    """(1 - exp(-k n / m))^k with m in 10^9 bits and n in millions of items."""
    m = m_gbits * 1e9
    n = n_items_m * 1e6
    return (1.0 - math.exp(-k_hashes * n / m)) ** k_hashes


def bloom_single_hash_probability(m_gbits: float, n_items_m: float, k_hashes: float, **_) -> float:
    """Known mistake: forgetting the ^k power (probability that one probed bit is set)."""
    m = m_gbits * 1e9
    n = n_items_m * 1e6
    return 1.0 - math.exp(-k_hashes * n / m)
