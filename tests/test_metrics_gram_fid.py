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


@pytest.fixture(params=["kept", "rows"])
def gram(request, pool, small_blocks):
    """G kept whole, or only the 40 real cases' rows kept and the others computed when asked
    (a pool too large to keep G), with the groups of ``batched_fids`` a few at a time."""
    centred = pool - pool.mean(axis=0)
    return PoolGram(centred) if request.param == "kept" else PoolGram(centred, n_real=40, dense_bytes=0)


def test_batches_of_subsets_with_repeats_are_duplicated_cases(pool, gram):
    draws = np.random.default_rng(2)
    a, groups = draws.integers(0, 40, 40), 40 + draws.integers(0, 200, (3, 70))  # repeats: bootstrap draws
    expected = [frechet_distance(pool[a], pool[g]) for g in groups]
    np.testing.assert_allclose(gram.batched_fids(a, groups), expected, rtol=1e-6)
    subset = 40 + draws.choice(200, 70, replace=False)[None]  # more real than generated: the other product
    assert gram.batched_fids(np.arange(40), subset[:, :30])[0] == pytest.approx(
        frechet_distance(pool[:40], pool[subset[0, :30]]), rel=1e-6)
    relabelled = draws.choice(240, 40, replace=False)  # rows that are not the real cases' are computed
    assert gram.batched_fids(relabelled, groups[:1])[0] == pytest.approx(
        frechet_distance(pool[relabelled], pool[groups[0]]), rel=1e-6)


def test_complement(pool, gram):
    assert gram.complement_fid(np.arange(40)) == pytest.approx(frechet_distance(pool[:40], pool[40:]), rel=1e-6)
    relabelled = np.random.default_rng(3).choice(240, 40, replace=False)
    rest = np.setdiff1d(np.arange(240), relabelled)
    assert gram.complement_fid(relabelled) == pytest.approx(frechet_distance(pool[relabelled], pool[rest]), rel=1e-6)


def test_identical_sets_are_zero(pool):
    twice = np.concatenate([pool[:40], pool[:40]])
    assert PoolGram(twice - twice.mean(axis=0)).batched_fids(np.arange(40), 40 + np.arange(40)[None])[0] == 0.0
