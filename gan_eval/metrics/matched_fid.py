"""Size-fair FID: FID at a matched number of generated cases, and FD-infinity.

Why: FID is biased upwards, and the bias shrinks with the number of generated cases m (to first
order it is linear in 1/m; Chong & Forsyth 2020, "Effectively unbiased FID and Inception Score
and where to find them"). A 100-case submission therefore scores a worse FID than 1000 cases of
the same generator: on the demo, `good` (1000) 4.05 against `small` (100) 5.09, while 100-case
subsets of `good` average 5.16. The bootstrap interval of ``metrics.bootstrap`` describes the
estimator at the submission's own size, so it supports comparisons at equal m only.

**Matched FID** (``matched_fid``): the mean FID of ``n`` generated cases against all real cases,
over ``subsamples`` random subsets drawn without replacement in rounds of floor(m / n) disjoint
subsets. A submission of exactly n cases has one subset, itself: its matched FID is its FID and
the interval its ordinary bootstrap interval (``bootstrap_fid``, the same numbers as ``fid_ci95``). Every submission is scored at
the same n (``scoring`` picks the smallest submission's size, at least the real set's size), so
the size bias is the same for all; the real set is the same for all too.

Its 95% interval is a bootstrap of that whole estimator: each replicate resamples the real cases
and the generated cases with replacement and averages the FIDs of the floor(m / n) disjoint
subsets of the resampled generated cases, so a 1000-case submission's interval reflects the
precision of an average over its cases (narrower than one 100-case FID's), and a 100-case
submission's is its ordinary bootstrap interval. As in ``metrics.bootstrap``, the replicates'
percentile interval is moved so that their median sits on the estimate (resampling with
replacement duplicates cases and shifts FID up; the shift is not sampling variability). FID is
not a nearest-neighbour statistic, so duplicates only bias it, which the move removes.

**FD-infinity** (``fd_infinity``): FID computed at ``points`` sizes N spaced evenly in 1/N between
m / 5 (at least 10) and m (at least 20 cases) (each the mean over ``draws`` random subsets; one at N = m), a least-squares line
FID_N = FD_inf + k / N, and its intercept: the FID of infinitely many generated cases against
these real cases. It removes the generated side's bias only; the real side's (91 cases) is the
same for every submission. On the demo (default backbone) `good` gets 3.93 and 100-case subsets
of it 4.08 (sd 0.13 over subsets), where their FIDs are 4.05 and 5.16. It is an extrapolation:
from 100 cases (sizes 20-100) it is noisier than the matched FID, and it can come out slightly
below 0 for a set very close to the real one.

All FIDs here come from the pool's Gram matrix (``metrics.gram_fid``), computed once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_eval.metrics.bootstrap import N_BOOT, bootstrap_fid
from gan_eval.metrics.fid import frechet_distance
from gan_eval.metrics.inputs import embedding_pair, rng
from gan_eval.metrics.pool import Pool

SUBSAMPLES = 100     # subsets averaged for the matched FID
FD_INF_POINTS = 10   # sizes N of the FD-infinity fit
FD_INF_DRAWS = 5     # subsets averaged at each size
FD_INF_SMALLEST = 5  # the smallest N is m / FD_INF_SMALLEST ...
FD_INF_MIN_SIZE = 10  # ... and at least this
FD_INF_MIN_CASES = 2 * FD_INF_MIN_SIZE  # fewer cases span less than a factor 2 in N: no extrapolation


@dataclass(frozen=True)
class MatchedFID:
    fid: float                       # mean FID of n generated cases against all real cases
    ci95: tuple[float, float]
    n: int
    subsamples: int                  # distinct subsets averaged (1 when the submission has n cases)


def _rounds(draws: np.random.Generator, m: int, n: int, count: int) -> np.ndarray:
    """``count`` subsets of size n of range(m), as rows, in rounds of floor(m / n) disjoint ones."""
    per_round = m // n
    rounds = -(-count // per_round)
    return np.concatenate([draws.permutation(m)[: per_round * n].reshape(per_round, n)
                           for _ in range(rounds)])[:count]


def matched_fid(real: np.ndarray, generated: np.ndarray, n: int, subsamples: int = SUBSAMPLES,
                n_boot: int = N_BOOT, seed: int = 0, level: float = 0.95, pool: Pool | None = None) -> MatchedFID:
    """FID at ``n`` generated cases with its bootstrap interval (module docstring); ``pool``: these
    sets' ``metrics.pool.Pool``, when one exists."""
    real, generated = embedding_pair(real, generated)
    n_r, m = len(real), len(generated)
    if not 2 <= n <= m:
        raise ValueError(f"matched FID at n={n} needs between 2 and {m} (the submission's size) generated cases")
    if subsamples < 1:
        raise ValueError(f"subsamples must be >= 1, got {subsamples}")
    if n_boot < 2:
        raise ValueError(f"n_boot must be >= 2, got {n_boot}")
    if m == n:
        interval = bootstrap_fid(real, generated, n_boot=n_boot, seed=seed, level=level)
        return MatchedFID(fid=frechet_distance(real, generated), ci95=interval, n=n, subsamples=1)
    gram = (pool or Pool(real, generated)).gram
    draws = rng(seed)
    subsets = _rounds(draws, m, n, subsamples)
    estimate = float(gram.batched_fids(np.arange(n_r), n_r + subsets).mean())
    per_round = m // n
    # Each replicate: the real cases and the generated cases resampled with replacement, the
    # resampled generated cases cut into floor(m / n) disjoint subsets (repeats are duplicates).
    values = np.array([gram.batched_fids(draws.integers(0, n_r, n_r), n_r + draws.integers(0, m, (per_round, n))).mean()
                       for _ in range(n_boot)])
    lo, mid, hi = np.quantile(values, [(1.0 - level) / 2.0, 0.5, (1.0 + level) / 2.0])
    return MatchedFID(fid=estimate, ci95=(float(max(estimate + lo - mid, 0.0)), float(estimate + hi - mid)), n=n,
                      subsamples=len(subsets))


def fd_infinity(real: np.ndarray, generated: np.ndarray, points: int = FD_INF_POINTS, draws: int = FD_INF_DRAWS,
                seed: int = 0, pool: Pool | None = None) -> float:
    """FID extrapolated to infinitely many generated cases (module docstring); ``pool``: these
    sets' ``metrics.pool.Pool``, when one exists."""
    real, generated = embedding_pair(real, generated)
    n_r, m = len(real), len(generated)
    if points < 2 or m < FD_INF_MIN_CASES:
        raise ValueError(f"FD-infinity needs at least 2 sizes and {FD_INF_MIN_CASES} generated cases, "
                         f"got {points} sizes and {m} cases")
    smallest = max(m // FD_INF_SMALLEST, FD_INF_MIN_SIZE)
    gram = (pool or Pool(real, generated)).gram
    sizes = np.unique(np.round(1.0 / np.linspace(1.0 / smallest, 1.0 / m, points)).astype(int))
    random = rng(seed)
    means = [gram.batched_fids(np.arange(n_r), n_r + np.stack([random.choice(m, size, replace=False)
                                                               for _ in range(draws if size < m else 1)])).mean()
             for size in sizes]
    _, intercept = np.polyfit(1.0 / sizes, means, 1)
    return float(intercept)
