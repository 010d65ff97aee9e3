"""Memorisation: planted copies are found, with their real twin, most suspicious first."""

from __future__ import annotations

import numpy as np
import pytest

from gan_eval.metrics.memorisation import memorisation


def test_finds_planted_copies():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(91, 64))
    gen = rng.normal(size=(200, 64))
    planted = {10: 5, 50: 17, 120: 90}  # generated index -> real index it copies
    noise = {10: 1e-3, 50: 1e-1, 120: 0.0}
    for g, r in planted.items():
        gen[g] = real[r] + noise[g] * rng.normal(size=64)
    res = memorisation(real, gen)
    assert [(c.generated_index, c.real_index) for c in res.copies] == [(120, 90), (10, 5), (50, 17)]
    assert res.copies[0].distance == 0.0 and res.copies[0].ratio == 0.0
    assert [c.ratio for c in res.copies] == sorted(c.ratio for c in res.copies)
    assert res.fraction == pytest.approx(3 / 200)
    assert all(c.ratio < res.alpha for c in res.copies)


def test_independent_samples_are_not_flagged():
    rng = np.random.default_rng(1)
    res = memorisation(rng.normal(size=(91, 64)), rng.normal(size=(500, 64)))
    assert res.fraction == 0.0 and res.copies == []
    assert res.real_nn_median > 0


def test_alpha_sets_the_threshold():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(50, 16))
    gen = real + 0.3 * rng.normal(size=real.shape)  # ratio ~0.3 / typical NN distance
    ratios = [c.ratio for c in memorisation(real, gen, alpha=10.0).copies]
    assert len(ratios) == 50
    threshold = float(np.median(ratios))
    assert memorisation(real, gen, alpha=threshold).fraction == pytest.approx(
        np.mean(np.array(ratios) < threshold))
    with pytest.raises(ValueError, match=r"alpha must be > 0, got 0"):
        memorisation(real, gen, alpha=0)


def test_duplicated_real_set_is_refused():
    rng = np.random.default_rng(3)
    real = np.repeat(rng.normal(size=(10, 4)), 2, axis=0)
    with pytest.raises(ValueError, match=r"identical twin in the real set"):
        memorisation(real, rng.normal(size=(10, 4)))
