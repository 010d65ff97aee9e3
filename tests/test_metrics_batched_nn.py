"""The batched 1-NN protocol on any labelling of a pool equals the challenge's own implementation."""

from __future__ import annotations

import numpy as np
import pytest

from gan_eval.metrics.batched_nn import Labelling, protocol_batches
from gan_eval.metrics.distances import DENSE_BYTES, PooledDistances
from gan_eval.metrics.diversity import loo_1nn_diversity


@pytest.mark.parametrize("dense_bytes", [DENSE_BYTES, 0])  # the matrix kept whole, or computed per block
@pytest.mark.parametrize("n_gen,copies", [(350, False), (70, False), (300, True)])
def test_same_numbers_as_loo_1nn_diversity(n_gen, copies, dense_bytes):
    rng = np.random.default_rng(n_gen)
    real = rng.normal(size=(60, 12))
    gen = real[rng.integers(0, 60, n_gen)] if copies else rng.normal(size=(n_gen, 12)) + 0.3
    reference = loo_1nn_diversity(real, gen, repetitions=7, seed=5)
    labelling = Labelling(PooledDistances(real, gen, dense_bytes), np.arange(60), 60 + np.arange(n_gen))
    draws = np.random.default_rng(5)
    runs = [labelling.accuracy(protocol_batches(draws, n_gen, 100)) for _ in range(7)]
    assert np.mean([r.overall for r in runs]) == pytest.approx(reference.accuracy, abs=1e-12)
    assert np.mean([r.real for r in runs]) == pytest.approx(reference.accuracy_real, abs=1e-12)
    assert np.mean([r.generated for r in runs]) == pytest.approx(reference.accuracy_generated, abs=1e-12)


def test_a_relabelled_pool_is_scored_on_its_own_labels():
    rng = np.random.default_rng(1)
    pool = np.concatenate([rng.normal(size=(40, 5)), rng.normal(size=(40, 5)) + 5.0])
    d = PooledDistances(pool[:40], pool[40:])
    separated = Labelling(d, np.arange(40), 40 + np.arange(40)).accuracy(np.arange(40)[None])
    mixed = Labelling(d, np.arange(0, 80, 2), np.arange(1, 80, 2)).accuracy(np.arange(40)[None])
    assert separated.overall == 1.0 and mixed.overall < 0.7
    with pytest.raises(ValueError, match=r"leave-one-out 1-NN needs at least 2 real cases, got 1"):
        Labelling(d, np.array([0]), np.arange(1, 80))
