"""Exact chance level of leave-one-out 1-NN accuracy: the formula, and a simulation under the null."""

from __future__ import annotations

import numpy as np
import pytest

from gan_eval.metrics.chance import chance_accuracy
from gan_eval.metrics.diversity import loo_1nn_diversity


@pytest.mark.parametrize("n_real,m,expected", [(91, 100, 0.49848), (91, 50, 0.53901), (91, 14, 0.76667),
                                               (91, 1000, 0.84695), (50, 50, 0.49495)])
def test_known_values(n_real, m, expected):
    assert chance_accuracy(n_real, m).overall == pytest.approx(expected, abs=1e-5)


def test_parts_average_to_the_whole():
    c = chance_accuracy(91, 14)
    assert c.real == pytest.approx(90 / 104) and c.generated == pytest.approx(13 / 104)
    assert (91 * c.real + 14 * c.generated) / 105 == pytest.approx(c.overall)


def test_matches_the_protocol_under_the_null():
    # Same distribution, one batch of 14 against 40 real cases: the mean accuracy over many
    # independent draws is the exact chance level, far from 50%.
    rng = np.random.default_rng(0)
    accuracies = [loo_1nn_diversity(rng.normal(size=(40, 3)), rng.normal(size=(14, 3)), repetitions=1, seed=s).accuracy
                  for s in range(400)]
    assert np.mean(accuracies) == pytest.approx(chance_accuracy(40, 14).overall, abs=0.01)


def test_refuses_empty_sets():
    with pytest.raises(ValueError, match=r"chance accuracy needs at least one real and one generated case"):
        chance_accuracy(0, 10)
