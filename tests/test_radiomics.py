"""Radiomic features: definitions checked against direct computations, invariances, and FRD
telling a blurred phantom set from a good one with no network."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from skimage.measure import label

from gan_eval.metrics.frd import frechet_radiomic_distance, rank_agreement, standardise_by_real
from gan_eval.phantom import make_cases
from gan_eval.radiomics import FEATURE_NAMES, LEVELS, PER_SEQUENCE, case_radiomics, fingerprint, radiomic_features


def feature(values: np.ndarray, name: str, sequence: int = 0) -> float:
    return float(values[sequence * len(PER_SEQUENCE) + PER_SEQUENCE.index(name)])


def test_first_order_and_runs_on_a_hand_made_image():
    image = np.zeros((8, 8))
    image[:, 4:] = 1.0                               # two vertical bands: levels 0 and 31
    batch = np.stack([image, image.T, image])[None]
    f = radiomic_features(batch)[0]
    assert f.shape == (len(FEATURE_NAMES),) == (111,)
    assert feature(f, "firstorder_mean") == 0.5 and feature(f, "firstorder_sd") == 0.5
    assert feature(f, "firstorder_entropy") == 1.0 and feature(f, "firstorder_uniformity") == 0.5
    # Runs along rows: 16 of length 4; along columns: 8 of length 8; along each diagonal
    # direction the 15 diagonals, cut by the band edge: lengths 1, 2, 3 four times each, 4 ten times.
    runs = [np.full(16, 4.0), np.full(8, 8.0), np.repeat([1.0, 2.0, 3.0, 4.0], [4, 4, 4, 10])]
    runs.append(runs[2])
    assert feature(f, "glrlm_small_emphasis") == pytest.approx(np.mean([np.mean(1 / r ** 2) for r in runs]))
    assert feature(f, "glrlm_large_emphasis") == pytest.approx(np.mean([np.mean(r ** 2) for r in runs]))
    assert feature(f, "glrlm_percentage") == pytest.approx(np.mean([len(r) / 64 for r in runs]))
    # Two 8-connected zones of 32 pixels each.
    assert feature(f, "glszm_percentage") == 2 / 64 and feature(f, "glszm_large_emphasis") == 32 ** 2
    assert feature(f, "glszm_grey_level_nonuniformity") == 0.5
    assert feature(f, "glszm_high_grey_emphasis") == (1 + LEVELS ** 2) / 2


def test_zones_match_a_labelling_per_level():
    rng = np.random.default_rng(0)
    image = ndimage.uniform_filter(rng.random((64, 64)), 5)
    image = (image - image.min()) / (image.max() - image.min())
    f = radiomic_features(np.stack([image] * 3)[None])[0]
    levels = np.minimum((image * LEVELS).astype(int), LEVELS - 1)
    sizes = []
    for g in range(LEVELS):
        zones, count = label(levels == g, connectivity=2, return_num=True)
        sizes += list(np.bincount(zones.ravel())[1:])
    sizes = np.array(sizes, dtype=float)
    assert feature(f, "glszm_percentage") == pytest.approx(len(sizes) / image.size)
    assert feature(f, "glszm_small_emphasis") == pytest.approx(np.mean(1 / sizes ** 2))


def test_features_are_finite_and_the_same_whatever_the_archive_size():
    case = make_cases(1, seed=0, size=128)[0]
    f = case_radiomics(case.images)
    assert np.isfinite(f).all()
    bigger = np.repeat(np.repeat(case.images, 2, axis=1), 2, axis=2)  # same anatomy at 256 px
    np.testing.assert_allclose(case_radiomics(bigger), f, rtol=0.15, atol=0.05)
    assert len(fingerprint()) == 16
    with pytest.raises(ValueError, match=r"radiomic_features expects a \(n, 3, H, W\) batch, got shape \(3, 8, 8\)"):
        radiomic_features(np.zeros((3, 8, 8)))


def test_frd_tells_blurred_cases_from_good_ones():
    real = np.stack([case_radiomics(c.images) for c in make_cases(30, seed=1, size=96)])
    good = np.stack([case_radiomics(c.images) for c in make_cases(30, seed=2, size=96)])
    blurred = np.stack([case_radiomics(ndimage.gaussian_filter(c.images.astype(float), (0, 2, 2)))
                        for c in make_cases(30, seed=2, size=96)])
    assert frechet_radiomic_distance(real, blurred) > 3 * frechet_radiomic_distance(real, good)
    standard_real, _ = standardise_by_real(real, good)
    np.testing.assert_allclose(standard_real.std(axis=0), 1.0)


def test_rank_agreement_is_kendalls_tau():
    spaces = {"cnn": {"a": 1.0, "b": 2.0, "c": 3.0, "d": None}, "radiomics": {"a": 10.0, "b": 30.0, "c": 20.0},
              "same": {"a": 5.0, "b": 6.0, "c": 7.0, "d": 1.0}}
    agreement = rank_agreement(spaces)
    assert agreement["cnn / radiomics"] == pytest.approx(1 / 3)
    assert agreement["cnn / same"] == pytest.approx(1.0)
    assert rank_agreement({"x": {"a": 1.0}, "y": {"a": 2.0}}) == {"x / y": None}
