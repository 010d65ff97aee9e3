"""Cross-sequence consistency of a case, and its per-submission summary and flag."""

from __future__ import annotations

import numpy as np
import pytest

from gan_eval.metrics.consistency import case_consistency
from gan_eval.metrics.consistency_summary import summarise_consistency


def anatomy(seed: int, size: int = 128) -> np.ndarray:
    """A few ellipses of different intensities: an 'organ' layout."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size] / size
    img = np.zeros((size, size))
    for _ in range(5):
        cy, cx, ry, rx = rng.uniform(0.2, 0.8), rng.uniform(0.2, 0.8), rng.uniform(0.05, 0.3), rng.uniform(0.05, 0.3)
        img[((yy - cy) / ry) ** 2 + ((xx - cx) / rx) ** 2 < 1] += rng.uniform(0.5, 1.5)
    return img


def test_same_anatomy_in_three_contrasts_is_consistent_different_anatomies_are_not():
    base = anatomy(0)
    rng = np.random.default_rng(1)
    same = np.stack([base, 2.0 - base, np.sqrt(base + 0.1)]) + 0.01 * rng.normal(size=(3, 128, 128))
    mixed = np.stack([anatomy(1), anatomy(2), anatomy(3)])
    assert case_consistency(same) > 0.8
    assert case_consistency(mixed) < 0.3


def test_case_consistency_input_checks():
    assert case_consistency(np.ones((3, 32, 32))) == 0.0  # no edges at all
    with pytest.raises(ValueError, match=r"case_consistency expects \(3, H, W\) images, got shape \(2, 32, 32\)"):
        case_consistency(np.zeros((2, 32, 32)))


def test_summary_flags_a_submission_below_the_real_fifth_percentile():
    rng = np.random.default_rng(2)
    real = rng.uniform(0.6, 0.9, 91)
    threshold = np.percentile(real, 5)
    good = summarise_consistency(rng.uniform(0.6, 0.9, 500), real)
    bad = summarise_consistency(rng.uniform(0.0, 0.3, 500), real)
    assert good.flagged is False and bad.flagged is True
    assert good.real_threshold == bad.real_threshold == pytest.approx(threshold)
    assert good.real_mean == pytest.approx(real.mean())
    assert good.fraction_below < 0.15 and bad.fraction_below == 1.0


def test_summary_without_real_values_has_no_flag_and_checks_inputs():
    s = summarise_consistency(np.array([0.2, 0.4]))
    assert s.mean == pytest.approx(0.3)
    assert (s.real_mean, s.real_threshold, s.fraction_below, s.flagged) == (None, None, None, None)
    with pytest.raises(ValueError, match=r"generated consistency: NaN or Inf in the consistency values "
                                         r"of 1 case\(s\), first row 1"):
        summarise_consistency(np.array([0.2, np.nan]))


def test_a_30_percent_inconsistent_mix_is_flagged_though_its_mean_is_not_low():
    rng = np.random.default_rng(3)
    real = rng.normal(0.66, 0.03, 91)
    threshold = np.percentile(real, 5)
    mix = np.concatenate([rng.normal(0.66, 0.03, 700), rng.normal(0.58, 0.02, 300)])
    assert mix.mean() > threshold  # the former rule (mean below the 5th percentile) let it pass
    s = summarise_consistency(mix, real)
    assert s.flagged is True and s.pvalue < 1e-6 and s.fraction_below > 0.25
    like_real = summarise_consistency(rng.normal(0.66, 0.03, 1000), real)
    assert like_real.flagged is False and like_real.pvalue > 0.05


def test_excess_test_accounts_for_the_estimated_percentile():
    from gan_eval.metrics.excess import excess_pvalue

    # Exchangeable cases: the count below the real 5th percentile is beta-binomial, so under the
    # null the p-value is (super-)uniform; simulated here with fresh draws of both sets.
    rng = np.random.default_rng(4)
    pvalues = []
    for _ in range(300):
        real, gen = rng.normal(size=91), rng.normal(size=200)
        t = np.percentile(real, 5)
        pvalues.append(excess_pvalue(int((gen < t).sum()), 200, int((real < t).sum()), 91))
    assert np.mean(np.array(pvalues) < 0.05) < 0.07
    assert excess_pvalue(0, 100, 4, 91) == 1.0
    with pytest.raises(ValueError, match=r"need 0 <= count <= n_generated"):
        excess_pvalue(5, 4, 1, 91)


@pytest.mark.parametrize("dtype, extreme", [(np.float32, 3e38), (np.float64, 1e308)])
def test_extreme_finite_values_give_the_consistency_of_the_image_scaled_down(dtype, extreme):
    rng = np.random.default_rng(4)
    images = (rng.uniform(-1, 1, size=(3, 128, 128)) * extreme).astype(dtype)
    images[:, 0, 0], images[:, -1, -1] = -extreme, extreme
    with np.errstate(all="raise"):
        value = case_consistency(images)
    assert np.isfinite(value) and value == case_consistency(images * dtype(2.0 ** -100))
