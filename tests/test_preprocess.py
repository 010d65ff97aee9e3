"""Challenge preprocessing: Pillow-exact nearest resize to 299, per-image min-max, channel order."""

import numpy as np
import pytest
from PIL import Image

from gan_eval.cases import SEQUENCES
from gan_eval.preprocess import INPUT_SIZE, nearest_indices, preprocess_batch, preprocess_case, resize_nearest


def pil_nearest(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    return np.asarray(Image.fromarray(image.astype(np.float32), mode="F").resize((size, size), Image.NEAREST))


@pytest.mark.parametrize("shape", [(32, 32), (256, 256), (300, 298), (512, 384), (17, 640), (299, 299), (1000, 7)])
def test_resize_matches_pillow_nearest_on_random_images(shape):
    image = np.random.default_rng(sum(shape)).random(shape, dtype=np.float32)
    np.testing.assert_array_equal(resize_nearest(image), pil_nearest(image))


def test_indices_match_pillow_for_every_axis_length_up_to_1100():
    for n_in in range(1, 1100):
        row = np.arange(n_in, dtype=np.float32)[None, :]
        pil = np.asarray(Image.fromarray(row, mode="F").resize((INPUT_SIZE, 1), Image.NEAREST))[0]
        np.testing.assert_array_equal(nearest_indices(n_in), pil.astype(np.int64), err_msg=f"n_in={n_in}")


def test_even_sizes_tie_to_the_pixel_before_the_middle_like_pillow():
    # (149 + 0.5) * 256 / 299 is exactly 128: Pillow's float accumulation lands just below.
    assert nearest_indices(256)[149] == 127
    assert nearest_indices(256)[150] == 128


def test_minmax_then_nearest_equals_the_challenge_reference():
    rng = np.random.default_rng(1)
    images = rng.integers(100, 3000, size=(3, 64, 48)).astype(np.uint16)
    reference = np.stack([pil_nearest((im - im.min()) / (im.max() - im.min())) for im in images.astype(np.float32)])
    out = preprocess_case(images)
    assert out.shape == (3, INPUT_SIZE, INPUT_SIZE) and out.dtype == np.float32
    np.testing.assert_allclose(out, reference, rtol=0, atol=1e-6)


def test_each_sequence_is_normalised_on_its_own_and_kept_in_channel_order():
    rng = np.random.default_rng(2)
    scales = (1.0, 1000.0, -5.0)  # very different ranges per sequence
    images = np.stack([rng.random((40, 40)) * s + i for i, s in enumerate(scales)])
    out = preprocess_case(images)
    for channel in range(3):  # upsampling keeps every pixel, so each channel spans exactly [0, 1]
        assert out[channel].min() == 0.0 and out[channel].max() == 1.0
    # Channel i is sequence i: its normalised pixels, in SEQUENCES order.
    for channel, name in enumerate(SEQUENCES):
        im = images[channel]
        expected = resize_nearest((im - im.min()) / (im.max() - im.min()))
        np.testing.assert_allclose(out[channel], expected, atol=1e-6, err_msg=name)


def test_same_values_in_any_dtype_give_the_same_result():
    values = np.random.default_rng(3).integers(0, 250, size=(3, 30, 50))
    results = [preprocess_case(values.astype(dtype)) for dtype in (np.uint8, np.uint16, np.int16, np.float32, np.float64)]
    for result in results[1:]:
        np.testing.assert_allclose(result, results[0], atol=1e-7)


def test_float64_input_is_normalised_without_float32_rounding_of_the_input():
    base = 1e9
    images = np.stack([base + np.arange(16.0).reshape(4, 4)] * 3)  # float32 would round 1e9 + k
    out = preprocess_case(images)
    np.testing.assert_allclose(out[0], resize_nearest(np.arange(16.0).reshape(4, 4) / 15), atol=1e-7)


def test_constant_image_becomes_zeros_without_dividing_by_zero():
    images = np.stack([np.full((20, 20), 7.0), np.arange(400.0).reshape(20, 20), np.zeros((20, 20))])
    with np.errstate(all="raise"):
        out = preprocess_case(images)
    assert not out[0].any() and not out[2].any()
    assert out[1].max() == 1.0


def test_batch_stacks_cases_of_different_sizes():
    rng = np.random.default_rng(4)
    stacks = [rng.random((3, 32, 32)), rng.random((3, 300, 200)).astype(np.float32)]
    batch = preprocess_batch(stacks)
    assert batch.shape == (2, 3, INPUT_SIZE, INPUT_SIZE) and batch.dtype == np.float32
    np.testing.assert_array_equal(batch[1], preprocess_case(stacks[1]))


def test_rejects_a_non_three_sequence_stack():
    with pytest.raises(ValueError, match=r"\(3, H, W\)"):
        preprocess_case(np.zeros((2, 8, 8)))


@pytest.mark.parametrize("dtype, extreme", [(np.float32, 3e38), (np.float64, 1e308)])
def test_extreme_finite_values_normalise_exactly_like_the_same_image_scaled_down(dtype, extreme):
    # hi - lo = 2 * extreme overflows the dtype: plain min-max gives 0 and NaN (inf / inf).
    rng = np.random.default_rng(7)
    images = (rng.uniform(-1, 1, size=(3, 40, 52)) * extreme).astype(dtype)
    images[:, 0, 0], images[:, -1, -1] = -extreme, extreme
    images[2] = rng.uniform(0, 1, size=(40, 52)).astype(dtype)  # an ordinary image beside them
    with np.errstate(all="raise"):
        out = preprocess_case(images)
    assert out.dtype == np.float32 and np.isfinite(out).all() and out.min() == 0 and out.max() == 1
    # Scaling by a power of two is exact, and min-max does not see the scale: same bits.
    scaled = preprocess_case(images * dtype(2.0 ** -100))
    np.testing.assert_array_equal(out, scaled)
