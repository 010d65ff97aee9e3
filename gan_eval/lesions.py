"""Where the lesions are and how large: per-case geometry from the masks, and its spread in a set.

A generator that collapses often keeps the anatomy varied long after its lesions have all moved
to one place and one size; the feature embedding barely sees that, the masks do. For each case
the lesion is the union of its three sequences' masks (they are co-registered), and

- its **position** is the mask's centroid, as fractions of the image height and width;
- its **size** is the square root of its area fraction: the side of a square of the same area,
  as a fraction of the image side (a length, like the position, so the two spreads compare);
- its **stray area** is the share of its area outside its largest connected piece (8-connected):
  0 for one blob. Generators leave specks and blobs away from the lesion, which move the
  centroid and inflate the spreads; a set's stray area (pooled: stray pixels over lesion
  pixels) says how much of a spread ratio to trust. Real lesions can have satellites, so it
  compares with the real set's, not with 0.

A set's **spread** of either is the root-mean-square distance to the set's mean, over the cases
that have a lesion. Fractions of the image make sets of different resolutions comparable (a
64 x 64 generator against 256 x 256 real cases). ``lesion_spread`` compares a generated set
with the real set: a ratio near 1 is as varied as the real lesions, near 0 collapsed.

Pure functions of arrays, no I/O. Not a registered metric (``gan_eval.metrics``): masks are
optional and the leaderboard scores embeddings; the tracker (``gan_eval.api``) reports these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields

import numpy as np
from scipy import ndimage

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
    "lesion_stray_area": "share of lesion area outside each case's largest piece (generated)",
    "lesion_stray_area_real": "share of lesion area outside each case's largest piece (real)",
}


@dataclass(frozen=True)
class LesionGeometry:
    """One row per case: centroid ``(row, column)`` as fractions of the image, size as a fraction
    of the image side (NaN for a case without a lesion), and pixels: the lesion's area and the
    area of its largest connected piece."""

    centroids: np.ndarray   # (n, 2)
    sizes: np.ndarray       # (n,)
    areas: np.ndarray       # (n,) lesion pixels
    largest: np.ndarray     # (n,) pixels of the largest 8-connected piece

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
    return LesionGeometry(np.stack([rows, cols], axis=1).reshape(n, 2), sizes, area,
                          np.array([_largest_piece(mask) for mask in masks], dtype=np.float64).reshape(n))


def _largest_piece(mask: np.ndarray) -> int:
    """Pixels of the largest 8-connected piece of a boolean 2D mask (0 when empty)."""
    labels, pieces = ndimage.label(mask, structure=np.ones((3, 3), dtype=bool))
    return int(np.bincount(labels.ravel())[1:].max()) if pieces else 0


def case_lesions(cases: Iterable[Case]) -> LesionGeometry | None:
    """The geometry of every case's lesion (union of its sequences' masks), or None when any case
    has no masks at all (then the set says nothing about its lesions)."""
    cases = list(cases)
    if not cases or any(case.masks is None for case in cases):
        return None
    per_case = [lesion_geometry(case.masks.max(axis=0)[None]) for case in cases]  # sizes may differ
    return LesionGeometry(*(np.concatenate([getattr(g, field.name) for g in per_case])
                            for field in fields(LesionGeometry)))


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
    fewer than two lesions, a real spread of 0, no lesion pixel)."""
    out: dict[str, float | None] = {}
    for suffix, geometry in (("", generated), ("_real", real)):
        present = geometry.has_lesion
        out[f"lesion_fraction{suffix}"] = float(present.mean()) if len(present) else None
        out[f"lesion_position_spread{suffix}"] = _spread(geometry.centroids[present])
        out[f"lesion_size_spread{suffix}"] = _spread(geometry.sizes[present])
        area = geometry.areas.sum()
        out[f"lesion_stray_area{suffix}"] = float(1 - geometry.largest.sum() / area) if area else None
    for what in ("position", "size"):
        out[f"lesion_{what}_ratio"] = _ratio(out[f"lesion_{what}_spread"], out[f"lesion_{what}_spread_real"])
    return {key: out[key] for key in LESION_OUTPUTS}
