"""Radiomic features: a medical feature space with no network and no weights, always offline.

``radiomic_features`` maps the challenge's preprocessed batch ``(n, 3, H, W)`` (each image
min-max normalised to [0, 1], resized to 299 x 299 by nearest neighbour: ``preprocess``, what the
CNN backbones see) to ``(n, 3 * 37)`` float64 features, 37 per sequence, in ``FEATURE_NAMES``
order. ``case_radiomics`` does the same for one case's raw ``(3, H, W)`` images. Every image is
described on the same 299 x 299 grid whatever its archive's size, so textures are comparable
between submissions.

Per sequence, over the whole image (no mask, as Konz et al. 2024 for whole-image FRD):

- first order, on the [0, 1] intensities (13): mean, standard deviation, skewness, kurtosis, 10th,
  50th and 90th percentiles, interquartile range, mean absolute deviation, robust mean absolute
  deviation (of the values between the 10th and 90th percentiles), energy (mean square),
  entropy and uniformity of the 32-bin histogram. Minimum, maximum and range are 0, 1 and 1
  after min-max normalisation and are left out.
- texture, on the image quantised to 32 grey levels of equal width (a fixed bin width, since the
  range is [0, 1]); each matrix is computed in the four directions 0, 45, 90, 135 degrees and its
  features averaged over them (pyradiomics' default, rotation invariant):
  - GLCM (grey-level co-occurrence, distance 1, symmetric; scikit-image's ``graycomatrix`` /
    ``graycoprops``) (8): contrast, dissimilarity, homogeneity, angular second moment,
    correlation, mean, variance, entropy;
  - GLRLM (grey-level run length) (8): short- and long-run emphasis, grey-level and run-length
    non-uniformity (normalised), run percentage, low and high grey-level run emphasis, run
    entropy;
  - GLSZM (grey-level size zone: 8-connected zones of one level; ``skimage.measure.label``) (8):
    small- and large-area emphasis, grey-level and zone-size non-uniformity (normalised), zone
    percentage, low and high grey-level zone emphasis, zone entropy.

Definitions follow pyradiomics' documentation (IBSI). pyradiomics itself does not install on
this Python (its 3.1.0 source release declares another version, 3.0.1 does not build), and it
works through SimpleITK at ~1 s per image; this module needs numpy, scipy and scikit-image and
takes ~15 ms per 299 x 299 image (bench/RESULTS.md).

The distance on these features, FRD, is in ``metrics.frd`` (each feature standardised by the
real cases first).
"""

from __future__ import annotations

import sys
from functools import lru_cache

import numpy as np
from skimage.feature import graycomatrix, graycoprops
from skimage.measure import label

from .cases import SEQUENCES
from .preprocess import preprocess_case

BACKBONE = "radiomics"  # the feature space's id, like a backbone's
LEVELS = 32
_ANGLES = (0.0, np.pi / 4, np.pi / 2, 3 * np.pi / 4)
_DENSE_JOINT = 1 << 16  # cells of a (level, size) histogram counted densely

FIRST_ORDER = ("mean", "sd", "skewness", "kurtosis", "p10", "p50", "p90", "iqr", "mad", "robust_mad", "energy",
               "entropy", "uniformity")
GLCM = ("contrast", "dissimilarity", "homogeneity", "asm", "correlation", "mean", "variance", "entropy")
RUN_OR_ZONE = ("small_emphasis", "large_emphasis", "grey_level_nonuniformity", "size_nonuniformity",
               "percentage", "low_grey_emphasis", "high_grey_emphasis", "entropy")
PER_SEQUENCE = ([f"firstorder_{f}" for f in FIRST_ORDER] + [f"glcm_{f}" for f in GLCM]
                + [f"glrlm_{f}" for f in RUN_OR_ZONE] + [f"glszm_{f}" for f in RUN_OR_ZONE])
FEATURE_NAMES = tuple(f"{seq}/{name}" for seq in SEQUENCES for name in PER_SEQUENCE)


def fingerprint() -> str:
    """What a backbone's weights fingerprint is to its features: a digest of this module's source
    (and the preprocessing's), so stored features are never served after the code changed."""
    from . import preprocess
    from .store import source_digest

    return source_digest(sys.modules[__name__], preprocess)


def radiomic_features(batch: np.ndarray) -> np.ndarray:
    """``(n, 3, H, W)`` preprocessed images in [0, 1] -> ``(n, 3 * len(PER_SEQUENCE))`` features."""
    batch = np.asarray(batch)
    if batch.ndim != 4 or batch.shape[1] != 3:
        raise ValueError(f"radiomic_features expects a (n, 3, H, W) batch, got shape {batch.shape}")
    if min(batch.shape[2:]) < 2:
        raise ValueError(f"radiomic_features needs images of at least 2 x 2 pixels, got {batch.shape[2:]}")
    return np.stack([np.concatenate([_image_features(image) for image in case]) for case in batch])


def case_radiomics(images: np.ndarray) -> np.ndarray:
    """One case's raw ``(3, H, W)`` images -> its features (preprocessed as the backbones' input)."""
    return radiomic_features(preprocess_case(images)[None])[0]


