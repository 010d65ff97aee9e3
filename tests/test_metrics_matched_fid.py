"""Size-fair FID: a 1000-case set and a 100-case subset of the same generator agree at matched n
and in FD-infinity, where the plain FID says the small one is worse."""

from __future__ import annotations

import numpy as np
import pytest

from gan_eval.metrics.fid import frechet_distance
from gan_eval.metrics.matched_fid import fd_infinity, matched_fid
from gan_eval.metrics.pool import Pool


def features(rng: np.random.Generator, n: int, d: int = 256) -> np.ndarray:
    """Demo-like embeddings: a decaying spectrum of 64 directions plus a little isotropic noise, so
    that, as on the demo, 91 real against 1000 generated cases of the same distribution give an
    FID of ~5 and 100 generated cases ~8."""
    spectrum = 3.0 / np.sqrt(np.arange(1, 65))
    basis = np.random.default_rng(99).normal(size=(64, d)) / np.sqrt(d)
    return (rng.normal(size=(n, 64)) * spectrum) @ basis + 0.3 * rng.normal(size=(n, d)) / np.sqrt(d)


@pytest.fixture(scope="module")
def sets():
    rng = np.random.default_rng(0)
    real, large = features(rng, 91), features(rng, 1000)
    return real, large, large[rng.choice(1000, 100, replace=False)]


def test_matched_fid_agrees_where_plain_fid_does_not(sets):
    real, large, small = sets
    assert frechet_distance(real, small) > frechet_distance(real, large) * 1.1  # the size bias
    big, little = matched_fid(real, large, 100), matched_fid(real, small, 100)
    assert big.n == little.n == 100 and big.subsamples == 100 and little.subsamples == 1
    assert little.fid == pytest.approx(frechet_distance(real, small), rel=1e-9)  # the whole set is its subset
    assert little.ci95[0] <= big.fid <= little.ci95[1] and big.ci95[0] <= little.fid <= big.ci95[1]
    # Averaging over ten disjoint subsets: a narrower interval than one 100-case FID's.
    assert big.ci95[1] - big.ci95[0] < little.ci95[1] - little.ci95[0]


def test_fd_infinity_removes_the_size_bias(sets):
    real, large, small = sets
    big, little = fd_infinity(real, large), fd_infinity(real, small)
    assert big < frechet_distance(real, large)  # below the finite-size FID
    # From 100 cases the extrapolation is noisy (sd ~0.6 here), but it removes most of the bias.
    assert abs(big - little) < 0.5 * (frechet_distance(real, small) - frechet_distance(real, large))


def test_bad_sizes_are_refused(sets):
    real, _, small = sets
    with pytest.raises(ValueError, match=r"matched FID at n=101 needs between 2 and 100"):
        matched_fid(real, small, 101)
    with pytest.raises(ValueError, match=r"FD-infinity needs at least 2 sizes and 20 generated cases, got 10 sizes "
                                         r"and 19 cases"):
        fd_infinity(real, small[:19])


def test_a_pool_computed_in_blocks_gives_the_kept_pools_numbers(sets, small_blocks):
    real, large, _ = sets
    blocks = Pool(real, large, dense_bytes=0)
    # To the Gram route's accuracy (~1e-8 of FID: the square roots of near-zero eigenvalues).
    ours, kept = matched_fid(real, large, 100, n_boot=20, pool=blocks), matched_fid(real, large, 100, n_boot=20)
    assert (ours.fid, *ours.ci95) == pytest.approx((kept.fid, *kept.ci95), rel=1e-7)
    assert fd_infinity(real, large, pool=blocks) == pytest.approx(fd_infinity(real, large), rel=1e-7)
