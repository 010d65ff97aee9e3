"""The noise floor: real halves against each other score like a perfect generator."""

from __future__ import annotations

import numpy as np
import pytest

from gan_eval.metrics.noise_floor import noise_floor


def test_real_halves_score_like_a_perfect_generator():
    rng = np.random.default_rng(0)
    floor = noise_floor(rng.normal(size=(91, 8)), splits=10)
    assert set(floor) == {"fid", "kid", "precision", "recall", "density", "coverage", "loo_accuracy",
                          "diversity_score", "memorized_fraction"}
    assert abs(floor["kid"].mean) < 2 * floor["kid"].sd + 1e-3  # unbiased: ~0 within its spread
    assert floor["fid"].mean > 0 and floor["fid"].sd > 0       # biased at 45 cases a side
    assert 0.4 < floor["loo_accuracy"].mean < 0.6 and floor["memorized_fraction"].mean < 0.05
    assert floor["coverage"].mean > 0.8


def test_metrics_impossible_on_small_halves_are_left_out():
    floor = noise_floor(np.random.default_rng(1).normal(size=(10, 4)), splits=3)
    assert "precision" not in floor and "fid" in floor  # 5 cases a side: no 5-NN balls
    with pytest.raises(ValueError, match=r"splits must be >= 1, got 0"):
        noise_floor(np.zeros((10, 4)), splits=0)
