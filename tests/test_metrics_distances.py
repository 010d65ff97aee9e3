"""Pairwise distances: BLAS-fast yet exact where nearest-neighbour metrics need it."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from gan_eval.metrics.distances import kth_neighbour_distance, pairwise


def test_equal_to_cdist():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(50, 20)) + 100.0, rng.normal(size=(30, 20)) + 100.0  # far from 0: cancellation
    np.testing.assert_allclose(pairwise(x, y), cdist(x, y), rtol=1e-10)
    np.testing.assert_allclose(pairwise(x), cdist(x, x), rtol=1e-10, atol=0)


def test_identical_and_nearly_identical_points_are_exact():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(20, 512)) * 30.0
    y = np.concatenate([x[:5], x[5:10] + 1e-9])
    d = pairwise(x, y)
    assert np.all(d[np.arange(5), np.arange(5)] == 0.0)
    np.testing.assert_allclose(d[np.arange(5, 10), np.arange(5, 10)], cdist(x[5:10], y[5:10]).diagonal(), rtol=1e-6)
    within = pairwise(np.concatenate([x, x[:3]]))
    assert within[0, 20] == within[1, 21] == within[2, 22] == 0.0
    assert np.all(np.diag(within) == 0.0)


def test_kth_neighbour_distance_skips_the_point_itself():
    x = np.array([[0.0], [1.0], [3.0], [7.0]])
    d = pairwise(x)
    np.testing.assert_array_equal(kth_neighbour_distance(d, 1), [1.0, 1.0, 2.0, 4.0])
    np.testing.assert_array_equal(kth_neighbour_distance(d, 2), [3.0, 2.0, 3.0, 6.0])


def test_pooled_gives_copies_their_originals_distances():
    from gan_eval.metrics.distances import PooledDistances

    rng = np.random.default_rng(2)
    real = rng.normal(size=(30, 40)) * 5.0 + 2.0
    fresh = rng.normal(size=(20, 40)) * 5.0 + 2.0
    assert np.array_equal(PooledDistances(real, fresh).matrix, pairwise(np.concatenate([real, fresh])))  # no copies: unchanged
    origin = rng.integers(0, 30, 50)
    pool = PooledDistances(real, real[origin])
    d = pool.matrix
    np.testing.assert_array_equal(d[:30, 30:], d[:30, origin])      # a copy's column is its original's
    np.testing.assert_array_equal(d[30:, 30:], d[np.ix_(origin, origin)])
    rows, cols = np.arange(30), 30 + np.arange(30)
    copies_of = np.array([np.flatnonzero(origin == i)[0] if (origin == i).any() else -1 for i in range(30)])
    has = copies_of >= 0
    np.testing.assert_array_equal(pool.exact(np.zeros(has.sum(), int), rows[has]),
                                  pool.exact(np.zeros(has.sum(), int), 30 + copies_of[has]))
    np.testing.assert_allclose(pool.exact(rows, cols), cdist(real, real[origin[:30]]).diagonal(), rtol=1e-12)
