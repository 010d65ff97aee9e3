"""The phantom's properties that the evaluation relies on: anatomy, lesion, contrast, determinism."""

import numpy as np
import pytest
from scipy import ndimage

from gan_eval import phantom
from gan_eval.cases import SEQUENCES

SEEDS = (0, 1, 2, 3, 4, 5)
SIZE = 128
ART, PV, T2 = (SEQUENCES.index(s) for s in ("t1_arterial", "t1_portal", "t2"))


def _case_and_labels(seed: int, size: int = SIZE):
    """A case and the label maps of the same anatomy (make_case draws anatomy_for_seed(seed))."""
    return phantom.make_case(seed, size), phantom.render(phantom.anatomy_for_seed(seed), size).labels


def _core(mask: np.ndarray) -> np.ndarray:
    """The mask without its boundary pixels (free of partial volume) when anything remains."""
    eroded = ndimage.binary_erosion(mask)
    return eroded if eroded.sum() >= 5 else mask


def _mean(image: np.ndarray, mask: np.ndarray) -> float:
    assert mask.any()
    return float(image[_core(mask)].mean())


@pytest.mark.parametrize("seed", SEEDS)
def test_lesion_lies_inside_the_liver_with_a_large_necrotic_core(seed):
    labels = phantom.render(phantom.anatomy_for_seed(seed), SIZE).labels
    lesion = labels["lesion"]
    assert lesion.sum() > 0.005 * SIZE * SIZE  # a large tumour, not a speck
    assert not (lesion & ~labels["liver"]).any()
    assert labels["necrosis"].sum() / lesion.sum() >= 0.2
    assert not (labels["necrosis"] & ~lesion).any()
    assert labels["viable"].any()


@pytest.mark.parametrize("seed", SEEDS[:3])
def test_masks_are_the_lesion_and_identical_across_sequences(seed):
    case, labels = _case_and_labels(seed)
    assert case.masks.dtype == np.uint8 and case.masks.shape == (3, SIZE, SIZE)
    for k in range(3):
        np.testing.assert_array_equal(case.masks[k], labels["lesion"].astype(np.uint8))


@pytest.mark.parametrize("seed", SEEDS)
def test_each_sequence_shows_the_described_contrast(seed):
    case, labels = _case_and_labels(seed)
    img = case.images.astype(np.float64)
    liver, viable, necrosis = labels["parenchyma"], labels["viable"], labels["necrosis"]
    # T1 arterial: hyper-enhancing viable tumour, dark necrosis, bright aorta, portal vein not yet bright.
    assert _mean(img[ART], viable) > 1.25 * _mean(img[ART], liver)
    assert _mean(img[ART], necrosis) < 0.6 * _mean(img[ART], viable)
    assert _mean(img[ART], labels["aorta"]) > 2.0 * _mean(img[ART], liver)
    assert _mean(img[ART], labels["aorta"]) > 1.5 * _mean(img[ART], labels["portal_vein"] | labels["ivc"])
    # T1 portal-venous: wash-out, enhancing capsule, bright portal vein and IVC, aorta still bright.
    assert _mean(img[PV], viable) < 0.92 * _mean(img[PV], liver)
    assert img[PV][labels["capsule"]].mean() > _mean(img[PV], viable)
    assert _mean(img[PV], labels["ivc"]) > 1.1 * _mean(img[PV], liver)
    assert _mean(img[PV], labels["aorta"]) > 1.1 * _mean(img[PV], liver)
    # T2 fat-sat: mildly bright tumour, very bright necrosis, spleen above liver, flow voids.
    assert _mean(img[T2], viable) > 1.15 * _mean(img[T2], liver)
    assert _mean(img[T2], necrosis) > 1.5 * _mean(img[T2], viable)
    assert _mean(img[T2], labels["spleen"]) > 1.3 * _mean(img[T2], liver)
    assert _mean(img[T2], labels["aorta"]) < 0.5 * _mean(img[T2], liver)


def test_portal_vein_brightens_from_arterial_to_portal_phase():
    ratios = []
    for seed in SEEDS:
        case, labels = _case_and_labels(seed)
        portal = labels["portal_vein"] & ndimage.binary_erosion(labels["portal_vein"])
        if portal.sum() >= 3:
            img = case.images.astype(np.float64)
            ratios.append((img[PV][portal].mean() / _mean(img[PV], labels["parenchyma"]),
                           img[ART][portal].mean() / _mean(img[ART], labels["parenchyma"])))
    assert len(ratios) >= 3
    for portal_phase, arterial_phase in ratios:
        assert portal_phase > 1.2 > arterial_phase


