"""The challenge's preprocessing, and nothing else.

For each case:
1. every image (one per sequence) is min-max normalised to [0, 1] on its own;
2. resized to 299 x 299 with nearest-neighbour interpolation;
3. the three sequences are stacked as the three input channels, in SEQUENCES order
   (T1 arterial, T1 portal-venous, T2).
The backbone's own input normalisation (ImageNet mean/std, or [-1, 1]) is part of the backbone
module (gan_eval.features), so this module's output is always the [0, 1] stack.

Nearest neighbour, precisely: Pillow's ``Image.resize(size, Image.NEAREST)``, bit for bit.
Output pixel ``j`` takes input pixel ``floor(x_j)``, where ``x_j`` is the pixel-centre coordinate
``(j + 0.5) * n_in / n_out`` accumulated in float64 the way Pillow's C loop does
(``x_0 = 0.5 * s``, ``x_{j+1} = x_j + s``). Mathematically this is the pixel-centre rule shared
by torch's 'nearest-exact' and OpenCV's INTER_NEAREST_EXACT; the accumulation only decides
exact ties, which for an even input size fall on the middle output row/column (there Pillow takes
the pixel before, the exact rule the pixel after). torch's plain 'nearest' (``floor(j * s)``) is a
different, half-pixel-shifted rule and is not used.

Min-max before or after the resize gives the same numbers (each output pixel is one input pixel
put through the same affine map), so whichever of source and 299 x 299 result is smaller is
normalised, with the full image's min and max, and one precomputed flat index array per input
shape picks the pixels. A constant image (max == min) becomes all zeros instead of dividing by
zero; validation rejects such cases earlier, this is only a guard.

Min-max is exact for every finite input, the largest included. ``hi - lo`` is the one value
that can leave the working dtype's range: an image spanning -3e38..3e38 in float32 (or
-1e308..1e308 in float64) has ``hi - lo = inf``, and ``(x - lo) / inf`` is 0, or NaN at
``x = hi``, which the backbone turns into NaN features. Halving is exact in binary floating
point, and rounding commutes with it, so ``(x/2 - lo/2) / (hi/2 - lo/2)`` rounds every step to
exactly half of what ``(x - lo) / (hi - lo)`` would round to with an unbounded exponent, and the
quotient is the same; every intermediate is now at most the dtype's max. (A subnormal ``x`` may
lose its last bit in ``x/2``, far below the rounding of ``x/2 - lo/2``, which is then ~1e38.)
Only images whose span overflows are halved: every other output is bit for bit what plain
``(x - lo) / (hi - lo)`` gives.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

import numpy as np

INPUT_SIZE = 299
# Part of every embedding cache key: change it whenever the numbers below could change.
PREPROCESSING_VERSION = "minmax01-pil-nearest299-stack3-v1"


@lru_cache(maxsize=64)
def nearest_indices(n_in: int, n_out: int = INPUT_SIZE) -> np.ndarray:
    """Source index of each of ``n_out`` output pixels along an axis of ``n_in`` pixels (Pillow NEAREST)."""
    if n_in < 1 or n_out < 1:
        raise ValueError(f"cannot resize an axis of {n_in} pixels to {n_out}")
    scale = n_in / n_out
    steps = np.full(n_out, scale)
    steps[0] = 0.5 * scale
    # np.add.accumulate is a strictly sequential float64 sum, the same rounding as Pillow's loop.
    index = np.minimum(np.add.accumulate(steps).astype(np.int64), n_in - 1)
    index.flags.writeable = False
    return index


def resize_nearest(image: np.ndarray, size: int = INPUT_SIZE) -> np.ndarray:
    """``(..., H, W)`` -> ``(..., size, size)`` by Pillow-exact nearest neighbour, same dtype."""
    rows = nearest_indices(image.shape[-2], size)
    cols = nearest_indices(image.shape[-1], size)
    return np.take(np.take(image, rows, axis=-2), cols, axis=-1)


@lru_cache(maxsize=64)
def _flat_indices(height: int, width: int) -> np.ndarray:
    """Indices into a flattened ``(H * W)`` image of the 299 x 299 nearest-neighbour pixels."""
    index = (nearest_indices(height)[:, None] * width + nearest_indices(width)[None, :]).ravel()
    index.flags.writeable = False
    return index


def preprocess_case(images: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """One case's ``(3, H, W)`` images (any real dtype) -> ``(3, 299, 299)`` float32 in [0, 1].

    ``out``, when given, is a float32 ``(3, 299, 299)`` array to write into (a batch row).
    """
    if images.ndim != 3 or images.shape[0] != 3:
        raise ValueError(f"a case must be (3, H, W) images, got shape {images.shape}")
    # float32 arithmetic for 8/16-bit and float32 images; float64 where float32 would round the input.
    work = np.promote_types(images.dtype, np.float32)
    flat = images.reshape(3, -1)
    lo = flat.min(axis=1).astype(work)[:, None]
    hi = flat.max(axis=1).astype(work)[:, None]
    with np.errstate(over="ignore"):
        span = hi - lo
    half = np.where(np.isinf(span), work.type(0.5), work.type(1))  # 0.5 where hi - lo overflows
    halved = bool((half != 1).any())
    if halved:
        lo *= half
        span = hi * half - lo
    span[span == 0] = 1  # a constant image: every (x - lo) is 0 already
    index = _flat_indices(*images.shape[1:])
    if flat.shape[1] <= index.size:  # normalise the smaller of source and result, then pick pixels
        source = flat.astype(work)
        if halved:
            source *= half
        source -= lo
        source /= span
        picked = np.take(source, index, axis=1)
    else:
        picked = np.take(flat, index, axis=1).astype(work, copy=False)
        if halved:
            picked *= half
        picked -= lo
        picked /= span
    picked = picked.reshape(3, INPUT_SIZE, INPUT_SIZE)
    if out is None:
        return picked.astype(np.float32, copy=False)
    out[...] = picked
    return out


def preprocess_batch(stacks: Sequence[np.ndarray]) -> np.ndarray:
    """Several cases' ``(3, H, W)`` images (shapes may differ) -> ``(n, 3, 299, 299)`` float32."""
    batch = np.empty((len(stacks), 3, INPUT_SIZE, INPUT_SIZE), dtype=np.float32)
    for row, images in zip(batch, stacks):
        preprocess_case(images, out=row)
    return batch
