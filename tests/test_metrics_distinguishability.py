"""Permutation tests of 1-NN accuracy and FID: uniform p-values under the null, ~0 when shifted."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from gan_eval.metrics.chance import chance_accuracy
from gan_eval.metrics.distinguishability import distinguishability
from gan_eval.metrics.pool import Pool

PERMUTATIONS = 49


@pytest.fixture(scope="module")
def null_pvalues():
    """p-values over many independent null data sets (same distribution, low dimension: fast)."""
    out = []
    for seed in range(120):
        rng = np.random.default_rng(seed)
        test = distinguishability(rng.normal(size=(25, 3)), rng.normal(size=(60, 3)), permutations=PERMUTATIONS,
                                  batch_size=30, seed=seed)
        out.append((test.loo_pvalue, test.fid_pvalue))
    return np.array(out)


@pytest.mark.parametrize("column", [0, 1], ids=["1-NN", "FID"])
def test_pvalues_are_roughly_uniform_under_the_null(null_pvalues, column):
    p = null_pvalues[:, column]
    assert 0.0 <= np.mean(p <= 0.1) <= 0.2
    assert 0.35 <= np.mean(p <= 0.5) <= 0.65
    assert stats.kstest(p, "uniform").pvalue > 0.001


def test_pvalues_are_near_zero_for_a_shifted_set():
    rng = np.random.default_rng(7)
    test = distinguishability(rng.normal(size=(25, 3)), rng.normal(size=(60, 3)) + 1.5, permutations=PERMUTATIONS,
                              batch_size=30)
    assert test.loo_pvalue == test.fid_pvalue == 1 / (PERMUTATIONS + 1)


def test_copies_are_distinguishable_by_accuracy_below_chance():
    rng = np.random.default_rng(8)
    real = rng.normal(size=(25, 3))
    test = distinguishability(real, real[rng.integers(0, 25, 60)], permutations=PERMUTATIONS, batch_size=30)
    assert test.loo_pvalue == 1 / (PERMUTATIONS + 1)


def test_chance_level_is_the_batch_against_the_real_cases():
    rng = np.random.default_rng(9)
    test = distinguishability(rng.normal(size=(91, 2)), rng.normal(size=(14, 2)), permutations=5)
    assert test.chance_accuracy == chance_accuracy(91, 14).overall and test.batch_size == 14
    with pytest.raises(ValueError, match=r"permutations must be >= 1, got 0"):
        distinguishability(rng.normal(size=(9, 2)), rng.normal(size=(9, 2)), permutations=0)


def test_a_pool_computed_in_blocks_gives_the_kept_pools_numbers(small_blocks):
    """Relabelled rows and batches computed when asked (a pool too large to keep its matrices)."""
    rng = np.random.default_rng(10)
    real = rng.normal(size=(30, 5))
    gen = np.concatenate([rng.normal(size=(150, 5)) + 0.2, real[rng.integers(0, 30, 30)]])  # with copies
    kept = distinguishability(real, gen, permutations=30, batch_size=40, repetitions=2, seed=4)
    blocks = distinguishability(real, gen, permutations=30, batch_size=40, repetitions=2, seed=4,
                                pool=Pool(real, gen, dense_bytes=0))
    assert blocks.loo_pvalue == kept.loo_pvalue and blocks.fid_pvalue == pytest.approx(kept.fid_pvalue, abs=1e-12)
