"""KID: the unbiased estimate by hand, ~0 for one distribution, > 0 for a shifted one, seeded."""

from __future__ import annotations

import numpy as np
import pytest

from gan_eval.metrics.kid import kernel_inception_distance


def direct_unbiased_mmd2(x, y):
    d = x.shape[1]
    k = lambda a, b: (a @ b.T / d + 1) ** 3  # noqa: E731
    m = len(x)
    kxx, kyy, kxy = k(x, x), k(y, y), k(x, y)
    return ((kxx.sum() - np.trace(kxx)) + (kyy.sum() - np.trace(kyy))) / (m * (m - 1)) - 2 * kxy.mean()


def test_single_full_subset_equals_direct_formula():
    # Equal-size sets and subset size = n: the one subset is a permutation of each whole set.
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 10)), rng.normal(size=(60, 10)) + 0.2
    res = kernel_inception_distance(x, y, n_subsets=1)
    assert res.subset_size == 60 and res.std == 0.0
    assert res.kid == pytest.approx(direct_unbiased_mmd2(x, y), rel=1e-10)


def test_same_distribution_near_zero_shifted_positive():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(91, 32))
    same = kernel_inception_distance(real, rng.normal(size=(500, 32)))
    shifted = kernel_inception_distance(real, rng.normal(size=(500, 32)) + 0.5)
    assert abs(same.kid) < 3 * same.std + 1e-3
    assert shifted.kid > 10 * max(abs(same.kid), same.std)


def test_subset_size_is_capped_by_the_smaller_set_and_seeded():
    rng = np.random.default_rng(2)
    real, gen = rng.normal(size=(40, 8)), rng.normal(size=(200, 8))
    a = kernel_inception_distance(real, gen, seed=3)
    assert a.subset_size == 40 and a.n_subsets == 100
    assert kernel_inception_distance(real, gen, seed=3) == a
    assert kernel_inception_distance(real, gen, seed=4).kid != a.kid
    assert kernel_inception_distance(real, gen, subset_size=None).subset_size == 40
    with pytest.raises(ValueError, match=r"n_subsets must be >= 1, got 0"):
        kernel_inception_distance(real, gen, n_subsets=0)


def test_subset_kernels_equal_the_whole_kernel_matrices_indexed():
    """The generated-generated kernel is computed per subset (never n x n): the same numbers as
    indexing the whole kernel matrices, as the estimator is written."""
    rng = np.random.default_rng(5)
    real, gen = rng.normal(size=(40, 8)), rng.normal(size=(300, 8)) + 0.1
    kernel = lambda a, b: (a @ b.T / 8 + 1) ** 3  # noqa: E731
    k_rr, k_gg, k_rg = kernel(real, real), kernel(gen, gen), kernel(real, gen)
    draws, values = np.random.default_rng(7), []
    for _ in range(20):
        r, g = draws.choice(40, 30, replace=False), draws.choice(300, 30, replace=False)
        krr, kgg = k_rr[np.ix_(r, r)], k_gg[np.ix_(g, g)]
        values.append((krr.sum() - np.trace(krr) + kgg.sum() - np.trace(kgg)) / (30 * 29) - 2 * k_rg[np.ix_(r, g)].mean())
    res = kernel_inception_distance(real, gen, subset_size=30, n_subsets=20, seed=7)
    assert (res.kid, res.std) == pytest.approx((np.mean(values), np.std(values)), rel=1e-12)
