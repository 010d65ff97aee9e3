"""Leave-one-out 1-NN diversity: a brute-force check of the challenge's procedure and known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.spatial.distance import cdist

from gan_eval.metrics import diversity
from gan_eval.metrics.diversity import diversity_from_accuracy, loo_1nn_diversity
from gan_eval.metrics.pool import Pool


def brute_force_accuracy(real, gen, batch_size, n_batches, repetitions, seed):
    """The challenge procedure written plainly: join, exclude self, np.argmin, compare labels."""
    draws = np.random.default_rng(seed)
    per_rep = []
    for _ in range(repetitions):
        order = draws.permutation(len(gen))
        accs = []
        for b in range(n_batches):
            joined = np.concatenate([real, gen[order[b * batch_size:(b + 1) * batch_size]]])
            labels = np.r_[np.zeros(len(real)), np.ones(batch_size)]
            d = cdist(joined, joined)
            np.fill_diagonal(d, np.inf)
            accs.append(np.mean(labels[d.argmin(axis=1)] == labels))
        per_rep.append(np.mean(accs))
    return float(np.mean(per_rep)), float(np.std(per_rep))


@pytest.mark.parametrize("n_gen,batch_size", [(95, 20), (60, 100), (300, 100)])
def test_matches_brute_force(n_gen, batch_size):
    rng = np.random.default_rng(0)
    real = rng.normal(size=(40, 12))
    gen = rng.normal(size=(n_gen, 12)) * 1.1 + 0.2
    res = loo_1nn_diversity(real, gen, batch_size=batch_size, repetitions=5, seed=7)
    expected_batches = max(n_gen // batch_size, 1)
    size = min(batch_size, n_gen)
    acc, std = brute_force_accuracy(real, gen, size, expected_batches, 5, 7)
    assert (res.n_batches, res.batch_size) == (expected_batches, size)
    assert res.accuracy == pytest.approx(acc, abs=1e-12)
    assert res.accuracy_std == pytest.approx(std, abs=1e-12)
    assert res.diversity == pytest.approx(1 - 2 * abs(acc - 0.5))


def test_ties_go_to_the_real_neighbour_as_argmin_does():
    # Exact copies, several per real case: every generated point has a real twin and generated
    # twins at distance 0; np.argmin over [real, batch] picks the real one, so all are wrong.
    rng = np.random.default_rng(1)
    real = rng.normal(size=(30, 8))
    gen = real[np.tile(np.arange(30), 4)]
    res = loo_1nn_diversity(real, gen, batch_size=40, repetitions=4, seed=0)
    acc, _ = brute_force_accuracy(real, gen, 40, 3, 4, 0)
    assert res.accuracy_generated == 0.0
    assert res.accuracy == pytest.approx(acc, abs=1e-12)


def test_identical_distributions_are_near_chance():
    rng = np.random.default_rng(2)
    res = loo_1nn_diversity(rng.normal(size=(91, 8)), rng.normal(size=(1000, 8)), seed=0)
    assert (res.n_batches, res.batch_size, res.repetitions) == (10, 100, 100)
    assert abs(res.accuracy - 0.5) < 0.05
    assert res.diversity > 0.9


def test_well_separated_sets_are_always_classified():
    rng = np.random.default_rng(3)
    res = loo_1nn_diversity(rng.normal(size=(91, 8)), rng.normal(size=(500, 8)) + 20.0, seed=0)
    assert (res.accuracy, res.accuracy_real, res.accuracy_generated) == (1.0, 1.0, 1.0)
    assert res.diversity == 0.0


def test_near_copies_of_the_real_cases_are_always_misclassified():
    rng = np.random.default_rng(4)
    real = rng.normal(size=(80, 16))
    gen = real + 1e-6 * rng.normal(size=real.shape)
    res = loo_1nn_diversity(real, gen, seed=0)
    assert res.accuracy == 0.0 and res.diversity == 0.0


def test_seed_determinism_and_batch_randomness():
    rng = np.random.default_rng(5)
    real, gen = rng.normal(size=(50, 6)), rng.normal(size=(450, 6)) + 0.3
    a = loo_1nn_diversity(real, gen, seed=11)
    assert loo_1nn_diversity(real, gen, seed=11) == a
    assert loo_1nn_diversity(real, gen, seed=12).accuracy != a.accuracy  # 50 cases left out differ
    assert a.accuracy_std > 0


def test_fewer_cases_than_a_batch_make_one_batch_of_all():
    rng = np.random.default_rng(6)
    res = loo_1nn_diversity(rng.normal(size=(20, 4)), rng.normal(size=(30, 4)), repetitions=3)
    # One batch of every case: every repetition sees the same joined set.
    assert (res.n_batches, res.batch_size, res.accuracy_std) == (1, 30, 0.0)


def test_batch_parameters_are_checked():
    rng = np.random.default_rng(7)
    real, gen = rng.normal(size=(20, 4)), rng.normal(size=(250, 4))
    assert loo_1nn_diversity(real, gen, n_batches=1, repetitions=2).n_batches == 1
    with pytest.raises(ValueError, match=r"n_batches must be between 1 and 2 for 250 generated cases "
                                         r"in batches of 100, got 3"):
        loo_1nn_diversity(real, gen, n_batches=3)
    with pytest.raises(ValueError, match=r"batch_size must be >= 1, got 0"):
        loo_1nn_diversity(real, gen, batch_size=0)
    with pytest.raises(ValueError, match=r"repetitions must be >= 1, got 0"):
        loo_1nn_diversity(real, gen, repetitions=0)


def test_diversity_from_accuracy():
    assert [diversity_from_accuracy(a) for a in (0.0, 0.25, 0.5, 0.75, 1.0)] == [0.0, 0.5, 1.0, 0.5, 0.0]


def test_in_blocks_with_short_lists_matches_brute_force(small_blocks, monkeypatch):
    """Distances computed a few rows at a time (a pool too large to keep its matrix) and lists of
    nearer generated cases cut at 64, so that the points of a tight cluster are decided from their
    own distances when no batch-mate is listed: the challenge's numbers all the same."""
    monkeypatch.setattr(diversity, "LIST_BYTES", 0)  # lists of FIRST = 64
    beyond = []
    original = diversity._Neighbours._beyond_list
    monkeypatch.setattr(diversity._Neighbours, "_beyond_list", lambda self, i, b: beyond.append(i) or original(self, i, b))
    rng = np.random.default_rng(3)
    real = rng.normal(size=(40, 6))
    gen = np.concatenate([real[rng.integers(0, 40, 60)],                  # copies: ties with the real twin
                          rng.normal(size=(90, 6)),                       # like the real cases
                          5.0 + 0.01 * rng.normal(size=(150, 6))])        # a collapsed mode: 149 nearer than any real
    res = loo_1nn_diversity(real, gen, batch_size=10, repetitions=3, seed=2, pool=Pool(real, gen, dense_bytes=0))
    acc, std = brute_force_accuracy(real, gen, 10, 30, 3, 2)
    assert beyond  # the cluster's points without a listed batch-mate
    assert res.accuracy == pytest.approx(acc, abs=1e-12)
    assert res.accuracy_std == pytest.approx(std, abs=1e-12)
