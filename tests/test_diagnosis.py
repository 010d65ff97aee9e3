"""Verdicts follow the stated thresholds; nearest-neighbour distances match a brute-force loop."""

import numpy as np
import pytest

from gan_eval import diagnosis
from gan_eval.diagnosis import diagnose, nearest_neighbour_distances, nearest_real

HEALTHY = dict(loo_accuracy=0.52, precision=0.8, recall=0.8, coverage=0.95, memorized_fraction=0.0,
               consistency=0.66, consistency_real=0.66, consistency_flag=False)


def labels(**changes):
    return [f.label for f in diagnose(HEALTHY | changes)]


def test_each_verdict_fires_on_its_own_threshold():
    assert labels() == ["healthy"]
    assert labels(loo_accuracy=diagnosis.MEMORISATION_ACCURACY - 0.01) == ["memorisation"]
    assert labels(memorized_fraction=diagnosis.MEMORISED_FRACTION + 0.01) == ["memorisation"]
    separable = diagnosis.SEPARABLE_ACCURACY + 0.01
    assert labels(loo_accuracy=separable, recall=diagnosis.COLLAPSE_RECALL - 0.01) == ["mode collapse"]
    assert labels(loo_accuracy=separable, precision=diagnosis.LOW_FIDELITY_PRECISION - 0.01, recall=0.0) == [
        "low fidelity"]
    assert labels(consistency_flag=True, consistency=0.3) == ["inconsistent sequences"]
    # Separable but realistic and varied: no named failure, but not called healthy either.
    assert labels(loo_accuracy=separable) == ["distinguishable"]


def test_findings_state_the_numbers():
    (finding,) = diagnose(HEALTHY | dict(loo_accuracy=0.1))
    assert finding.severity == "problem" and "10.0%" in finding.because and "30%" in finding.because


def test_nearest_neighbour_distances_match_brute_force():
    rng = np.random.default_rng(0)
    real, gen = rng.normal(size=(15, 4)), rng.normal(size=(20, 4))
    d = nearest_neighbour_distances(real, gen)
    brute = lambda a, b, same: np.array([min(np.linalg.norm(x - y) for j, y in enumerate(b) if not (same and i == j))
                                         for i, x in enumerate(a)])
    np.testing.assert_allclose(d["generated → real"], brute(gen, real, False))
    np.testing.assert_allclose(d["generated → generated"], brute(gen, gen, True))
    np.testing.assert_allclose(d["real → real"], brute(real, real, True))
    index, distance, typical = nearest_real(real[3] + 1e-3, real)
    assert index == 3 and distance == pytest.approx(np.sqrt(4) * 1e-3)
    assert typical == pytest.approx(np.median(brute(real, real, True)))
