"""Chapter 6 - scaling laws: 6ND, the Chinchilla-optimal size, power-law data term."""

import math

CHINCHILLA_ALPHA = 0.34  # exponent of the parameter term, A / N^alpha


# 6.1 training compute ----------------------------------------------------------------

def training_flops(n_params_b: float, tokens_b: float, **_) -> float:
    """C = 6 N D in FLOPs, with N and D given in billions."""
    return 6 * n_params_b * 1e9 * tokens_b * 1e9


def forward_only_flops(n_params_b: float, tokens_b: float, **_) -> float:
    """Known mistake: 2ND, the forward pass only."""
    return 2 * n_params_b * 1e9 * tokens_b * 1e9


# 6.2 Chinchilla-optimal N -----------------------------------------------------------

def chinchilla_optimal_params(compute_e23: float, tokens_per_param: float = 20, **_) -> float:
    """N* from C = 6 N D with D = 20 N: N* = sqrt(C / 120), in params."""
    c = compute_e23 * 1e23
    return math.sqrt(c / (6 * tokens_per_param))


def optimal_params_without_ratio(compute_e23: float, tokens_per_param: float = 20, **_) -> float:
    """Known mistake: sqrt(C / 6), the 20 tokens/param dropped."""
    return math.sqrt(compute_e23 * 1e23 / 6)


def optimal_params_without_sqrt(compute_e23: float, tokens_per_param: float = 20, **_) -> float:
    """Known mistake: C / 120 with no square root."""
    return compute_e23 * 1e23 / (6 * tokens_per_param)


# 6.3 data term under more data ------------------------------------------------------

def data_term_fractional_decrease(beta: float, data_factor: float, tokens_b: float = 100,
                                  b_coef: float = 410.7, **_) -> float:
    """1 - k^(-beta): fractional drop of B / D^beta when D is multiplied by k (D, B cancel)."""
    before = b_coef / (tokens_b * 1e9) ** beta
    after = b_coef / (data_factor * tokens_b * 1e9) ** beta
    return 1 - after / before


def data_term_ratio_not_decrease(beta: float, data_factor: float, tokens_b: float = 100,
                                 b_coef: float = 410.7, **_) -> float:
    """Known mistake: k^(-beta), the ratio new/old rather than the decrease."""
    return data_factor ** (-beta)


def data_term_decrease_with_alpha(beta: float, data_factor: float, tokens_b: float = 100,
                                  b_coef: float = 410.7, **_) -> float:
    """Known mistake: the parameter exponent alpha = 0.34 used instead of beta."""
    return 1 - data_factor ** (-CHINCHILLA_ALPHA)
