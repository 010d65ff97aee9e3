"""Cross-sequence anatomical consistency of a case.

The three sequences of a real case show the same anatomy with different contrasts: a boundary
that is bright-to-dark in T1 may be dark-to-bright in T2, but it is at the same place. So we
compare *where the edges are*: the gradient magnitude of each sequence on a coarse grid,
correlated pairwise. A case whose sequences come from different anatomies scores near 0.
"""

from __future__ import annotations

import numpy as np

GRID = 64  # edges are compared on a GRID x GRID grid: coarse enough to ignore noise
# Images with values beyond 2**_MAX_EXPONENT (finite float64 up to ~1.8e308) are scaled down by
# a power of two first, which is exact and changes nothing below (the map is min-max normalised):
# otherwise the block sums and hi - lo overflow to inf and the consistency is NaN.
_MAX_EXPONENT = 1000


def _edge_map(image: np.ndarray) -> np.ndarray:
    img = image.astype(np.float64)
    exponent = int(np.frexp(np.abs(img).max())[1])
    if exponent > _MAX_EXPONENT:
        img = np.ldexp(img, _MAX_EXPONENT - exponent)
    h, w = img.shape
    # Area-average down to at most GRID x GRID (crop to a multiple of the block size first).
    by, bx = max(h // GRID, 1), max(w // GRID, 1)
    img = img[: (h // by) * by, : (w // bx) * bx].reshape(h // by, by, w // bx, bx).mean(axis=(1, 3))
    lo, hi = img.min(), img.max()
    img = (img - lo) / (hi - lo) if hi > lo else np.zeros_like(img)
    gy, gx = np.gradient(img)
    return np.hypot(gx, gy).ravel()


def case_consistency(images: np.ndarray) -> float:
    """Mean pairwise Pearson correlation of the three sequences' edge maps, in [-1, 1].

    ``images`` is ``(3, H, W)``. Real co-registered cases give clearly positive values.
    """
    if images.ndim != 3 or images.shape[0] != 3:
        raise ValueError(f"case_consistency expects (3, H, W) images, got shape {images.shape}")
    edges = np.stack([_edge_map(im) for im in images])
    edges = edges - edges.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(edges, axis=1)
    if np.any(norms == 0):
        return 0.0
    corr = (edges @ edges.T) / np.outer(norms, norms)
    return float((corr[0, 1] + corr[0, 2] + corr[1, 2]) / 3.0)
