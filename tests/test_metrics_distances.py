"""Pairwise distances: BLAS-fast yet exact where nearest-neighbour metrics need it."""

from __future__ import annotations

import numpy as np
from scipy.spatial.distance import cdist

from gan_eval.metrics.distances import PooledDistances, kth_neighbour_distance, pairwise


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
    rng = np.random.default_rng(2)
    real = rng.normal(size=(30, 40)) * 5.0 + 2.0
    fresh = rng.normal(size=(20, 40)) * 5.0 + 2.0
    every = np.arange(50)
    assert np.array_equal(PooledDistances(real, fresh).block(every, every),
                          pairwise(np.concatenate([real, fresh])))  # no copies: unchanged
    origin = rng.integers(0, 30, 50)
    pool = PooledDistances(real, real[origin])
    d = pool.block(np.arange(80), np.arange(80))
    np.testing.assert_array_equal(d[:30, 30:], d[:30, origin])      # a copy's column is its original's
    np.testing.assert_array_equal(d[30:, 30:], d[np.ix_(origin, origin)])
    rows, cols = np.arange(30), 30 + np.arange(30)
    copies_of = np.array([np.flatnonzero(origin == i)[0] if (origin == i).any() else -1 for i in range(30)])
    has = copies_of >= 0
    np.testing.assert_array_equal(pool.exact(np.zeros(has.sum(), int), rows[has]),
                                  pool.exact(np.zeros(has.sum(), int), 30 + copies_of[has]))
    np.testing.assert_allclose(pool.exact(rows, cols), cdist(real, real[origin[:30]]).diagonal(), rtol=1e-12)


def test_pairwise_in_several_blocks_equals_cdist(small_blocks):
    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(7, 30)) + 50.0, rng.normal(size=(200, 30)) + 50.0  # y: 200 rows in blocks of 17
    np.testing.assert_allclose(pairwise(x, y), cdist(x, y), rtol=1e-10)
    within = pairwise(y)
    np.testing.assert_allclose(within, cdist(y, y), rtol=1e-10, atol=0)
    assert np.all(np.diag(within) == 0.0)


def test_blocks_computed_when_asked_equal_the_kept_matrix_and_cdist(small_blocks):
    """A pool too large to keep its matrix (``dense_bytes=0`` here) computes each block when asked,
    a few rows at a time: the same distances, and copies still exactly at their originals'."""
    rng = np.random.default_rng(4)
    real = rng.normal(size=(30, 24)) * 3.0 + 1.0
    fresh = rng.normal(size=(120, 24)) * 3.0 + 1.0
    origin = rng.integers(0, 30, 40)
    gen = np.concatenate([fresh, real[origin], fresh[:10]])  # copies of real cases and of generated ones
    points = np.concatenate([real, gen])
    oracle = cdist(points, points)
    kept, asked = PooledDistances(real, gen), PooledDistances(real, gen, dense_bytes=0)
    everything = np.arange(len(points))
    for rows, cols in [(everything, everything), (np.arange(30), everything), (30 + np.arange(170), everything),
                       (rng.integers(0, 200, 50), rng.integers(0, 200, 70)), (rng.integers(0, 30, 9), np.arange(30))]:
        for pool in (kept, asked):
            np.testing.assert_allclose(pool.block(rows, cols), oracle[np.ix_(rows, cols)], rtol=1e-10, atol=1e-12)
    d = asked.block(everything, everything)
    np.testing.assert_array_equal(d[:, 150:190], d[:, origin])           # a copy's column is its original's
    np.testing.assert_array_equal(d[:, 190:], d[:, 30:40])
    assert np.all(d[150 + np.arange(40), origin] == 0.0)
    groups = rng.permutation(200)[:160].reshape(8, 20)
    for pool in (kept, asked):
        np.testing.assert_allclose(pool.within(groups), oracle[groups[:, :, None], groups[:, None, :]],
                                   rtol=1e-10, atol=1e-12)
    pairs = rng.integers(0, 200, (2, 300))
    np.testing.assert_array_equal(asked.exact(*pairs), kept.exact(*pairs))
