"""Subset FIDs from a pool's Gram matrix equal metrics.fid on the subsets themselves."""

from __future__ import annotations

import numpy as np
import pytest

from gan_eval.metrics.fid import frechet_distance
from gan_eval.metrics.gram_fid import PoolGram


@pytest.fixture(scope="module")
def pool():
    rng = np.random.default_rng(0)
    return np.concatenate([rng.normal(size=(40, 64)), rng.normal(size=(200, 64)) * 1.2 + 0.3])


def test_subsets_and_complements(pool):
    gram = PoolGram(pool)
    a, b = np.arange(40), 40 + np.random.default_rng(1).choice(200, 70, replace=False)
    assert gram.fid(a, b) == pytest.approx(frechet_distance(pool[a], pool[b]), rel=1e-9)
    assert gram.fast_fid(a, b) == pytest.approx(frechet_distance(pool[a], pool[b]), rel=1e-6)
    assert gram.complement_fid(a) == pytest.approx(frechet_distance(pool[:40], pool[40:]), rel=1e-6)


def test_counts_are_duplicated_cases(pool):
    gram = PoolGram(pool)
    draws = np.random.default_rng(2)
    a, b = draws.integers(0, 40, 40), 40 + draws.integers(0, 200, 120)
    (ua, ca), (ub, cb) = np.unique(a, return_counts=True), np.unique(b, return_counts=True)
    assert gram.fid(ua, ub, ca, cb) == pytest.approx(frechet_distance(pool[a], pool[b]), rel=1e-9)


def test_identical_sets_are_zero(pool):
    assert PoolGram(np.concatenate([pool[:40], pool[:40]])).fid(np.arange(40), 40 + np.arange(40)) == 0.0
