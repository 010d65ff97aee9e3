"""Rank confidence from half-samples: probabilities sum to 1 per team and per rank, clear
differences give certain ranks, a coin-flip pair gives ~50%."""

from __future__ import annotations

import numpy as np
import pytest

from gan_eval.metrics.pool import Pool
from gan_eval.metrics.rank_confidence import deviation_scale, quantitative_resamples, rank_confidence, ranks_of


@pytest.fixture(scope="module")
def teams():
    rng = np.random.default_rng(0)
    real = rng.normal(size=(40, 6))
    generated = {"twin_a": rng.normal(size=(150, 6)), "twin_b": rng.normal(size=(150, 6)),
                 "shifted": rng.normal(size=(150, 6)) + 0.8, "far": rng.normal(size=(60, 6)) + 3.0}
    return real, generated


def test_probabilities_sum_to_one_per_team_and_per_rank(teams):
    real, generated = teams
    raw = quantitative_resamples(real, generated, resamples=60, repetitions=3, seed=1)
    assert raw.shape == (60, 4)
    reported = dict(zip(generated, raw.mean(axis=0)))
    confidence = rank_confidence(reported, raw, seed=1)
    np.testing.assert_allclose(confidence.probabilities.sum(axis=1), 1.0)
    np.testing.assert_allclose(confidence.probabilities.sum(axis=0), 1.0)
    by_team = dict(zip(confidence.teams, confidence.interval))
    assert by_team["far"] == (4, 4) and by_team["shifted"] == (3, 3)
    assert by_team["twin_a"][0] == 1 and by_team["twin_a"][1] == 2
    beats = {(a, b): confidence.beats[i, j] for i, a in enumerate(confidence.teams)
             for j, b in enumerate(confidence.teams) if i != j}
    assert beats[("twin_a", "far")] == 1.0 and beats[("far", "twin_a")] == 0.0
    assert 0.15 < beats[("twin_a", "twin_b")] < 0.85
    assert beats[("twin_a", "twin_b")] + beats[("twin_b", "twin_a")] == pytest.approx(1.0)


def test_ties_are_shared_and_sums_stay_one():
    scores = np.array([[0.5, 0.5, 0.1]] * 400)
    confidence = ranks_of(["a", "b", "c"], scores, seed=0)
    np.testing.assert_allclose(confidence.probabilities.sum(axis=0), 1.0)
    assert confidence.probabilities[0, 0] == pytest.approx(0.5, abs=0.1)
    assert confidence.probabilities[2].tolist() == [0.0, 0.0, 1.0]
    assert confidence.beats[0, 1] == 0.5


def test_resamples_are_centred_on_the_reported_scores():
    raw = np.array([[0.2, 0.6], [0.4, 0.8]])
    confidence = rank_confidence({"a": 0.9, "b": 0.1}, raw)
    np.testing.assert_allclose(confidence.resampled, [[0.8, 0.0], [1.0, 0.2]], atol=1e-12)
    assert deviation_scale(0.5) == 1.0 and deviation_scale(0.2) == pytest.approx(0.5)


def test_half_samples_need_two_cases(teams):
    real, _ = teams
    with pytest.raises(ValueError, match=r"tiny: 2 cases leave 1 in a 50% subsample; at least 2 are needed"):
        quantitative_resamples(real, {"tiny": np.ones((2, 6))}, resamples=2)


def test_pools_computed_in_blocks_give_the_kept_pools_scores(teams, small_blocks):
    real, generated = teams
    kept = quantitative_resamples(real, generated, resamples=10, seed=2)
    pools = {name: Pool(real, x, dense_bytes=0) for name, x in generated.items()}
    np.testing.assert_allclose(quantitative_resamples(real, generated, resamples=10, seed=2, pools=pools), kept,
                               rtol=1e-9)
