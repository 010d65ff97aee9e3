"""Where the lesions are and how large: per-case geometry from the masks, and its spread in a set.

A generator that collapses often keeps the anatomy varied long after its lesions have all moved
to one place and one size; the feature embedding barely sees that, the masks do. For each case
the lesion is the union of its three sequences' masks (they are co-registered), and

- its **position** is the mask's centroid, as fractions of the image height and width;
- its **size** is the square root of its area fraction: the side of a square of the same area,
  as a fraction of the image side (a length, like the position, so the two spreads compare).

A set's **spread** of either is the root-mean-square distance to the set's mean, over the cases
that have a lesion. Fractions of the image make sets of different resolutions comparable (a
64 x 64 generator against 256 x 256 real cases). ``lesion_spread`` compares a generated set
with the real set: a ratio near 1 is as varied as the real lesions, near 0 collapsed.

Pure functions of arrays, no I/O. Not a registered metric (``gan_eval.metrics``): masks are
optional and the leaderboard scores embeddings; the tracker (``gan_eval.api``) reports these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from .cases import Case

# The keys lesion_spread returns, with what each means (the tracker's lines and the page's plots).
LESION_OUTPUTS = {
    "lesion_fraction": "cases with a lesion (generated)",
    "lesion_fraction_real": "cases with a lesion (real)",
    "lesion_position_spread": "spread of lesion centroids (generated), fraction of the image side",
    "lesion_position_spread_real": "spread of lesion centroids (real), fraction of the image side",
    "lesion_size_spread": "spread of lesion sizes (generated), fraction of the image side",
    "lesion_size_spread_real": "spread of lesion sizes (real), fraction of the image side",
    "lesion_position_ratio": "lesion position spread, generated / real (1: as varied as real)",
    "lesion_size_ratio": "lesion size spread, generated / real (1: as varied as real)",
}


@dataclass(frozen=True)
class LesionGeometry:
    """One row per case: centroid ``(row, column)`` as fractions of the image, size as a fraction
    of the image side; NaN for a case without a lesion."""

    centroids: np.ndarray   # (n, 2)
    sizes: np.ndarray       # (n,)

    @property
    def has_lesion(self) -> np.ndarray:
        return np.isfinite(self.sizes)


def lesion_geometry(masks: np.ndarray) -> LesionGeometry:
    """Geometry of ``masks`` shaped ``(n, H, W)`` (any dtype; nonzero = lesion)."""
    masks = np.asarray(masks) != 0
    if masks.ndim != 3:
        raise ValueError(f"lesion_geometry: masks must be shaped (n, H, W), got shape {masks.shape}")
    n, height, width = masks.shape
    area = masks.sum(axis=(1, 2)).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):  # cases without a lesion become NaN
        rows = (masks.sum(axis=2) @ (np.arange(height) + 0.5)) / area / height
        cols = (masks.sum(axis=1) @ (np.arange(width) + 0.5)) / area / width
        sizes = np.where(area > 0, np.sqrt(area / (height * width)), np.nan)
    return LesionGeometry(np.stack([rows, cols], axis=1).reshape(n, 2), sizes)


def case_lesions(cases: Iterable[Case]) -> LesionGeometry | None:
    """The geometry of every case's lesion (union of its sequences' masks), or None when any case
    has no masks at all (then the set says nothing about its lesions)."""
    cases = list(cases)
    if not cases or any(case.masks is None for case in cases):
        return None
    rows, sizes = [], []
    for case in cases:  # cases may differ in size: one at a time
        geometry = lesion_geometry(case.masks.max(axis=0)[None])
        rows.append(geometry.centroids[0])
        sizes.append(geometry.sizes[0])
    return LesionGeometry(np.array(rows), np.array(sizes))


def _spread(values: np.ndarray) -> float | None:
    """Root-mean-square distance to the mean of ``values`` (rows: points); None under two points."""
    if len(values) < 2:  # before the reshape, which fails on no points at all
        return None
    values = values.reshape(len(values), -1)
    return float(np.sqrt(((values - values.mean(axis=0)) ** 2).sum(axis=1).mean()))


def _ratio(generated: float | None, real: float | None) -> float | None:
    return None if generated is None or not real else generated / real


def lesion_spread(real: LesionGeometry, generated: LesionGeometry) -> dict[str, float | None]:
    """The ``LESION_OUTPUTS`` of a generated set against the real set (None where undefined:
    fewer than two lesions, or a real spread of 0)."""
    out: dict[str, float | None] = {}
    for suffix, geometry in (("", generated), ("_real", real)):
        present = geometry.has_lesion
        out[f"lesion_fraction{suffix}"] = float(present.mean()) if len(present) else None
        out[f"lesion_position_spread{suffix}"] = _spread(geometry.centroids[present])
        out[f"lesion_size_spread{suffix}"] = _spread(geometry.sizes[present])
    for what in ("position", "size"):
        out[f"lesion_{what}_ratio"] = _ratio(out[f"lesion_{what}_spread"], out[f"lesion_{what}_spread_real"])
    return {key: out[key] for key in LESION_OUTPUTS}
