"""Verdicts follow the stated thresholds; nearest-neighbour distances match a brute-force loop."""

import numpy as np
import pytest

from gan_eval import diagnosis
from gan_eval.diagnosis import diagnose, nearest_neighbour_distances, nearest_real

HEALTHY = dict(n=1000, loo_accuracy=0.52, precision=0.8, recall=0.8, coverage=0.95, memorized_fraction=0.0,
               consistency=0.66, consistency_real=0.66, consistency_flag=False, consistency_fraction_below=0.05,
               consistency_pvalue=0.6, loo_chance_accuracy=0.4985, loo_pvalue=0.4, orientation_flag=False,
               orientation_suspect_fraction=0.0, orientation_real_fraction=0.0, orientation_pvalue=1.0)


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
    assert labels(orientation_flag=True, orientation_suspect_fraction=1.0) == ["mis-oriented"]
    assert labels(loo_pvalue=0.001, loo_accuracy=0.6) == ["distinguishable"]  # significant, within the bands
    # Separable but realistic and varied: no named failure, but not called healthy either.
    assert labels(loo_accuracy=separable) == ["distinguishable"]


def test_findings_state_the_numbers():
    (finding,) = diagnose(HEALTHY | dict(loo_accuracy=0.1))
    assert finding.severity == "problem" and "10.0%" in finding.because and "30%" in finding.because


def test_a_set_too_small_to_judge_is_not_called_healthy():
    # 14 cases against 91: chance accuracy 76.7%, so 76% is chance, not "separable" nor "healthy".
    findings = diagnose(HEALTHY | dict(n=14, loo_accuracy=0.76, loo_chance_accuracy=0.7667, loo_pvalue=0.8))
    assert [f.label for f in findings] == ["too small to judge"]
    assert "76.7%" in findings[0].because and "p = 0.80" in findings[0].because
    # Copies are still caught by the memorised fraction, whatever the size.
    small_copies = HEALTHY | dict(n=14, loo_accuracy=0.2, loo_chance_accuracy=0.7667, memorized_fraction=0.9)
    assert [f.label for f in diagnose(small_copies)] == ["too small to judge", "memorisation"]
    assert labels(n=50, loo_chance_accuracy=0.539) == ["healthy"]  # within 5 points of 50%: judged


def test_within_set_distances_are_compared_at_equal_sizes():
    rng = np.random.default_rng(1)
    real, gen = rng.normal(size=(91, 8)), rng.normal(size=(910, 8))
    d = nearest_neighbour_distances(real, gen)
    assert len(d["generated → generated"]) == 910 and len(d["real → real"]) == 91
    # Same distribution, same group size: the same typical distance; all 910 together are ~25% closer.
    typical = np.median(d["real → real"])
    assert np.median(d["generated → generated"]) == pytest.approx(typical, rel=0.1)
    assert np.median(diagnosis._nn_within(gen)) < 0.85 * typical


def test_nearest_neighbour_distances_match_brute_force():
    rng = np.random.default_rng(0)
    real, gen = rng.normal(size=(15, 4)), rng.normal(size=(15, 4))  # equal sizes: each set is one group
    d = nearest_neighbour_distances(real, gen)
    brute = lambda a, b, same: np.array([min(np.linalg.norm(x - y) for j, y in enumerate(b) if not (same and i == j))
                                         for i, x in enumerate(a)])
    np.testing.assert_allclose(d["generated → real"], brute(gen, real, False))
    np.testing.assert_allclose(np.sort(d["generated → generated"]), np.sort(brute(gen, gen, True)))
    np.testing.assert_allclose(np.sort(d["real → real"]), np.sort(brute(real, real, True)))
    index, distance, typical = nearest_real(real[3] + 1e-3, real)
    assert index == 3 and distance == pytest.approx(np.sqrt(4) * 1e-3)
    assert typical == pytest.approx(np.median(brute(real, real, True)))
