"""Bootstrap 95% intervals: resample the real and the generated cases with replacement.

The interval is the replicates' percentile interval moved so that the replicates' median sits on
the point estimate. Why moved: a resample holds only ~63% distinct cases, and statistics with a
small-sample bias shift with it; FID's covariance terms grow, so with 91 real cases in 1280-d
every replicate came out ~7% above the point estimate (Gaussian test data) and the plain
percentile interval did not even contain it. That shift is an artefact of duplicating cases, not sampling variability: moving the
interval keeps the bootstrap's width and asymmetry around the number that is reported.

``bootstrap_interval`` works for any statistic of (real, generated) that is not based on nearest
neighbours: resampling with replacement creates exact duplicates, which a nearest-neighbour
statistic treats as perfect matches (a duplicated point's neighbour is its twin), so 1-NN
accuracy, precision/recall/density/coverage and memorisation must not be bootstrapped this way.

``bootstrap_fid`` gives the same numbers as ``bootstrap_interval(frechet_distance, ...)`` with the
same seed, ~200x faster (bench/bench_metrics.py): the cross Gram matrix of the (jointly centred)
features and their squared norms are computed once, and each resample only needs its means (a
weighted sum of the features), traces and centred cross matrix, which follow from them. The
within-set Gram matrices are not needed: a resample's mean . mean is the squared norm of its
mean, where w^T G w would cost n^2 memory (800 MB for 10,000 generated cases).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import numpy as np
from threadpoolctl import threadpool_limits

from gan_eval.metrics.fid import frechet_distance
from gan_eval.metrics.inputs import embedding_pair, rng

N_BOOT = 200


def _check(n_boot: int, level: float) -> None:
    if n_boot < 2:
        raise ValueError(f"n_boot must be >= 2, got {n_boot}")
    if not 0 < level < 1:
        raise ValueError(f"level must be between 0 and 1, got {level}")


def _resamples(n_real: int, n_gen: int, n_boot: int, seed: int) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """Row indices of each resample: real first, then generated, from ``np.random.default_rng(seed)``."""
    draws = rng(seed)
    for _ in range(n_boot):
        yield draws.integers(0, n_real, n_real), draws.integers(0, n_gen, n_gen)


def _centred_interval(estimate: float, values: np.ndarray, level: float) -> tuple[float, float]:
    lo, mid, hi = np.quantile(values, [(1.0 - level) / 2.0, 0.5, (1.0 + level) / 2.0])
    return float(estimate + lo - mid), float(estimate + hi - mid)


def bootstrap_interval(statistic: Callable[[np.ndarray, np.ndarray], float], real: np.ndarray,
                       generated: np.ndarray, n_boot: int = N_BOOT, seed: int = 0,
                       level: float = 0.95) -> tuple[float, float]:
    """Interval for ``statistic(real, generated)`` from ``n_boot`` resamples (see the module docstring)."""
    real, generated = embedding_pair(real, generated)
    _check(n_boot, level)
    values = np.array([statistic(real[a], generated[b])
                       for a, b in _resamples(len(real), len(generated), n_boot, seed)])
    return _centred_interval(statistic(real, generated), values, level)


def bootstrap_fid(real: np.ndarray, generated: np.ndarray, n_boot: int = N_BOOT, seed: int = 0,
                  level: float = 0.95) -> tuple[float, float]:
    """``bootstrap_interval(frechet_distance, ...)``, fast (see the module docstring)."""
    real, generated = embedding_pair(real, generated)
    _check(n_boot, level)
    n_r, n_g = len(real), len(generated)
    estimate = frechet_distance(real, generated)  # first: its copies of the sets are gone before ours are made
    centre = (real.sum(axis=0) + generated.sum(axis=0)) / (n_r + n_g)  # shrinks norms: less cancellation
    xr, xg = real - centre, generated - centre
    g_rg = xr @ xg.T
    norms_r, norms_g = np.einsum("ij,ij->i", xr, xr), np.einsum("ij,ij->i", xg, xg)

    count_r, count_g = np.empty((n_boot, n_r)), np.empty((n_boot, n_g))  # each resample's draws of each case
    for s, (a, b) in enumerate(_resamples(n_r, n_g, n_boot, seed)):
        count_r[s], count_g[s] = np.bincount(a, minlength=n_r), np.bincount(b, minlength=n_g)
    values = np.empty(n_boot)
    # Each resample is a handful of small matrix operations: BLAS threads only add overhead
    # (and on a busy machine make a 58 x 632 SVD 100x slower), so use one.
    with threadpool_limits(limits=1, user_api="blas"):
        # Every resample's means in two products (one matrix-vector product each is memory-bound).
        means_r, means_g = (count_r / n_r) @ xr, (count_g / n_g) @ xg
        for s in range(n_boot):
            values[s] = _resampled_fid(count_r[s], count_g[s], means_r[s], means_g[s], norms_r, norms_g, g_rg)
    lo, hi = _centred_interval(estimate, values, level)
    return max(lo, 0.0), hi  # FID is a squared distance


def _resampled_fid(count_r: np.ndarray, count_g: np.ndarray, mu_r: np.ndarray, mu_g: np.ndarray,
                   norms_r: np.ndarray, norms_g: np.ndarray, g_rg: np.ndarray) -> float:
    """FID of the resample that draws real case i ``count_r[i]`` times and generated case j
    ``count_g[j]`` times, with means ``mu_r``, ``mu_g``, from the full sets' centred squared norms
    and cross Gram matrix."""
    n_r, n_g = len(count_r), len(count_g)
    w_r, w_g = count_r / n_r, count_g / n_g                     # resample mean = w @ x
    rg_w = g_rg @ w_g                                           # x_i . mu_g
    wr_rg = w_r @ g_rg                                          # mu_r . y_j
    mr_mr, mg_mg, mr_mg = mu_r @ mu_r, mu_g @ mu_g, wr_rg @ w_g
    trace_r = (count_r @ norms_r - n_r * mr_mr) / (n_r - 1)
    trace_g = (count_g @ norms_g - n_g * mg_mg) / (n_g - 1)
    # Centred cross matrix of the resample over its distinct cases: a case drawn c times is c
    # identical rows, which together have the singular values of one row scaled by sqrt(c).
    ur, ug = np.flatnonzero(count_r), np.flatnonzero(count_g)
    cross = g_rg[np.ix_(ur, ug)] - rg_w[ur, None] - wr_rg[None, ug] + mr_mg
    cross *= np.sqrt(count_r[ur])[:, None] * np.sqrt(count_g[ug])[None, :]
    # Singular values as square roots of the small Gram matrix's eigenvalues: ~10x faster than an
    # SVD and accurate to ~1e-7 of the largest singular value, plenty for an interval.
    small = cross @ cross.T if len(ur) <= len(ug) else cross.T @ cross
    tr_sqrt = np.sqrt(np.clip(np.linalg.eigvalsh(small), 0.0, None)).sum() / np.sqrt((n_r - 1) * (n_g - 1))
    return max(mr_mr + mg_mg - 2.0 * mr_mg + trace_r + trace_g - 2.0 * tr_sqrt, 0.0)