def _image_features(image: np.ndarray) -> np.ndarray:
    x = image.astype(np.float64)
    levels = np.minimum((x * LEVELS).astype(np.intp), LEVELS - 1)
    return np.concatenate([_first_order(x, levels), _glcm(levels), _glrlm(levels), _glszm(levels)])


def _entropy(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def _percentiles(ordered: np.ndarray, percents: tuple[float, ...]) -> np.ndarray:
    """``np.percentile``'s linear interpolation on sorted values (a sort is ~5x faster here than
    the partition np.percentile does, the images having many equal values)."""
    position = np.array(percents) / 100.0 * (ordered.size - 1)
    below = np.floor(position).astype(np.intp)
    above = np.minimum(below + 1, ordered.size - 1)
    return ordered[below] + (ordered[above] - ordered[below]) * (position - below)


def _first_order(x: np.ndarray, levels: np.ndarray) -> np.ndarray:
    v = x.ravel()
    p10, p25, p50, p75, p90 = _percentiles(np.sort(v), (10, 25, 50, 75, 90))
    inner = v[(v >= p10) & (v <= p90)]
    hist = np.bincount(levels.ravel(), minlength=LEVELS) / v.size
    mean = v.mean()
    centred = v - mean
    squared = centred * centred
    m2, m3, m4 = squared.mean(), (squared * centred).mean(), (squared * squared).mean()
    skewness, kurtosis = (m3 / m2 ** 1.5, m4 / m2 ** 2) if m2 > 0 else (0.0, 0.0)
    return np.array([mean, np.sqrt(m2), skewness, kurtosis, p10, p50, p90, p75 - p25, np.abs(centred).mean(),
                     np.abs(inner - inner.mean()).mean(), np.mean(v * v), _entropy(hist), float((hist ** 2).sum())])


def _glcm(levels: np.ndarray) -> np.ndarray:
    matrix = graycomatrix(levels.astype(np.uint8), distances=[1], angles=_ANGLES, levels=LEVELS, symmetric=True,
                          normed=True)
    props = [graycoprops(matrix, prop)[0] for prop in ("contrast", "dissimilarity", "homogeneity", "ASM",
                                                        "correlation", "mean", "variance")]
    entropy = [_entropy(matrix[:, :, 0, a]) for a in range(len(_ANGLES))]
    return np.array([np.mean(p) for p in props] + [np.mean(entropy)])


@lru_cache(maxsize=8)
def _line_orders(height: int, width: int) -> tuple[tuple[np.ndarray, np.ndarray], ...]:
    """For each direction (0, 45, 90, 135 degrees): the pixels' flat indices in the order that
    walks every line of that direction, and where each line starts."""
    rows, cols = np.mgrid[:height, :width]
    orders = []
    for line, along in ((rows, cols), (cols - rows, rows), (cols, rows), (cols + rows, rows)):
        order = np.lexsort((along.ravel(), line.ravel()))
        sorted_line = line.ravel()[order]
        starts = np.ones(order.size, dtype=bool)
        starts[1:] = sorted_line[1:] != sorted_line[:-1]
        orders.append((order, starts))
    return tuple(orders)


def _size_features(grey: np.ndarray, size: np.ndarray, n_pixels: int) -> np.ndarray:
    """The eight run-length (or size-zone) features of runs (zones) with levels ``grey`` (0-based)
    and lengths (sizes) ``size``."""
    n = grey.size
    by_grey = np.bincount(grey, minlength=LEVELS).astype(float)
    by_size = np.bincount(size).astype(float)
    longest = int(size.max()) + 1
    # The (level, size) histogram, by counting when it is small (runs), else by sorting (zones).
    joint_key = grey * longest + size
    joint = np.bincount(joint_key) if LEVELS * longest <= _DENSE_JOINT else np.unique(joint_key, return_counts=True)[1]
    s2 = size.astype(float) ** 2
    g2 = (grey + 1.0) ** 2
    return np.array([np.mean(1.0 / s2), np.mean(s2), (by_grey ** 2).sum() / n ** 2, (by_size ** 2).sum() / n ** 2,
                     n / n_pixels, np.mean(1.0 / g2), np.mean(g2), _entropy(joint / n)])


def _glrlm(levels: np.ndarray) -> np.ndarray:
    flat = levels.ravel()
    features = []
    for order, line_starts in _line_orders(*levels.shape):
        walked = flat[order]
        starts = line_starts.copy()
        starts[1:] |= walked[1:] != walked[:-1]
        first = np.flatnonzero(starts)
        lengths = np.diff(np.append(first, walked.size))
        features.append(_size_features(walked[first], lengths, walked.size))
    return np.mean(features, axis=0)


def _glszm(levels: np.ndarray) -> np.ndarray:
    zones, count = label(levels + 1, background=0, connectivity=2, return_num=True)
    sizes = np.bincount(zones.ravel(), minlength=count + 1)[1:]
    grey = np.zeros(count + 1, dtype=np.intp)
    grey[zones.ravel()] = levels.ravel()
    return _size_features(grey[1:], sizes, levels.size)
