"""Orientation check on phantom cases: a mirrored and a 90-degree rotated copy of a good set are
flagged, the good set is not; a submission's suspects are named with the orientation they resemble."""

from __future__ import annotations

import numpy as np
import pytest

from gan_eval.metrics.orientation import GRID, orientation_descriptor
from gan_eval.metrics.orientation_summary import _margins, orientation_check
from gan_eval.phantom import make_cases


@pytest.fixture(scope="module")
def descriptors():
    real = [c.images for c in make_cases(60, seed=1, size=96)]
    good = [c.images for c in make_cases(80, seed=2, size=96)]
    describe = lambda images: np.stack([orientation_descriptor(x) for x in images])  # noqa: E731
    return {"real": describe(real), "good": describe(good),
            "mirrored": describe([x[:, :, ::-1] for x in good]),
            "rotated": describe([np.rot90(x, 1, axes=(1, 2)) for x in good])}


def test_mirrored_and_rotated_sets_are_flagged_the_original_is_not(descriptors):
    real = descriptors["real"]
    good = orientation_check(real, descriptors["good"])
    assert good.flagged is False and good.suspect_fraction <= 0.05 and good.real_suspect_fraction <= 0.05
    for name, resembles in (("mirrored", "mirrored left-right"), ("rotated", "rotated 90°")):
        check = orientation_check(real, descriptors[name])
        assert check.flagged is True and check.suspect_fraction > 0.9 and check.pvalue < 1e-6
        assert {turned for _, turned in check.suspects} == {resembles}


def test_a_quarter_mirrored_mix_is_flagged(descriptors):
    mix = np.concatenate([descriptors["good"][:60], descriptors["mirrored"][60:]])
    check = orientation_check(descriptors["real"], mix)
    assert check.flagged is True and check.suspect_fraction == pytest.approx(0.25, abs=0.05)
    assert all(i >= 60 for i, _ in check.suspects)


def test_descriptor_inputs():
    assert orientation_descriptor(np.ones((3, 40, 50))).shape == (3 * GRID * GRID,)  # any size; flat images: 0
    with pytest.raises(ValueError, match=r"orientation_descriptor expects \(3, H, W\) images, got shape \(2, 8, 8\)"):
        orientation_descriptor(np.zeros((2, 8, 8)))
    small = np.random.default_rng(0).random((3, 8, 40))  # smaller than the grid: pixels repeated
    described = orientation_descriptor(small)
    assert described.shape == (768,) and 0.0 <= described.min() <= described.max() <= 1.0
    with pytest.raises(ValueError, match=r"generated: orientation descriptors have 768 values, got 5"):
        orientation_check(np.zeros((4, 768)), np.zeros((4, 5)))


def test_margins_against_one_shared_template_are_the_plain_correlations(descriptors):
    """The shared template is turned once for all cases: each margin is still corr(case, T) minus
    the largest corr(case, tau(T)), written out here case by case."""
    real, cases = descriptors["real"], np.concatenate([descriptors["good"][:10], descriptors["mirrored"][:10]])
    t = real.mean(axis=0).reshape(3, GRID, GRID)
    turned = [t[:, :, ::-1], t[:, ::-1, :], t.swapaxes(1, 2), np.rot90(t, 2, axes=(1, 2)).swapaxes(1, 2),
              np.rot90(t, 1, axes=(1, 2)), np.rot90(t, 2, axes=(1, 2)), np.rot90(t, 3, axes=(1, 2))]
    corr = lambda a, b: np.corrcoef(a.ravel(), b.ravel())[0, 1]  # noqa: E731
    expected = [corr(case, t) - max(corr(case, x) for x in turned) for case in cases]
    np.testing.assert_allclose(_margins(cases, t.reshape(1, -1))[0], expected, rtol=1e-12, atol=1e-12)
