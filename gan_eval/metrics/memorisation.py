"""Memorisation: generated cases that sit much closer to a real case than real cases sit to each other.

Reference scale: the median, over real cases, of the distance to the nearest *other* real case
(the median rather than a low percentile because with 91 real cases a 5th percentile is the 5th
smallest value, i.e. noise). A generated case g is a suspected copy when

    ratio(g) = d(g, nearest real) / median real-to-real nearest-neighbour distance < alpha,

alpha = 0.5 by default: a generated case half as far from a real case as real cases typically
are from their own nearest neighbour. New samples of the real distribution almost never get
there, because nearest-neighbour distances in high dimensions concentrate around their median
(independent Gaussian samples in 1280-d give ratios of ~0.95-1.05), whereas a copy with small
changes gets a ratio near 0. The result lists every suspected copy with its nearest real case,
most suspicious (smallest ratio) first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from gan_eval.metrics.distances import kth_neighbour_distance, pairwise
from gan_eval.metrics.inputs import embedding_pair

ALPHA = 0.5


@dataclass(frozen=True)
class SuspectedCopy:
    generated_index: int
    real_index: int
    distance: float   # to the nearest real case
    ratio: float      # distance / median real-to-real nearest-neighbour distance


@dataclass(frozen=True)
class MemorisationResult:
    fraction: float                   # suspected copies / generated cases
    alpha: float
    real_nn_median: float             # the reference scale
    copies: list[SuspectedCopy]       # sorted by ratio, smallest first


def memorisation(real: np.ndarray, generated: np.ndarray, alpha: float = ALPHA) -> MemorisationResult:
    """Suspected copies of real cases among the generated ones (criterion in the module docstring)."""
    real, generated = embedding_pair(real, generated)
    if not alpha > 0:
        raise ValueError(f"alpha must be > 0, got {alpha}")
    real_nn = kth_neighbour_distance(pairwise(real), 1)
    scale = float(np.median(real_nn))
    if scale == 0:
        raise ValueError("real: at least half of the real cases have an identical twin in the real set; "
                         "the memorisation reference distance is 0")
    cross = pairwise(real, generated)
    nearest_real = cross.argmin(axis=0)
    distance = cross[nearest_real, np.arange(len(generated))]
    ratio = distance / scale
    suspects = np.flatnonzero(ratio < alpha)
    suspects = suspects[np.argsort(ratio[suspects], kind="stable")]
    copies = [SuspectedCopy(int(g), int(nearest_real[g]), float(distance[g]), float(ratio[g])) for g in suspects]
    return MemorisationResult(fraction=len(copies) / len(generated), alpha=alpha, real_nn_median=scale, copies=copies)