def test_images_look_like_magnitude_mri():
    case = phantom.make_case(7, SIZE)
    assert case.images.dtype == np.uint16 and case.images.shape == (3, SIZE, SIZE)
    assert 2500 < case.images.max() < 8000
    corner = case.images[:, :8, :8].astype(np.float64)
    assert 5 < corner.mean() < 120  # Rician background: noise magnitude, never zero, never signal
    assert corner.std() > 3


def test_same_seed_same_pixels_other_seed_other_pixels():
    a, b, c = phantom.make_case(11, 64), phantom.make_case(11, 64), phantom.make_case(12, 64)
    np.testing.assert_array_equal(a.images, b.images)
    np.testing.assert_array_equal(a.masks, b.masks)
    assert not np.array_equal(a.images, c.images)
    assert not np.array_equal(a.masks, c.masks)


def test_case_i_does_not_depend_on_the_set_size():
    three, five = phantom.make_cases(3, seed=4, size=48), phantom.make_cases(5, seed=4, size=48, prefix="x")
    for i in range(3):
        np.testing.assert_array_equal(three[i].images, five[i].images)
    assert [c.case_id for c in three] == ["case_0000", "case_0001", "case_0002"]
    assert five[4].case_id == "x_0004"
    assert len({c.digest() for c in five}) == 5


@pytest.mark.parametrize("size", [32, 96, 200])
def test_other_sizes_draw_the_same_patient(size):
    small, large = phantom.make_case(3, size), phantom.make_case(3, 128)
    assert small.images.shape == (3, size, size) and small.masks.shape == (3, size, size)
    assert small.masks[0].any()
    # The anatomy is drawn in body units: the lesion sits at the same relative place.
    centre = np.array(ndimage.center_of_mass(small.masks[0])) / size
    np.testing.assert_allclose(centre, np.array(ndimage.center_of_mass(large.masks[0])) / 128, atol=0.03)


def test_too_small_size_is_refused():
    with pytest.raises(ValueError, match="size must be at least 32 pixels, got 16"):
        phantom.make_case(0, 16)


def test_blur_removes_fine_detail():
    sharp, blurred = phantom.make_case(5, SIZE), phantom.make_case(5, SIZE, blur_sigma=3.0)

    def detail(images):  # mean curvature along rows: fine structure and noise
        return float(np.abs(np.diff(images.astype(np.float64), n=2, axis=-1)).mean())

    assert detail(blurred.images) < 0.15 * detail(sharp.images)
    np.testing.assert_array_equal(blurred.masks, sharp.masks)


def test_inconsistent_case_takes_each_sequence_from_another_patient():
    seeds = (21, 22, 23)
    case = phantom.make_case(20, SIZE, anatomy_seeds=seeds)
    for k, seed in enumerate(seeds):
        lesion = phantom.render(phantom.anatomy_for_seed(seed), SIZE).labels["lesion"]
        np.testing.assert_array_equal(case.masks[k], lesion.astype(np.uint8))
    assert not np.array_equal(case.masks[0], case.masks[1])
    assert not np.array_equal(case.masks[1], case.masks[2])


def test_pooled_inconsistent_cases_equal_make_case():
    pooled = list(phantom.iter_inconsistent_cases(4, seed=9, size=48, prefix="mix"))
    for i in (0, 3):  # case 3 wraps around the pool
        expected = phantom.make_case(phantom.case_seed(9, i), 48, f"mix_{i:04d}",
                                     anatomy_seeds=phantom.inconsistent_anatomy_seeds(4, 9, i))
        np.testing.assert_array_equal(pooled[i].images, expected.images)
        np.testing.assert_array_equal(pooled[i].masks, expected.masks)
        assert pooled[i].case_id == expected.case_id
    with pytest.raises(ValueError, match="n must be at least 2"):
        next(phantom.iter_inconsistent_cases(1, seed=9, size=48))


def test_anatomy_varies_between_patients():
    anatomies = [phantom.anatomy_for_seed(seed) for seed in range(12)]
    fills = [a.pose.fill for a in anatomies]
    fat = [a.trunk.fat for a in anatomies]
    tumour_x = [a.lesion.lobes[0].cx for a in anatomies]
    assert max(fills) - min(fills) > 0.05  # field of view
    assert max(fat) - min(fat) > 0.04  # body habitus
    assert max(tumour_x) - min(tumour_x) > 0.2  # lesion position
