"""Bootstrap intervals: the fast FID path equals the generic one, contains the estimate, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from gan_eval.metrics.bootstrap import bootstrap_fid, bootstrap_interval
from gan_eval.metrics.fid import frechet_distance


@pytest.mark.parametrize("n_real,n_gen,d", [(91, 300, 64), (40, 60, 16)])
def test_fast_fid_path_equals_generic_bootstrap(n_real, n_gen, d):
    rng = np.random.default_rng(0)
    real, gen = rng.normal(size=(n_real, d)), rng.normal(size=(n_gen, d)) * 1.2 + 0.1
    fast = bootstrap_fid(real, gen, n_boot=30, seed=5)
    generic = bootstrap_interval(frechet_distance, real, gen, n_boot=30, seed=5)
    assert fast == pytest.approx(generic, rel=1e-7)


def test_interval_contains_the_estimate_in_high_dimension():
    # 91 real cases in 512-d: every resample's FID is biased upwards; the interval is centred back.
    rng = np.random.default_rng(1)
    real, gen = rng.normal(size=(91, 512)), rng.normal(size=(400, 512)) + 0.1
    fid = frechet_distance(real, gen)
    lo, hi = bootstrap_fid(real, gen, n_boot=100)
    assert lo < fid < hi
    assert hi - lo < 0.2 * fid


def test_generic_interval_for_another_statistic_and_determinism():
    rng = np.random.default_rng(2)
    real, gen = rng.normal(size=(80, 4)), rng.normal(size=(120, 4)) + 1.0

    def mean_gap(r, g):
        return float(g.mean() - r.mean())

    lo, hi = bootstrap_interval(mean_gap, real, gen, n_boot=200, seed=3)
    assert lo < mean_gap(real, gen) < hi
    # The standard error of the gap is ~sqrt(1/(80*4) + 1/(120*4)) ~ 0.07: the 95% interval ~ +-0.14.
    assert 0.15 < hi - lo < 0.45
    assert bootstrap_interval(mean_gap, real, gen, n_boot=200, seed=3) == (lo, hi)
    assert bootstrap_interval(mean_gap, real, gen, n_boot=200, seed=4) != (lo, hi)


def test_fid_interval_is_not_negative_and_parameters_are_checked():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(50, 4))
    lo, hi = bootstrap_fid(real, real.copy(), n_boot=50)
    assert lo == 0.0 and hi > 0.0
    with pytest.raises(ValueError, match=r"n_boot must be >= 2, got 1"):
        bootstrap_fid(real, real, n_boot=1)
    with pytest.raises(ValueError, match=r"level must be between 0 and 1, got 95"):
        bootstrap_fid(real, real, level=95)
